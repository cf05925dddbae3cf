using System.CommandLine;
using System.Security.Cryptography;
using Persona.Server.Security;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary><c>persona keys new</c>: makes an API key and prints the configuration that holds only its hash.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Name of the key; the audit log records it.", Required = true };
        var scopes = new Option<string>("--scopes") { Description = "Comma-separated scopes: ingest, read, admin (admin implies all).", DefaultValueFactory = _ => "read" };
        var create = new Command("new", "Make a random API key; print it once with the configuration to add (which stores only its SHA-256).") { name, scopes };
        create.SetAction(parse =>
        {
            var keyName = parse.GetValue(name)!.Trim();
            var keyScopes = parse.GetValue(scopes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = keyScopes.Where(s => !PersonaScopes.All.Contains(s)).ToList();
            if (keyName.Length == 0 || keyScopes.Length == 0 || unknown.Count > 0)
            {
                Console.Error.WriteLine(keyName.Length == 0 ? "--name must not be empty." :
                    $"--scopes must list some of {string.Join(", ", PersonaScopes.All)}{(unknown.Count > 0 ? $"; unknown: {string.Join(", ", unknown)}" : "")}.");
                return 2;
            }
            var secret = "pk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
            var hash = ApiKeyOptions.HashOf(secret);
            AnsiConsole.MarkupLineInterpolated($"API key (shown once; give it to the client): [bold]{secret}[/]");
            Console.WriteLine();
            Console.WriteLine("Add to appsettings.json (or the environment) of the server:");
            Console.WriteLine($$"""  "Persona": { "Security": { "Keys": [ { "Name": "{{keyName}}", "Hash": "{{hash}}", "Scopes": [ {{string.Join(", ", keyScopes.Select(s => $"\"{s}\""))}} ] } ] } }""");
            Console.WriteLine("or as arguments of `persona serve`:");
            var arguments = new List<string> { $"--Persona:Security:Keys:0:Name={keyName}", $"--Persona:Security:Keys:0:Hash={hash}" };
            arguments.AddRange(keyScopes.Select((s, i) => $"--Persona:Security:Keys:0:Scopes:{i}={s}"));
            Console.WriteLine("  " + string.Join(' ', arguments));
            return 0;
        });
        return new Command("keys", "Manage API keys.") { create };
    }
}
