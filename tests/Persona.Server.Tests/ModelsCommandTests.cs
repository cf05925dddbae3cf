extern alias cli;

using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary><c>persona train</c> under the gate, <c>--force</c>, and <c>persona models list|promote|rollback</c> over a data folder.</summary>
public sealed class ModelsCommandTests : IDisposable
{
    private static readonly string[] Small = ["--dim", "16", "--layers", "1", "--heads", "1", "--max-len", "12", "--batch", "32", "--negatives", "0"];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "persona-models-cli", Guid.NewGuid().ToString("n"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task TrainListPromoteRollback_TheGateAndTheOperatorDecideWhatServes()
    {
        await using (var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _dir }),
            Microsoft.Extensions.Options.Options.Create(new PersonaOptions { DataDirectory = _dir }), TimeProvider.System, NullLogger<PersonaEngine>.Instance))
        {
            await engine.StartAsync(progress: null, CancellationToken.None);
            await ChainShop.SeedAsync(engine);
        }

        var (trained, output, error) = await RunAsync(["train", "--data", _dir, "--epochs", "12", "--patience", "12", "--lr", "0.01", .. Small]);
        Assert.True(trained == 0, output + error);
        Assert.Contains("no model served before", output, StringComparison.Ordinal);
        var first = Versions().Single();

        var (worse, rejected, _) = await RunAsync(["train", "--data", _dir, "--epochs", "1", "--patience", "1", "--lr", "0.000001", "--seed", "11", .. Small]);
        Assert.Equal(0, worse);
        var second = Versions().Except([first]).Single();
        Assert.Contains($"Not served: {second} failed the gate", rejected, StringComparison.Ordinal);
        Assert.Contains($"`persona models promote {second}`", rejected, StringComparison.Ordinal);

        var (listed, table, _) = await RunAsync(["models", "list", "--data", _dir]);
        Assert.Equal(0, listed);
        Assert.Contains(first, table, StringComparison.Ordinal);
        Assert.Contains(second, table, StringComparison.Ordinal);
        Assert.Contains("rejected (", table, StringComparison.Ordinal);
        Assert.Contains("serving", table, StringComparison.Ordinal);
        var (_, json, _) = await RunAsync(["models", "list", "--data", _dir, "--json"]);
        var list = JsonDocument.Parse(json).RootElement;
        Assert.Equal(first, list.GetProperty("serving").GetString());
        Assert.Equal("rejected", list.GetProperty("versions")[1].GetProperty("gate").GetProperty("decision").GetString());

        var (unknown, _, unknownError) = await RunAsync(["models", "promote", "seq-nope", "--data", _dir]);
        Assert.Equal(1, unknown);
        Assert.Contains("No sequence model version 'seq-nope'", unknownError, StringComparison.Ordinal);
        Assert.Contains(first, unknownError, StringComparison.Ordinal);

        var (promoted, promotedOutput, _) = await RunAsync(["models", "promote", second, "--data", _dir]);
        Assert.Equal(0, promoted);
        Assert.Contains($"{second} serves now (was {first})", promotedOutput, StringComparison.Ordinal);
        var (rolledBack, rolledBackOutput, _) = await RunAsync(["models", "rollback", "--data", _dir]);
        Assert.Equal(0, rolledBack);
        Assert.Contains($"Rolled back from {second}: {first} serves again", rolledBackOutput, StringComparison.Ordinal);
        var (nothing, _, nothingError) = await RunAsync(["models", "rollback", "--data", _dir]);
        Assert.Equal(1, nothing);
        Assert.Contains("Nothing to roll back to", nothingError, StringComparison.Ordinal);

        var (forced, forcedOutput, _) = await RunAsync(["train", "--data", _dir, "--epochs", "1", "--patience", "1", "--lr", "0.000001", "--seed", "11", "--force", .. Small]);
        Assert.Equal(0, forced);
        var third = Versions().Except([first, second]).Single();
        Assert.Contains($"Serving {third} (--force)", forcedOutput, StringComparison.Ordinal);

        // Every decision is in the audit log, with the CLI user as the actor.
        await using var store = new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = _dir });
        await store.InitializeAsync();
        var audit = await store.ReadAuditAsync(50);
        Assert.Equal(
            [AuditActions.ServeModel, AuditActions.RejectModel, AuditActions.PromoteModel, AuditActions.RollbackModel, AuditActions.ForceModel],
            audit.Reverse().Select(e => e.Action));
        Assert.All(audit, e => Assert.StartsWith("cli:", e.Actor, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Demo_TrainsTheSequenceModelUnderItsCap_AndReusesItOnTheNextRun()
    {
        // A tiny shop and a few seconds of training: the suite stays fast; the default is about a minute.
        var (exit, output, error) = await RunAsync(["demo", "--data", _dir, "--users", "60", "--no-serve", "--train-minutes", "0.05"]);
        Assert.True(exit == 0, output + error);
        var version = Assert.Single(Versions());
        var (_, json, _) = await RunAsync(["models", "list", "--data", _dir, "--json"]);
        Assert.Equal(version, JsonDocument.Parse(json).RootElement.GetProperty("serving").GetString());
        var (recommended, recommendations, _) = await RunAsync(["recommend", "--data", _dir, "u00001", "--json"]);
        Assert.Equal(0, recommended);
        Assert.Equal(version, JsonDocument.Parse(recommendations).RootElement.GetProperty("model_version").GetString());

        // The same demo again keeps its model instead of training another.
        var (again, _, againError) = await RunAsync(["demo", "--data", _dir, "--users", "60", "--no-serve", "--train-minutes", "0.05"]);
        Assert.True(again == 0, againError);
        Assert.Equal(version, Assert.Single(Versions()));
    }

    private string[] Versions() =>
        [.. Directory.GetDirectories(Path.Combine(_dir, "models", "sequence")).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Select(n => n!)];

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await cli::Persona.Cli.PersonaCli.BuildRootCommand().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
