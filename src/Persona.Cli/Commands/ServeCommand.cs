using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Persona.Hosting.Privacy;
using Persona.Server;

namespace Persona.Cli.Commands;

internal static class ServeCommand
{
    public const string OpenSetting = "--Persona:Security:Open=true";
    public const string ClusterSetting = "--Persona:Cluster:Enabled=true";

    public static Command Create()
    {
        var data = CommonOptions.Data(creates: true);
        var urls = CommonOptions.Urls();
        var open = new Option<bool>("--open") { Description = "Development only: answer every endpoint without an API key (Persona:Security:Open=true)." };
        var cluster = new Option<bool>("--cluster")
        {
            Description = "Join a cluster of nodes sharing a PostgreSQL store (Persona:Cluster:Enabled=true; membership in Redis, Persona:Cluster:Redis; " +
                          "each node on one machine needs its own --Persona:Cluster:SiloPort). See docs/cluster.md.",
        };
        var command = new Command("serve", "Serve the HTTP API over a data folder. Other --Persona:Key=value arguments set configuration; API keys come from Persona:Security:Keys (see `persona keys new`).")
        {
            data, urls, open, cluster,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            IReadOnlyList<string> configuration = [
                .. parse.UnmatchedTokens,
                .. parse.GetValue(open) ? [OpenSetting] : Array.Empty<string>(),
                .. parse.GetValue(cluster) ? [ClusterSetting] : Array.Empty<string>(),
            ];
            try
            {
                await RunAsync(parse.GetValue(data)!, parse.GetValue(urls)!, engine: null, cancellationToken, configuration);
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException ex)
            {
                // Configuration mistakes are the user's to fix: the message names the setting, a stack trace would bury it.
                foreach (var failure in ex.Failures) Console.Error.WriteLine(failure);
                if (ex.Failures.Any(f => f.Contains("Security", StringComparison.Ordinal)))
                    Console.Error.WriteLine("(`persona serve --open` runs without keys, for development only.)");
                return 2;
            }
            catch (Exception ex) when (Pseudonymisation(ex) is { } refused)
            {
                // The key does not fit the data folder (or is unusable): the message says which setting to change.
                Console.Error.WriteLine(refused.Message);
                return 2;
            }
            catch (StoreUnreachableException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }
            return 0;
        });
        return command;
    }

    /// <summary>The pseudonymisation refusal behind a start-up failure (the host may wrap it), or null.</summary>
    private static PseudonymisationException? Pseudonymisation(Exception? ex) => ex switch
    {
        PseudonymisationException p => p,
        AggregateException a => a.InnerExceptions.Select(Pseudonymisation).FirstOrDefault(p => p is not null),
        null => null,
        _ => Pseudonymisation(ex.InnerException),
    };

    /// <summary>Runs the server until Ctrl+C; reuses an already-open engine when one is given.</summary>
    public static async Task RunAsync(DirectoryInfo data, string urls, Hosting.PersonaEngine? engine, CancellationToken cancellationToken, IReadOnlyList<string>? configuration = null)
    {
        await using var app = PersonaServer.Build(
            [$"--urls={urls}", $"--Persona:DataDirectory={data.FullName}", .. StoreChoice.AsSettings(), .. configuration ?? []],
            builder =>
            {
                if (engine is not null) builder.Services.AddSingleton(engine);
            });
        // Every setting is checked before the engine loads (minutes on a large store), so a mistake ends the command at once.
        app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Hosting.PersonaOptions>>().Value;
        // Loading first (the hosted service then finds the engine started) lets a key that does not fit the data
        // folder end the command with its message instead of the host's start-up failure log.
        // The state parts (recommendations, search) are created first, so the engine's one start pass restores and feeds them.
        _ = app.Services.GetServices<Hosting.IStatePartObserver>().ToList();
        try
        {
            await app.Services.GetRequiredService<Hosting.PersonaEngine>().StartAsync(progress: null, cancellationToken);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new StoreUnreachableException($"Cannot reach the store, {Hosting.PersonaStores.Describe(options)}: {ex.Message}", ex);
        }
        var store = options.Store.Provider == Hosting.PersonaStoreOptions.Sqlite ? data.FullName : $"{data.FullName}, store: {Hosting.PersonaStores.Describe(options)}";
        Spectre.Console.AnsiConsole.MarkupLineInterpolated($"[green]Persona API listening on {urls}[/] (data: {store}). Ctrl+C stops.");
        await app.StartAsync(cancellationToken);
        await app.WaitForShutdownAsync(cancellationToken);
    }
}

/// <summary>The configured store did not answer at start; the message names it.</summary>
internal sealed class StoreUnreachableException(string message, Exception inner) : Exception(message, inner);
