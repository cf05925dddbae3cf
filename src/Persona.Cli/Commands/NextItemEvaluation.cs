using System.CommandLine;
using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using Persona.Core.Ranking;
using Persona.Hosting.Recommendations;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona evaluate --task next-item --dataset NAME --path DIR</c>: the harness of BENCHMARKS.md §1 (model,
/// popularity and item co-occurrence on one split). The data set becomes the same events and items an import stores
/// and goes through <see cref="SequenceDataset.Build"/> and <see cref="SequenceTrainer"/> as <c>persona train</c> does.
/// </summary>
internal static class NextItemEvaluation
{
    public const string Task = "next-item";

    /// <summary>Default cap on training time in the harness, so a run stays inside the 30-minute budget.</summary>
    public static readonly TimeSpan DefaultTimeLimit = TimeSpan.FromMinutes(25);

    /// <summary>Training options for <c>evaluate</c> (without <c>--seed</c>, which evaluate already has); add them with <see cref="TrainingOptionSet.AddTo"/>.</summary>
    public static TrainingOptionSet Options { get; } = new(includeSeed: false);

    /// <summary>What <c>--dataset</c> takes for next-item: the named event logs, or any name for a sequence file.</summary>
    public static string DatasetHelp =>
        $"next-item {string.Join(" or ", NextItemSources.Named.Select(s => s.Name))}, or any other name (amazon-beauty, sports, ...) for an S3-Rec style sequence file, which only labels the report (default: the last name in --path, so a folder named like a listed data set is read as that one)";

    /// <summary>What <c>--path</c> takes for next-item, per data set.</summary>
    public static string PathHelp =>
        $"next-item: {string.Join("; ", NextItemSources.Named.Select(s => $"{s.Name}: {s.PathHelp}"))}; any other name: {NextItemSources.SequenceFile.PathHelp}";

    private static readonly Option<DirectoryInfo?> ModelOption = new("--model")
    {
        Description = "next-item: measure this stored model folder (written by --save-model) instead of training one. " +
            "search (amazon-beauty): re-rank with this model, stored by `--with-sequence-model --save-model` of the same protocol (a model that learned the evaluated steps would leak them).",
    };
    private static readonly Option<DirectoryInfo?> SaveModelOption = new("--save-model") { Description = "next-item, search --with-sequence-model: also store the trained model in this folder." };
    private static readonly Option<int> DropLastOption = new("--drop-last")
    {
        Description = "next-item: leave out each user's newest N steps first; with 1 the table's test step is the real validation step, so settings can be compared without the test.",
        DefaultValueFactory = _ => 0,
    };
    private static readonly Option<string?> ServedSplitOption = new("--served-split")
    {
        Description = "next-item: split the recommender-as-served row is measured on: test (default) or validation (to compare blend settings without the test; use with a model trained with --refit-epochs 0).",
    };
    private static readonly Option<string?> BlendOption = new("--blend")
    {
        Description = "next-item: the served blend's weights model,co-occurrence,affinity,popularity (default: Persona:Recommendations' defaults).",
    };
    private static readonly Option<bool> TextInitOption = new("--text-init")
    {
        Description = "next-item: start the item table from the --encoder's vectors of the items' text (in-domain: trained on the catalog's text alone), " +
            "so items with few interactions sit near items described alike. Needs item text (amazon-beauty's items.tsv).",
    };
    private static readonly Option<bool> TraceTestOption = new("--trace-test") { Description = "next-item: print test NDCG@10 after every epoch (a diagnostic; training never looks at it)." };

    /// <summary>Adds the next-item options that are not training settings.</summary>
    public static void AddModelOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(ModelOption);
        command.Options.Add(SaveModelOption);
        command.Options.Add(TraceTestOption);
        command.Options.Add(TextInitOption);
        command.Options.Add(ServedSplitOption);
        command.Options.Add(BlendOption);
        command.Options.Add(DropLastOption);
        DropLastOption.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 10) r.AddError("--drop-last must be between 0 and 10.");
        });
        ServedSplitOption.AcceptOnlyFromAmong("test", "validation");
        BlendOption.Validators.Add(r =>
        {
            if (r.GetValue(BlendOption) is { } text && ParseBlend(text) is null)
                r.AddError("--blend takes four non-negative numbers separated by commas: model,co-occurrence,affinity,popularity.");
        });
    }

    private static double[]? ParseBlend(string text)
    {
        var parts = text.Split(',');
        if (parts.Length != 4) return null;
        var weights = new double[4];
        for (var i = 0; i < 4; i++)
            if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out weights[i]) || !(weights[i] is >= 0 and <= 100)) return null;
        return weights;
    }

    /// <summary>Runs next-item with the parsed options; <paramref name="textEncoder"/> is <c>--encoder</c>, used with <c>--text-init</c>.</summary>
    public static Task<int> RunAsync(string dataset, string path, FileInfo? output, SequenceTrainingOptions options, ParseResult parse, string? textEncoder, CancellationToken cancellationToken) =>
        RunAsync(dataset, path, output, options, cancellationToken, parse?.GetValue(ModelOption), parse?.GetValue(SaveModelOption), parse?.GetValue(TraceTestOption) ?? false,
            parse?.GetValue(ServedSplitOption) == "validation" ? NextItemSplit.Validation : NextItemSplit.Test,
            parse?.GetValue(BlendOption) is { } blend ? ParseBlend(blend) : null, parse?.GetValue(DropLastOption) ?? 0,
            parse?.GetValue(TextInitOption) == true ? textEncoder ?? Persona.Hosting.PersonaTextOptions.InDomain : null);

    public static async Task<int> RunAsync(
        string dataset, string path, FileInfo? output, SequenceTrainingOptions options, CancellationToken cancellationToken,
        DirectoryInfo? modelFolder = null, DirectoryInfo? saveModel = null, bool traceTest = false,
        NextItemSplit servedSplit = NextItemSplit.Test, double[]? blend = null, int dropLast = 0, string? textInit = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TimeLimit is null) options = options with { TimeLimit = DefaultTimeLimit };
        NextItemReport? report = null;
        try
        {
            var (data, read, usersRead) = await NextItemBenchmark.LoadAsync(dataset, path, cancellationToken);
            if (dropLast > 0)
            {
                data = data.WithoutNewestSteps(dropLast, NextItemBenchmark.MinSteps);
                Console.Error.WriteLine($"{dataset}: each user's newest {dropLast} step(s) left out: the test step below is the real validation step; {data.Users.Count:N0} users keep {NextItemBenchmark.MinSteps} or more.");
            }
            Console.Error.WriteLine($"{dataset}: {read.Source}; {data.Users.Count:N0} of {usersRead:N0} users with at least {NextItemBenchmark.MinSteps} steps, {data.ItemCount:N0} items, {data.StepCount:N0} interactions");
            if (textInit is not null)
            {
                if (await ItemTextAsync(textInit, CatalogOf(read.Items, data), cancellationToken) is not { } text) return 2;
                options = options with { ItemText = text };
            }
            SequenceModel? trained = null;
            SequenceModel? lastTrained = null;
            if (modelFolder is not null)
            {
                trained = SequenceModel.Load(modelFolder.FullName);
                if (!trained.Vocabulary.ItemIds.SequenceEqual(data.Vocabulary.ItemIds))
                {
                    Console.Error.WriteLine($"--model {modelFolder.FullName} was trained on another item list than {path}.");
                    return 2;
                }
            }
            if (!await TrainingProgress.TryRunAsync(async progress =>
            {
                SequenceTrainingResult? training;
                (report, training) = await System.Threading.Tasks.Task.Run(() => NextItemBenchmark.Run(dataset, data, options, trainModel: true, progress, trained, traceTest, cancellationToken), cancellationToken);
                report = report with { Source = read.Source, UsersRead = usersRead };
                lastTrained = training?.Model;
                if (saveModel is not null && training is not null)
                {
                    training.Model.Save(saveModel.FullName, SequenceModelManifest.For(training, options, training.Model.Version, DateTimeOffset.UtcNow));
                }
            }))
                return 1;

            // The same model inside the recommender the API runs (its blend of model, item pairs and popularity).
            var model = trained ?? lastTrained;
            var recommendation = new RecommendationOptions();
            if (blend is { } w)
            {
                recommendation.ModelWeight = w[0];
                recommendation.CoOccurrenceWeight = w[1];
                recommendation.AffinityWeight = w[2];
                recommendation.PopularityWeight = w[3];
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            NextItemMetrics served = null!;
            await AnsiConsole.Status().StartAsync($"Measuring the recommender as served ({(servedSplit == NextItemSplit.Test ? "test" : "validation")} split)…", async _ =>
                served = await ServedNextItemEvaluation.EvaluateAsync(read.Events, CatalogOf(read.Items, data), data, read.Options.MergeRepeats, model, servedSplit, recommendation, cancellationToken: cancellationToken));
            var label = $"recommender as served (weights model {recommendation.ModelWeight}, item pairs {recommendation.CoOccurrenceWeight}, affinity {recommendation.AffinityWeight}, popularity {recommendation.PopularityWeight})"
                + (servedSplit == NextItemSplit.Validation ? ", VALIDATION split" : "");
            var row = NextItemResult.From(label, served, PopularityScorer.FitCounts(data), report!.Results[^1].TrainingSeconds);
            Console.Error.WriteLine($"served: {clock.Elapsed.TotalSeconds:0} s");
            report = report with { Results = [.. report.Results, row], LoadAtEnd = NextItemReport.LoadAverage() };
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            // The reader's message says which path and why (none or several sequence files, an unreadable attribute map).
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        Console.WriteLine(report!.ToMarkdown());
        if (output is not null) await File.WriteAllTextAsync(output.FullName, report.ToJson(), cancellationToken);
        return 0;
    }

    /// <summary>
    /// The items' text vectors from <paramref name="encoderSpec"/> (in-domain: trained here on the catalog's text alone,
    /// so no behaviour leaks in); null after printing why when the encoder cannot be opened or no item has text.
    /// </summary>
    private static async Task<Func<string, float[]?>?> ItemTextAsync(string encoderSpec, List<Item> catalog, CancellationToken cancellationToken)
    {
        var described = catalog.Where(i => !string.IsNullOrWhiteSpace(i.Title)).ToList();
        if (described.Count < 2)
        {
            Console.Error.WriteLine("--text-init needs item titles, and this data set has none.");
            return null;
        }
        if (!CommonOptions.TryOpenEncoder(encoderSpec, dataDirectory: null, Console.Error, out var encoder)) return null;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            encoder ??= await System.Threading.Tasks.Task.Run(() => Persona.Core.Search.SemanticEncoder.Train(Persona.Core.Search.SemanticPairs.Build(described), cancellationToken: cancellationToken), cancellationToken);
            var dim = encoder.Dimension;
            var vectors = new float[described.Count * dim]; // (items, dim)
            var texts = described.Select(Persona.Core.Search.SearchFields.FullText).ToList();
            await System.Threading.Tasks.Task.Run(() => Persona.Core.Search.TextEncoderBatches.EncodeInBatches(encoder, texts, vectors, progress: null, cancellationToken), cancellationToken);
            var byId = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (var i = 0; i < described.Count; i++) byId[described[i].Id] = vectors.AsSpan(i * dim, dim).ToArray();
            Console.Error.WriteLine($"item table starts from {encoder.Kind} text vectors ({encoder.Version}) of {byId.Count:N0} items, {clock.Elapsed.TotalSeconds:0.0} s");
            return id => byId.GetValueOrDefault(id);
        }
        finally
        {
            (encoder as IDisposable)?.Dispose();
        }
    }

    /// <summary>The data set's catalog as the protocol ranks it: its items (those the kept users touched), with names where the source has them.</summary>
    private static List<Item> CatalogOf(IReadOnlyList<Item> items, SequenceDataset data)
    {
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        return data.Vocabulary.ItemIds.Select(id => byId.GetValueOrDefault(id) ?? new Item { Id = id }).ToList();
    }

    /// <summary>Parses the training options that <see cref="Options"/> added to the evaluate command.</summary>
    public static SequenceTrainingOptions ReadOptions(ParseResult parse) => Options.Read(parse);

    /// <summary><c>--model</c>: a stored model folder to measure instead of training one.</summary>
    public static DirectoryInfo? ModelFolder(ParseResult parse) => parse.GetValue(ModelOption);

    /// <summary><c>--save-model</c>: where to store the trained model.</summary>
    public static DirectoryInfo? SaveModelFolder(ParseResult parse) => parse.GetValue(SaveModelOption);
}
