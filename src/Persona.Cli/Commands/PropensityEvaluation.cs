using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Features;
using Persona.Core.Import;
using Persona.Core.Ingestion;
using Persona.Core.Models.Propensity;
using Persona.Core.Models.Segments;
using Persona.Core.Profiles;
using Persona.Hosting;

namespace Persona.Cli.Commands;

/// <summary>The <c>propensity</c> and <c>segments</c> tasks of <c>persona evaluate</c>.</summary>
internal static class PropensityEvaluation
{
    /// <summary>Time split over a store: test cut = newest event − N, train cut = test cut − N.</summary>
    public static async Task<PropensityReport?> FromStoreAsync(DirectoryInfo dir, double horizonDays, int seed, CancellationToken cancellationToken)
    {
        await using var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken);
        if (engine is null) return null;
        var horizon = TimeSpan.FromDays(horizonDays);
        var end = engine.AsOf;
        var builder = new TimeSplitBuilder(engine.Catalog, engine.Options.Profiles, [end - 2 * horizon, end - horizon], horizon);
        await foreach (var e in engine.Store.ReadEventsAsync(0, cancellationToken)) builder.Add(e);
        var splits = builder.Build();
        IReadOnlyList<GroundTruth>? truths = null;
        var truthFile = Path.Combine(dir.FullName, DemoCommand.TruthFileName);
        if (File.Exists(truthFile))
            truths = DemoGroundTruth.For(await DemoTruthFile.ReadAsync(truthFile, cancellationToken), splits[1].Cut, end);
        var report = PropensityEvaluator.Evaluate(dir.Name, splits[0], splits[1], UserFeatureSchema.For(splits[0].Profiles),
            new PropensityOptions { Seed = seed }, truths);
        // Stored beside the profile evaluation: the dashboard's Models page shows these test-window figures.
        await engine.Store.PutDocumentAsync(ReportKind, ReportKey, report.ToJson(), cancellationToken);
        return report;
    }

    /// <summary>Where the store-based propensity evaluation is kept (document kind and key).</summary>
    public const string ReportKind = "evaluation";
    public const string ReportKey = "propensity";

    /// <summary>
    /// Time split over the Taobao UserBehavior sample without a store: its events span about two hours, so
    /// the horizon defaults to a third of the span (two windows of labels after a history third).
    /// </summary>
    public static async Task<PropensityReport> FromTaobaoAsync(string path, double? horizonDays, int seed, CancellationToken cancellationToken)
    {
        var reader = new TaobaoUserBehaviorReader(path);
        var items = new List<Item>();
        await foreach (var r in reader.ReadItemsAsync(null, cancellationToken))
            if (r.Record is { } record) items.Add(record.Value);
        var catalog = CatalogSnapshot.Create(items);
        var events = new List<StoredEvent>();
        var now = DateTimeOffset.UtcNow;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var r in reader.ReadEventsAsync(null, cancellationToken))
            if (r.Record is { } record && ids.Add(record.Value.Id!)) events.Add(EventNormalizer.Normalize(record.Value, now) with { Sequence = events.Count + 1 });
        if (events.Count == 0) throw new InvalidDataException($"No events in '{path}'.");
        var start = events.Min(e => e.Timestamp);
        var end = events.Max(e => e.Timestamp).AddSeconds(1);
        var horizon = horizonDays is { } h ? TimeSpan.FromDays(h) : (end - start) / 3;
        var builder = new TimeSplitBuilder(catalog, new ProfileOptions(), [end - 2 * horizon, end - horizon], horizon);
        foreach (var e in events) builder.Add(e);
        var splits = builder.Build();
        var note = $"The sample spans {(end - start).TotalHours:0.0} hours ({start:u} to {end:u}), {events.Count:N0} events: " +
            $"the windows are {horizon.TotalMinutes:0} minutes, so 'churn' means no event in the next {horizon.TotalMinutes:0} minutes and " +
            "purchase rates are tiny. This measures short-term intent, not the N-day propensities the product predicts. " +
            "Categories are Taobao's numeric category ids (no tree), so per-category tasks are left out when too rare.";
        return PropensityEvaluator.Evaluate("taobao-userbehavior", splits[0], splits[1], UserFeatureSchema.For(splits[0].Profiles),
            new PropensityOptions { Seed = seed }, note: note);
    }

    /// <summary>Segments the store's profiles twice with one seed, and reports sizes, labels and whether the runs agree.</summary>
    public static async Task<string?> SegmentsAsync(DirectoryInfo dir, int seed, int k, CancellationToken cancellationToken)
    {
        await using var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken);
        if (engine is null) return null;
        var profiles = engine.ProfileUsers.Select(engine.GetProfile).Where(r => r.Status == ProfileStatus.Found).Select(r => r.Profile!).ToList();
        var options = new SegmentOptions { Seed = seed, K = k };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var first = new SegmentBuilder(options).Build(profiles, engine.Catalog, engine.AsOf);
        var seconds = watch.Elapsed.TotalSeconds;
        var second = new SegmentBuilder(options).Build(profiles, engine.Catalog, engine.AsOf);
        var same = first.Members.All(m => second.Members[m.Key] == m.Value);
        return SegmentsCommand.Describe(first) +
            $"\nSegmented {profiles.Count} users in {seconds:0.00} s; a second run with seed {seed} gave {(same ? "identical" : "DIFFERENT")} memberships and labels.\n";
    }
}
