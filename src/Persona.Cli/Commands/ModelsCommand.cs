using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Hosting;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona models list|promote|rollback</c>: the stored sequence model versions and which one serves. A server on
/// the same folder (or, with a shared store, every server sharing it) follows a promotion or rollback within one poll.
/// </summary>
internal static class ModelsCommand
{
    /// <summary>Who the CLI's decisions are audited as.</summary>
    public static string Actor => "cli:" + Environment.UserName;

    public static Command Create()
    {
        // On the parent and recursive, so `persona models --data DIR list` and `persona models list --data DIR` both work.
        var data = CommonOptions.Data();
        data.Recursive = true;
        var command = new Command("models", "Stored sequence model versions: list them, promote one to serve, roll back to the previous one.") { data };
        command.Subcommands.Add(List(data));
        command.Subcommands.Add(Promote(data));
        command.Subcommands.Add(Rollback(data));
        return command;
    }

    private static Command List(Option<DirectoryInfo> data)
    {
        var json = new Option<bool>("--json") { Description = "Print the versions as JSON (as GET /v1/admin/models lists them)." };
        var command = new Command("list", "Versions with when they were trained, validation NDCG@10 and other figures, the gate's verdict, and which one serves.") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var session = await OpenAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken);
            if (session is null) return 2;
            await session.Models.SyncAsync(cancellationToken);
            var versions = session.Models.Repository.Describe();
            var pointer = session.Models.Repository.ReadPointer();
            if (parse.GetValue(json))
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(new { Serving = versions.FirstOrDefault(v => v.Serving)?.Version, Versions = versions, pointer?.History }, PersonaJson.Options));
                return 0;
            }
            var terminal = EngineSession.Terminal(parse);
            if (versions.Count == 0)
            {
                terminal.WriteLine($"No sequence model versions in {session.Models.Repository.Root}; train one with `persona train`.");
                return 0;
            }
            var table = new Table().AddColumns("", "version", "created (UTC)", "val NDCG@10", "best epoch", "epochs", "seconds", "users", "items", "gate");
            foreach (var v in versions.AsEnumerable().Reverse())
            {
                table.AddRow(
                    v.Serving ? "[green]serving[/]" : "",
                    Markup.Escape(v.Version),
                    v.CreatedAt?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "—",
                    Figure(v.ValidationNdcg10, "0.0000"),
                    Figure(v.Metrics, "best_epoch", "0"),
                    Figure(v.Metrics, "epochs_run", "0"),
                    Figure(v.Metrics, "training_seconds", "0"),
                    Figure(v.Metrics, "users", "N0"),
                    Figure(v.Metrics, "items", "N0"),
                    Markup.Escape(v.Gate is { } g ? GateCell(g) : "— (trained before the gate)"));
            }
            terminal.Write(table);
            if (pointer?.Previous is { } previous) terminal.WriteLine($"`persona models rollback` would serve {previous} again.");
            else if (pointer is null) terminal.WriteLine("No serving pointer yet: the newest version serves.");
            return 0;
        });
        return command;
    }

    private static Command Promote(Option<DirectoryInfo> data)
    {
        var version = new Argument<string>("VERSION") { Description = "The version to serve (see `persona models list`)." };
        var command = new Command("promote", "Serve a stored version (e.g. one the gate rejected); audited. The previous one stays in the history for rollback.") { version };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var session = await OpenAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken);
            if (session is null) return 2;
            try
            {
                var (pointer, before) = await session.Models.PromoteAsync(parse.GetValue(version)!, Actor, cancellationToken);
                parse.InvocationConfiguration.Output.WriteLine($"{pointer.Version} serves now (was {before ?? "none"}). {Following(session.Options)}");
                return 0;
            }
            catch (UnknownModelVersionException ex)
            {
                parse.InvocationConfiguration.Error.WriteLine(ex.Message);
                return 1;
            }
        });
        return command;
    }

    private static Command Rollback(Option<DirectoryInfo> data)
    {
        var command = new Command("rollback", "Serve the version that served before the current one again; audited.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var session = await OpenAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken);
            if (session is null) return 2;
            try
            {
                var (pointer, from) = await session.Models.RollbackAsync(Actor, cancellationToken);
                parse.InvocationConfiguration.Output.WriteLine($"Rolled back from {from}: {pointer.Version} serves again. {Following(session.Options)}");
                return 0;
            }
            catch (Exception ex) when (ex is InvalidOperationException or UnknownModelVersionException)
            {
                parse.InvocationConfiguration.Error.WriteLine(ex.Message);
                return 1;
            }
        });
        return command;
    }

    /// <summary>The gate's verdict in one line, as <c>persona train</c> prints it.</summary>
    public static string DescribeGate(SequenceGateOutcome gate, string version) => gate.Decision switch
    {
        SequenceServingDecisions.Rejected => $"Not served: {version} failed the gate ({gate.Describe()}). It is stored; `persona models promote {version}` serves it anyway.",
        SequenceServingDecisions.Forced => $"Serving {version} (--force): {gate.Describe()}.",
        _ => $"Serving {version}: {gate.Describe()}.",
    };

    private static string GateCell(SequenceGateOutcome g) => g.ServingNdcg10 is { } serving
        ? string.Create(CultureInfo.InvariantCulture, $"{g.Decision} ({g.CandidateNdcg10:0.0000} vs {serving:0.0000} of {g.ServingVersion})")
        : g.Decision;

    private static string Figure(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static string Figure(IReadOnlyDictionary<string, double> metrics, string key, string format) =>
        Figure(metrics.TryGetValue(key, out var v) ? v : null, format);

    private static string Following(PersonaOptions options) => options.Store.IsShared
        ? $"Every server sharing {PersonaStores.Describe(options)} follows within {SequenceModelHostingExtensions.PollInterval.TotalSeconds:0} s."
        : $"A server on this folder follows within {SequenceModelHostingExtensions.PollInterval.TotalSeconds:0} s.";

    /// <summary>The store (for the audit log and, when shared, the pointer) without starting the engine: these commands read no events.</summary>
    private static async Task<Session?> OpenAsync(DirectoryInfo data, TextWriter error, CancellationToken cancellationToken)
    {
        if (!await EngineSession.RequireStoreAsync(data, error, cancellationToken)) return null;
        var options = EngineSession.OptionsFor(data);
        var store = PersonaStores.Create(options);
        try
        {
            await store.InitializeAsync(cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
        var models = new SequenceModelService(SequenceModelRepository.ForDataDirectory(data.FullName), store, Options.Create(options), TimeProvider.System);
        return new Session(store, models, options);
    }

    private sealed class Session(IPersonaStore store, SequenceModelService models, PersonaOptions options) : IAsyncDisposable
    {
        public SequenceModelService Models { get; } = models;

        public PersonaOptions Options { get; } = options;

        public async ValueTask DisposeAsync()
        {
            Models.Dispose();
            await store.DisposeAsync();
        }
    }
}
