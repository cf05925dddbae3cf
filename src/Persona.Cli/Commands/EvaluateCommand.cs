using System.CommandLine;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Evaluation;
using Persona.Core.Models.Propensity;
using Persona.Hosting;
using Spectre.Console;

namespace Persona.Cli.Commands;

internal static class EvaluateCommand
{
    public const string ProfilesTask = "profiles";
    public const string PropensityTask = "propensity";
    public const string SegmentsTask = "segments";

    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = "What to evaluate.", Required = true };
        task.AcceptOnlyFromAmong(ProfilesTask, PropensityTask, SegmentsTask, SearchEvaluation.Task, SearchEvaluation.ColdStartTask, SearchIntentEvaluation.Task, NextItemEvaluation.Task);
        var data = CommonOptions.Data();
        var truth = new Option<FileInfo?>("--truth") { Description = $"Ground-truth file (default: DIR/{DemoCommand.TruthFileName}, written by `persona demo`)." };
        var output = new Option<FileInfo?>("--output") { Description = "Also write the report as JSON to this file." };
        var dataset = new Option<string?>("--dataset")
        {
            Description = $"Name of a public data set to evaluate instead of the store (its files are given by --path): propensity {ImportCommand.TaobaoUserBehavior}; " +
                $"search {SearchEvaluation.AmazonBeauty} or {SearchEvaluation.TaobaoTitles}; cold-start {SearchEvaluation.AmazonBeauty}; {NextItemEvaluation.DatasetHelp}. Not used by profiles, segments or search-intent.",
        };
        dataset.Validators.Add(result =>
        {
            // next-item accepts any `user item item ...` file by name; the other tasks know their data sets.
            if (result.GetValue(task) == NextItemEvaluation.Task || result.GetValue(dataset) is not { } name) return;
            string[] known = [ImportCommand.TaobaoUserBehavior, SearchEvaluation.AmazonBeauty, SearchEvaluation.TaobaoTitles];
            if (!known.Contains(name)) result.AddError($"--dataset must be one of {string.Join(", ", known)} for this task.");
        });
        var path = new Option<string?>("--path")
        {
            Description = $"Where the --dataset is. propensity: a Taobao UserBehavior CSV file or a folder whose *.csv files are all read; " +
                $"search: the data set's folder; {NextItemEvaluation.PathHelp}. Not used by profiles, segments or search-intent (they read the store at --data).",
        };
        var horizon = new Option<double?>("--horizon-days") { Description = "propensity: N, the length of each outcome window (default 14; a third of the span for the Taobao sample)." };
        var seed = new Option<int>("--seed") { Description = "Seed of learners, splits and k-means.", DefaultValueFactory = _ => PropensityOptions.DefaultSeed };
        var k = new Option<int>("--k") { Description = "segments: number of segments (0 = choose by silhouette).", DefaultValueFactory = _ => 0 };
        var encoder = SearchEvaluation.EncoderOption();
        var fineTune = SearchEvaluation.FineTuneOption();
        var withSequenceModel = SearchEvaluation.WithSequenceModelOption();
        var command = new Command("evaluate", "Measure quality against ground truth and print the tables.") { task, data, truth, output, dataset, path, horizon, seed, k, encoder, fineTune, withSequenceModel };
        NextItemEvaluation.Options.AddTo(command);
        NextItemEvaluation.AddModelOptions(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(data)!;
            var taskName = parse.GetValue(task)!;
            if (taskName == NextItemEvaluation.Task)
            {
                if (parse.GetValue(path) is not { } nextItemPath)
                {
                    Console.Error.WriteLine($"--task next-item needs --path ({NextItemEvaluation.PathHelp}).");
                    return 2;
                }
                return await NextItemEvaluation.RunAsync(parse.GetValue(dataset) ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(nextItemPath)), nextItemPath,
                    parse.GetValue(output), NextItemEvaluation.ReadOptions(parse) with { Seed = parse.GetValue(seed) }, parse, parse.GetValue(encoder), cancellationToken);
            }
            if (taskName is SearchEvaluation.Task or SearchEvaluation.ColdStartTask)
            {
                if (parse.GetValue(dataset) is not { } searchDataset || parse.GetValue(path) is not { } searchPath)
                {
                    Console.Error.WriteLine($"--task {taskName} needs --dataset and --path.");
                    return 2;
                }
                Persona.Core.Models.Sequence.SequenceTrainingOptions? sequenceTraining = null;
                if (parse.GetValue(withSequenceModel))
                {
                    var options = NextItemEvaluation.ReadOptions(parse);
                    sequenceTraining = options with { TimeLimit = options.TimeLimit ?? SearchEvaluation.DefaultSequenceTime };
                }
                return await SearchEvaluation.RunAsync(taskName, searchDataset, searchPath, parse.GetValue(encoder)!, parse.GetValue(fineTune), parse.GetValue(output), maxUsers: 0, parse.GetValue(seed),
                    cancellationToken, sequenceTraining, NextItemEvaluation.ModelFolder(parse), NextItemEvaluation.SaveModelFolder(parse));
            }
            // The remaining tasks read the store, except propensity over a public data set.
            if ((taskName != PropensityTask || parse.GetValue(dataset) is null) && !await EngineSession.RequireStoreAsync(dir, parse.InvocationConfiguration.Error, cancellationToken)) return 2;
            if (taskName == SearchIntentEvaluation.Task) return await SearchIntentEvaluation.RunAsync(dir, parse.GetValue(output), cancellationToken);
            if (taskName == SegmentsTask)
            {
                if (await PropensityEvaluation.SegmentsAsync(dir, parse.GetValue(seed), parse.GetValue(k), cancellationToken) is not { } segments) return 2;
                Console.WriteLine(segments);
                return 0;
            }
            if (taskName == PropensityTask)
            {
                PropensityReport propensity;
                if (parse.GetValue(dataset) is not null)
                {
                    if (parse.GetValue(path) is not { } datasetPath)
                    {
                        Console.Error.WriteLine("--dataset needs --path.");
                        return 2;
                    }
                    propensity = await PropensityEvaluation.FromTaobaoAsync(datasetPath, parse.GetValue(horizon), parse.GetValue(seed), cancellationToken);
                }
                else
                {
                    if (await PropensityEvaluation.FromStoreAsync(dir, parse.GetValue(horizon) ?? 14, parse.GetValue(seed), cancellationToken) is not { } fromStore) return 2;
                    propensity = fromStore;
                }
                Console.WriteLine(propensity.ToMarkdown());
                if (parse.GetValue(output) is { } reportFile) await File.WriteAllTextAsync(reportFile.FullName, propensity.ToJson(), cancellationToken);
                return 0;
            }
            var truthFile = parse.GetValue(truth) ?? new FileInfo(Path.Combine(dir.FullName, DemoCommand.TruthFileName));
            if (!truthFile.Exists)
            {
                Console.Error.WriteLine($"No ground truth at {truthFile.FullName}; run `persona demo --data {dir.FullName} --no-serve` first or pass --truth.");
                return 2;
            }
            var truthRows = await DemoTruthFile.ReadAsync(truthFile.FullName, cancellationToken);
            await using var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken, error: parse.InvocationConfiguration.Error);
            if (engine is null) return 2;
            // The truth file names users by their raw ids; a pseudonymised store keys them by pseudonym.
            var profiles = truthRows
                .Select(t => (t.UserId, Read: engine.GetProfile(engine.UserIds.ToStored(t.UserId))))
                .Where(r => r.Read.Status == ProfileStatus.Found)
                .Select(r => r.Read.Profile! with { UserId = r.UserId })
                .ToList();
            var report = ProfileQualityEvaluator.Evaluate(profiles, truthRows);
            Console.WriteLine(report.ToMarkdown());
            var json = report.ToJson();
            await engine.Store.PutDocumentAsync("evaluation", ProfilesTask, json, cancellationToken);
            if (parse.GetValue(output) is { } file) await File.WriteAllTextAsync(file.FullName, json, cancellationToken);
            AnsiConsole.MarkupLine(report.MeetsTargets ? "[green]All profile-quality targets met.[/]" : "[yellow]Some profile-quality targets are not met.[/]");
            return 0;
        });
        return command;
    }
}
