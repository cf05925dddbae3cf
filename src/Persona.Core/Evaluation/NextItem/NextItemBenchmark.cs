using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>One model's row of the next-item table (test split).</summary>
public sealed record NextItemResult(
    string Model, int Users, double Hr5, double Ndcg5, double Hr10, double Ndcg10, double Hr20, double Ndcg20,
    double Coverage10, double Novelty10, double TrainingSeconds)
{
    public static NextItemResult From(string model, NextItemMetrics m, IReadOnlyList<long> counts, double trainingSeconds)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(model, m.Users, m.HitRate(5), m.Ndcg(5), m.HitRate(10), m.Ndcg(10), m.HitRate(20), m.Ndcg(20), m.Coverage(10),
            NextItemMetrics.Novelty(m.TopLists, 10, counts, m.CatalogSize), trainingSeconds);
    }
}

/// <summary>The next-item evaluation of a data set: the model and both baselines under one protocol.</summary>
public sealed record NextItemReport
{
    public required string Dataset { get; init; }

    /// <summary>What was read: files, counts, attributes, whether repeats merged (see <see cref="NextItemData.Source"/>).</summary>
    public string Source { get; init; } = "";

    /// <summary>Users (or sessions) in the data set before the leave-one-out filter.</summary>
    public int UsersRead { get; init; }

    public int Users { get; init; }

    public int Items { get; init; }

    public long Interactions { get; init; }

    public required IReadOnlyList<NextItemResult> Results { get; init; }

    public SequenceTrainingOptions? Training { get; init; }

    public int BestEpoch { get; init; }

    public int EpochsRun { get; init; }

    public double BestValidationNdcg10 { get; init; }

    public int RefitEpochsRun { get; init; }

    public IReadOnlyList<double> ValidationByEpoch { get; init; } = [];

    /// <summary>
    /// With <c>--trace-test</c> only: test NDCG@10 after every epoch (training, then refit), for reading a run's curve.
    /// Nothing in training looks at it; choices are made on validation alone.
    /// </summary>
    public IReadOnlyList<double>? TestTraceByEpoch { get; init; }

    public string Machine { get; init; } = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}";

    /// <summary>The machine's load average (1, 5, 15 minutes) when the run began and when it ended; "n/a" where unknown.</summary>
    public string LoadAtStart { get; init; } = LoadAverage();

    public string LoadAtEnd { get; init; } = LoadAverage();

    /// <summary>The three figures of <c>/proc/loadavg</c>, or "n/a".</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public DateTimeOffset MeasuredAt { get; init; } = DateTimeOffset.UtcNow;

    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Next-item evaluation, {Dataset}: {Users:N0} users, {Items:N0} items, {Interactions:N0} interactions; leave-one-out test, full ranking, seen items excluded, last 50 steps.");
        if (Source.Length > 0)
        {
            sb.AppendLine(c, $"Data: {Source}. Kept {Users:N0} of {UsersRead:N0} users, those with at least {NextItemBenchmark.MinSteps} steps (no item-frequency filter); the catalog is the items they touch.");
        }
        sb.AppendLine();
        sb.AppendLine("| model | HR@5 | NDCG@5 | HR@10 | NDCG@10 | HR@20 | NDCG@20 | coverage@10 | novelty@10 (bits) | training |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Results)
        {
            sb.AppendLine(c, $"| {r.Model} | {r.Hr5:.0000} | {r.Ndcg5:.0000} | {r.Hr10:.0000} | {r.Ndcg10:.0000} | {r.Hr20:.0000} | {r.Ndcg20:.0000} | {r.Coverage10:.0000} | {r.Novelty10:0.00} | {r.TrainingSeconds:0.0} s |");
        }
        if (Training is { } t && EpochsRun > 0)
        {
            sb.AppendLine();
            sb.AppendLine(c, $"Transformer: d {t.Dimension}, {t.Layers} layers, {t.Heads} head(s), max length {t.MaxLength}, dropout {t.Dropout}, batch {t.BatchSize}, lr {t.LearningRate}, " +
                $"{(t.UsesFullSoftmax(Items) ? "full softmax" : $"{t.SampledNegatives} sampled negatives")}, seed {t.Seed}; best epoch {BestEpoch} of {EpochsRun}, validation NDCG@10 {BestValidationNdcg10:.0000}, " +
                $"then {RefitEpochsRun} refit epoch(s) through the validation step.");
            sb.AppendLine(c, $"Validation NDCG@10 by epoch: {string.Join(" ", ValidationByEpoch.Select(v => v.ToString(".0000", c)))}.");
            if (TestTraceByEpoch is { Count: > 0 } trace)
                sb.AppendLine(c, $"Test NDCG@10 by epoch (trace only, chooses nothing): {string.Join(" ", trace.Select(v => v.ToString(".0000", c)))}.");
        }
        sb.AppendLine(c, $"Machine: {Machine}; load average {LoadAtStart} at the start, {LoadAtEnd} at the end.");
        return sb.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(this, SequenceModelManifest.Json);
}

/// <summary>
/// The harness behind <c>persona evaluate --task next-item</c>: reads the data set into events and items, builds the
/// <see cref="SequenceDataset"/> with the same code <c>persona train</c> uses on a store, trains the transformer with
/// <see cref="SequenceTrainer"/>, and measures it with popularity and item co-occurrence on the test split.
/// </summary>
public static class NextItemBenchmark
{
    /// <summary>Fewest steps a user needs under leave-one-out: one to learn from, a validation step and a test step.</summary>
    public const int MinSteps = 3;

    /// <summary>Reads the data set named <paramref name="name"/> (see <see cref="NextItemSources"/>) and prepares it with <see cref="Prepare"/>.</summary>
    public static async Task<(SequenceDataset Data, NextItemData Read, int UsersRead)> LoadAsync(string name, string path, CancellationToken cancellationToken = default)
    {
        var read = await NextItemSources.For(name).ReadAsync(path, cancellationToken).ConfigureAwait(false);
        var (data, usersRead) = Prepare(read);
        return (data, read, usersRead);
    }

    /// <summary>
    /// Builds the sequences and keeps the users with at least <see cref="MinSteps"/> steps, and as the catalog the items
    /// those users touch (so full ranking is over the data set's items, not over items only dropped users saw). No item
    /// frequency filter: the published files are already filtered (Amazon 5-core; session-rec's rsc15 drops items with
    /// fewer than 5 clicks), and on a short log such as the Taobao two-hour slice a 5-core filter leaves almost nothing.
    /// </summary>
    public static (SequenceDataset Data, int UsersRead) Prepare(NextItemData read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var all = SequenceDataset.Build(read.Events, [], read.Options);
        var kept = all.Users.Where(u => u.Length >= MinSteps).ToList();
        var users = kept.Select(u => u.UserId).ToHashSet(StringComparer.Ordinal);
        var items = kept.SelectMany(u => u.Items).Distinct().Select(all.Vocabulary.ItemId).ToHashSet(StringComparer.Ordinal);
        var data = SequenceDataset.Build(read.Events.Where(e => users.Contains(e.UserId)), read.Items.Where(i => items.Contains(i.Id)).ToList(), read.Options);
        return (data, all.Users.Count);
    }

    public static async Task<(NextItemReport Report, SequenceTrainingResult? Training)> RunAsync(
        string name, string path, SequenceTrainingOptions options, bool trainModel = true,
        IProgress<SequenceTrainingProgress>? progress = null, Action<string>? loaded = null, CancellationToken cancellationToken = default)
    {
        var (data, read, usersRead) = await LoadAsync(name, path, cancellationToken).ConfigureAwait(false);
        loaded?.Invoke($"{read.Source}; {data.Users.Count:N0} of {usersRead:N0} users with at least {MinSteps} steps, {data.ItemCount:N0} items, {data.StepCount:N0} interactions");
        var (report, training) = Run(name, data, options, trainModel, progress, cancellationToken: cancellationToken);
        return (report with { Source = read.Source, UsersRead = usersRead }, training);
    }

    /// <summary>
    /// Runs the table on a built data set. With <paramref name="trained"/> the model is measured as given instead of
    /// trained (its vocabulary must be the data set's); <paramref name="traceTest"/> records test NDCG@10 per epoch.
    /// </summary>
    public static (NextItemReport Report, SequenceTrainingResult? Training) Run(
        string name, SequenceDataset data, SequenceTrainingOptions options, bool trainModel = true,
        IProgress<SequenceTrainingProgress>? progress = null, SequenceModel? trained = null, bool traceTest = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var loadAtStart = NextItemReport.LoadAverage();
        var counts = PopularityScorer.FitCounts(data);
        var results = new List<NextItemResult>();
        var clock = Stopwatch.StartNew();
        var popularity = new PopularityScorer(data);
        var popularitySeconds = clock.Elapsed.TotalSeconds;
        results.Add(NextItemResult.From(popularity.Name, NextItemEvaluator.Evaluate(data, popularity, NextItemSplit.Test), counts, popularitySeconds));
        clock.Restart();
        var cooccurrence = new CooccurrenceScorer(data);
        var cooccurrenceSeconds = clock.Elapsed.TotalSeconds;
        results.Add(NextItemResult.From(cooccurrence.Name, NextItemEvaluator.Evaluate(data, cooccurrence, NextItemSplit.Test), counts, cooccurrenceSeconds));
        SequenceTrainingResult? training = null;
        if (trained is not null)
        {
            var metrics = NextItemEvaluator.Evaluate(data, new SequenceModelScorer(trained), NextItemSplit.Test);
            results.Add(NextItemResult.From("sequence transformer", metrics, counts, trained.Manifest?.Metrics.GetValueOrDefault("training_seconds") ?? 0));
        }
        else if (trainModel)
        {
            Func<SequenceNetwork, double>? trace = traceTest
                ? network => NextItemEvaluator.Evaluate(data, new SequenceModelScorer(new SequenceModel(network, data.Vocabulary, "trace")), NextItemSplit.Test).Ndcg(10)
                : null;
            training = SequenceTrainer.Train(data, options, trace, progress, cancellationToken: cancellationToken);
            var metrics = NextItemEvaluator.Evaluate(data, new SequenceModelScorer(training.Model), NextItemSplit.Test);
            results.Add(NextItemResult.From("sequence transformer", metrics, counts, training.Elapsed.TotalSeconds));
        }
        var report = new NextItemReport
        {
            Dataset = name,
            Users = data.Users.Count,
            Items = data.ItemCount,
            Interactions = data.StepCount,
            Results = results,
            Training = trainModel ? options : null,
            BestEpoch = training?.BestEpoch ?? 0,
            EpochsRun = training?.EpochsRun ?? 0,
            BestValidationNdcg10 = training?.BestValidationNdcg10 ?? 0,
            ValidationByEpoch = training?.ValidationByEpoch ?? [],
            TestTraceByEpoch = traceTest ? training?.DiagnosticByEpoch : null,
            LoadAtStart = loadAtStart,
            RefitEpochsRun = training?.RefitEpochsRun ?? 0,
        };
        return (report, training);
    }
}
