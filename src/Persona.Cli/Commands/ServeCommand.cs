using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Persona.Server;

namespace Persona.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var urls = CommonOptions.Urls();
        var command = new Command("serve", "Serve the HTTP API over a data folder. Other --Persona:Key=value arguments set configuration.")
        {
            data, urls,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            await RunAsync(parse.GetValue(data)!, parse.GetValue(urls)!, engine: null, cancellationToken, parse.UnmatchedTokens);
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
