using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Hosting;
using Spectre.Console;

namespace Persona.Cli.Commands;

internal static class DemoCommand
{
    public const string TruthFileName = "demo-truth.jsonl";
    private const string ManifestKind = "demo";
    private const string ManifestKey = "manifest";

    public static Command Create()
    {
        var data = CommonOptions.Data(creates: true);
        var users = new Option<int>("--users") { Description = "Number of shoppers to generate.", DefaultValueFactory = _ => DemoOptions.DefaultUsers };
        var seed = new Option<int>("--seed") { Description = "Generator seed; the same seed gives the same shop.", DefaultValueFactory = _ => DemoOptions.DefaultSeed };
        var noServe = new Option<bool>("--no-serve") { Description = "Stop after printing example profiles instead of serving the API." };
        var trainMinutes = new Option<double>("--train-minutes")
        {
            Description = "Train the sequence model for about this long when the folder has none (0: skip), so recommendations and embeddings come from it.",
            DefaultValueFactory = _ => DefaultTrainMinutes,
        };
        trainMinutes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is var m && !(double.IsFinite(m) && m >= 0)) r.AddError("--train-minutes must be 0 (no training) or a positive number.");
        });
        var urls = CommonOptions.Urls();
        var simulate = new Option<bool>("--simulate")
        {
            Description = "While serving, simulated shoppers see what Persona shows them and click and buy by their latent preferences; " +
                          "an experiment \"popular\" vs \"personalised\" starts itself. With --no-serve the command ends when the simulation does.",
        };
        var minutes = new Option<double>("--minutes") { Description = "How long the simulation runs.", DefaultValueFactory = _ => 5 };
        minutes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is var m && !(double.IsFinite(m) && m > 0 && m <= 24 * 60)) r.AddError("--minutes must be more than 0 and at most 1440.");
        });
        var rate = new Option<double>("--rate") { Description = "Simulated sessions per second (0: as fast as the server answers).", DefaultValueFactory = _ => 50 };
        rate.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is var x && !(double.IsFinite(x) && x >= 0)) r.AddError("--rate must be 0 or a positive number.");
        });
        var output = new Option<FileInfo?>("--output") { Description = "Write the simulated experiment's figures as JSON to this file." };
        var experiment = new Option<string>("--experiment")
        {
            Description = "What the simulation's experiment compares: personalisation (popular vs personalised) or blend (configured vs learned blend).",
            DefaultValueFactory = _ => DemoSimulation.PersonalisationExperiment,
        };
        experiment.AcceptOnlyFromAmong(DemoSimulation.PersonalisationExperiment, DemoSimulation.BlendExperiment);
        var command = new Command("demo", "Generate a bilingual demo shop, import it, build profiles, train the sequence model (about a minute), print three profiles, then serve the API.")
        {
            data, users, seed, noServe, trainMinutes, urls, simulate, minutes, rate, output, experiment,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(data)!;
            var options = new DemoOptions { Users = parse.GetValue(users), Seed = parse.GetValue(seed) };
            options.Items = Math.Max(DemoOptions.DefaultItems, options.Users * 2);
            // Without serving, the import builds the parts `persona serve` restores (as `persona import` does), so the next
            // start replays nothing; a serving demo's server (and so a simulating one) registers its own.
            var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken, create: true, error: parse.InvocationConfiguration.Error,
                beforeStart: parse.GetValue(noServe) && !parse.GetValue(simulate) ? ImportCommand.StateParts : null);
            if (engine is null) return 2;
            try
            {
                var truth = await EnsureDemoDataAsync(engine, dir, options, cancellationToken);
                if (truth is null) return 1;
                await TrainSequenceModelAsync(engine, dir, parse.GetValue(trainMinutes), cancellationToken);
                PrintExamples(engine, truth, dir, parse.GetValue(urls)!);
                if (parse.GetValue(noServe) && !parse.GetValue(simulate)) return 0;
                // The demo runs open, and says so: a development mode, never for real data.
                AnsiConsole.MarkupLine("[yellow]Demo mode: the API runs OPEN (no API keys). Use `persona serve` with keys for real data.[/]");
                using var serving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var simulation = parse.GetValue(simulate)
                    ? SimulateAsync(engine, truth, parse.GetValue(urls)!, parse.GetValue(experiment)!, TimeSpan.FromMinutes(parse.GetValue(minutes)), parse.GetValue(rate),
                        parse.GetValue(seed), parse.GetValue(output), stopServing: parse.GetValue(noServe) ? serving : null, cancellationToken)
                    : Task.CompletedTask;
                // A simulation lasts minutes: the learned blend is refitted every minute so that it can move within one.
                string[] settings = parse.GetValue(simulate) ? [ServeCommand.OpenSetting, "--Persona:Online:BlendRefitMinutes=1"] : [ServeCommand.OpenSetting];
                await ServeCommand.RunAsync(dir, parse.GetValue(urls)!, engine, serving.Token, settings);
                await simulation;
                return 0;
            }
            finally
            {
                // The server got this engine as an instance, which the container does not dispose.
                await engine.DisposeAsync();
            }
        });
        return command;
    }

    /// <summary>Runs the simulation against the server this command serves; a failure is reported, never ends the serving.</summary>
    private static async Task SimulateAsync(PersonaEngine engine, IReadOnlyList<DemoTruth> truth, string urls, string kind, TimeSpan duration, double rate, int seed,
        FileInfo? output, CancellationTokenSource? stopServing, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            var items = new List<Item>();
            await foreach (var item in engine.Store.ReadItemsAsync(cancellationToken)) items.Add(item);
            var url = urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0].Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal);
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
            var simulation = new DemoSimulation(http, new DemoResponder(items), truth, items, AnsiConsole.Console);
            var experiment = await simulation.RunAsync(kind, duration, rate, seed, cancellationToken);
            await simulation.ReportAsync(experiment, output, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or IOException or System.Text.Json.JsonException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]The simulation stopped: {ex.Message}[/]");
        }
        finally
        {
            if (stopServing is not null) await stopServing.CancelAsync();
        }
    }

    /// <summary>Minutes the demo trains the sequence model for by default: enough for model-based recommendations with reasons.</summary>
    public const double DefaultTrainMinutes = 1;

    /// <summary>
    /// Trains the sequence model once, under a time cap, when the folder serves none yet (a reused demo keeps its model),
    /// so the first run already has shopper embeddings and model-based recommendations. A failure is reported and the
    /// demo goes on without a model, as before.
    /// </summary>
    private static async Task TrainSequenceModelAsync(PersonaEngine engine, DirectoryInfo dir, double minutes, CancellationToken cancellationToken)
    {
        if (minutes <= 0) return;
        var repository = Core.Models.Sequence.SequenceModelRepository.ForDataDirectory(dir.FullName);
        if (repository.ServingVersion() is { } serving)
        {
            AnsiConsole.MarkupLineInterpolated($"[grey]Sequence model {serving} already serves from {repository.Root}; not training again.[/]");
            return;
        }
        var options = new Core.Models.Sequence.SequenceTrainingOptions { TimeLimit = TimeSpan.FromMinutes(minutes) };
        using var models = new SequenceModelService(repository, engine.Store, Microsoft.Extensions.Options.Options.Create(engine.Options), TimeProvider.System);
        Core.Models.Sequence.SequenceTrainingRun? run = null;
        AnsiConsole.MarkupLineInterpolated($"Training the sequence model (at most about {minutes:0.##} min; --train-minutes changes it, 0 skips):");
        if (!await TrainingProgress.TryRunAsync(async progress => run = await models.TrainAsync(options, "demo", progress: progress, cancellationToken: cancellationToken)))
            return;
        AnsiConsole.MarkupLineInterpolated(
            $"Sequence model {run!.Version}: validation NDCG@10 {run.Result.BestValidationNdcg10:0.0000} after {run.Result.EpochsRun} epochs, {run.Result.Elapsed.TotalSeconds:0} s; it serves recommendations with reasons and shopper embeddings.");
    }

    /// <summary>Generates and imports the shop unless the folder already holds this very demo; refuses to mix it into other data.</summary>
    private static async Task<IReadOnlyList<DemoTruth>?> EnsureDemoDataAsync(PersonaEngine engine, DirectoryInfo dir, DemoOptions options, CancellationToken cancellationToken)
    {
        var manifest = JsonSerializer.Serialize(new { Generator = DemoShopGenerator.Version, options.Seed, options.Users, options.Items, options.Days, options.End }, PersonaJson.Options);
        var truthPath = Path.Combine(dir.FullName, TruthFileName);
        var existing = await engine.Store.GetDocumentAsync(ManifestKind, ManifestKey, cancellationToken);
        if (existing == manifest && File.Exists(truthPath))
        {
            AnsiConsole.MarkupLineInterpolated($"[grey]The demo shop (seed {options.Seed}, {options.Users} users) is already in {dir.FullName}; reusing it.[/]");
            return await DemoTruthFile.ReadAsync(truthPath, cancellationToken);
        }
        if (existing is not null && !existing.Contains($"\"generator\":{DemoShopGenerator.Version},", StringComparison.Ordinal))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{dir.FullName} holds a demo shop made by an older generator; delete the folder (or choose another with --data) to make a new one.[/]");
            return null;
        }
        if (existing is not null || await engine.Store.CountEventsAsync(cancellationToken) > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{dir.FullName} already holds other data; choose an empty folder with --data.[/]");
            return null;
        }

        var clock = Stopwatch.StartNew();
        DemoShop shop = null!;
        await Progress.RunAsync(async progress =>
        {
            progress.Report(new WorkProgress("Generating shop", 0, 1));
            shop = await Task.Run(() => new DemoShopGenerator(options).Generate(), cancellationToken);
            progress.Report(new WorkProgress("Generating shop", 1, 1));
            await PersonaImporter.ImportShopAsync(engine, shop, progress, cancellationToken);
        });
        await DemoTruthFile.WriteAsync(truthPath, shop.Truth, cancellationToken);
        await engine.Store.PutDocumentAsync(ManifestKind, ManifestKey, manifest, cancellationToken);
        await engine.FlushProfilesAsync(cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"Demo shop: {shop.Items.Count:N0} items, {shop.Users.Count:N0} users, {shop.Events.Count:N0} events, imported and profiled in {clock.Elapsed.TotalSeconds:0.0} s.");
        return shop.Truth;
    }

    /// <summary>Three contrasting shoppers: the biggest spender, a churned one and a newcomer.</summary>
    private static void PrintExamples(PersonaEngine engine, IReadOnlyList<DemoTruth> truth, DirectoryInfo dir, string url)
    {
        var picks = new List<string>();
        if (truth.Where(t => !t.Churned && !t.IsNew).OrderByDescending(t => t.PurchaseCount).ThenBy(t => t.UserId, StringComparer.Ordinal).FirstOrDefault() is { } loyal) picks.Add(loyal.UserId);
        if (truth.FirstOrDefault(t => t.Churned && t.EventCount >= 20) is { } churned) picks.Add(churned.UserId);
        if (truth.FirstOrDefault(t => t.IsNew && t.EventCount >= 5) is { } newcomer) picks.Add(newcomer.UserId);
        foreach (var userId in truth.Select(t => t.UserId).Where(id => !picks.Contains(id)).Take(3 - picks.Count).ToList()) picks.Add(userId);
        foreach (var userId in picks)
            if (engine.GetProfile(engine.UserIds.ToStored(userId)) is { Status: ProfileStatus.Found, Profile: { } profile }) ProfilePrinter.Print(profile with { UserId = userId });
        var example = picks.FirstOrDefault() ?? "<user-id>";
        AnsiConsole.MarkupLineInterpolated($"Try: [bold]persona profile --data {dir.FullName} {example}[/] or [bold]curl {url}/v1/users/{example}/profile[/]");
    }
}
