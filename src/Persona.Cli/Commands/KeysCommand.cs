using System.CommandLine;
using System.Security.Cryptography;
using Persona.Hosting.Privacy;
using Persona.Server.Security;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona keys new</c>: makes an API key and prints the configuration that holds only its hash.
/// <c>persona keys pseudonym --out FILE</c>: makes the key for pseudonymised user ids.
/// </summary>
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
        return new Command("keys", "Manage API keys and the pseudonymisation key.") { create, Pseudonym() };
    }

    private static Command Pseudonym()
    {
        var output = new Option<FileInfo>("--out")
        {
            Description = "File to write the key to (must not exist yet). Keep it outside the data folder, and back it up: without it no stored user can be found again.",
            Required = true,
        };
        var command = new Command("pseudonym", "Make a random 32-byte key for pseudonymised user ids (stored as HMAC-SHA256 of the id); writes it base64, readable by its owner only.") { output };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(output)!;
            if (file.Exists)
            {
                // Replacing a key in use would orphan every stored user; a new key goes to a new file.
                Console.Error.WriteLine($"{file.FullName} exists; a key in use must not be overwritten. Choose another --out.");
                return 2;
            }
            var key = RandomNumberGenerator.GetBytes(PersonaPrivacyOptions.MinKeyBytes);
            try
            {
                file.Directory?.Create();
                var stream = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) stream.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var writer = new StreamWriter(file.FullName, System.Text.Encoding.ASCII, stream))
                    writer.WriteLine(Convert.ToBase64String(key));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"Cannot write {file.FullName}: {ex.Message}");
                return 2;
            }
            var fingerprint = UserIdProtector.WithKey(key).Fingerprint;
            CryptographicOperations.ZeroMemory(key);
            AnsiConsole.MarkupLineInterpolated($"Pseudonymisation key written to [bold]{file.FullName}[/] (owner read/write only; fingerprint {fingerprint}).");
            Console.WriteLine("Keep it outside the data folder and back it up: the store records only its fingerprint, and without the key no stored user can be found by their id.");
            Console.WriteLine();
            Console.WriteLine("Use it with a new, empty data folder (a folder that already holds raw user ids is refused; re-import its data into a new folder instead):");
            Console.WriteLine($"  persona serve --data DIR --{PersonaPrivacyOptions.KeyFileSetting}={file.FullName}");
            Console.WriteLine($$"""  or in appsettings.json: "Persona": { "Privacy": { "PseudonymKeyFile": "{{file.FullName}}" } }""");
            Console.WriteLine($"  or in the environment (also read by import, profile, recommend, search, demo): Persona__Privacy__PseudonymKeyFile={file.FullName}");
            Console.WriteLine($"  or the key itself: {PersonaPrivacyOptions.KeyEnvironmentVariable}=$(cat {file.FullName})");
            return 0;
        });
        return command;
    }
}
