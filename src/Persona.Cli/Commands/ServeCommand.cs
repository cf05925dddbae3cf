using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Persona.Server;

namespace Persona.Cli.Commands;

internal static class ServeCommand
{
    public const string OpenSetting = "--Persona:Security:Open=true";

    public static Command Create()
    {
        var data = CommonOptions.Data();
        var urls = CommonOptions.Urls();
        var open = new Option<bool>("--open") { Description = "Development only: answer every endpoint without an API key (Persona:Security:Open=true)." };
        var command = new Command("serve", "Serve the HTTP API over a data folder. Other --Persona:Key=value arguments set configuration; API keys come from Persona:Security:Keys (see `persona keys new`).")
        {
            data, urls, open,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            IReadOnlyList<string> configuration = parse.GetValue(open) ? [.. parse.UnmatchedTokens, OpenSetting] : parse.UnmatchedTokens;
            try
            {
                await RunAsync(parse.GetValue(data)!, parse.GetValue(urls)!, engine: null, cancellationToken, configuration);
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException ex)
            {
                // Configuration mistakes are the user's to fix: the message names the setting, a stack trace would bury it.
                foreach (var failure in ex.Failures) Console.Error.WriteLine(failure);
                Console.Error.WriteLine("(`persona serve --open` runs without keys, for development only.)");
                return 2;
            }
            return 0;
        });
        return command;
    }

    /// <summary>Runs the server until Ctrl+C; reuses an already-open engine when one is given.</summary>
    public static async Task RunAsync(DirectoryInfo data, string urls, Hosting.PersonaEngine? engine, CancellationToken cancellationToken, IReadOnlyList<string>? configuration = null)
    {
        await using var app = PersonaServer.Build(
            [$"--urls={urls}", $"--Persona:DataDirectory={data.FullName}", .. configuration ?? []],
            builder =>
            {
                if (engine is not null) builder.Services.AddSingleton(engine);
            });
        Spectre.Console.AnsiConsole.MarkupLineInterpolated($"[green]Persona API listening on {urls}[/] (data: {data.FullName}). Ctrl+C stops.");
        await app.StartAsync(cancellationToken);
        await app.WaitForShutdownAsync(cancellationToken);
    }
}
