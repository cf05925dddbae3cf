using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core;
using Persona.Core.Features;
using Persona.Core.Models;
using Persona.Core.Models.Propensity;
using Persona.Core.Models.Segments;

namespace Persona.Hosting;

/// <summary>The chosen learner and validation scores of one trained task.</summary>
public sealed record TaskSummary(string Task, string Learner, int Rows, int Positives, IReadOnlyList<LearnerScore> Scores);

/// <summary>What a refresh did and how long each part took.</summary>
public sealed record RefreshSummary
{
    public required DateTimeOffset AsOf { get; init; }
    public required int Users { get; init; }
    public string? PredictionModel { get; init; }
    public string? SegmentModel { get; init; }
    public IReadOnlyList<TaskSummary> Tasks { get; init; } = [];
    /// <summary>The share of shoppers (with a profile state) replayed into the training split (1: everyone; see <see cref="PersonaModelOptions.MaxTrainingUsers"/>).</summary>
    public double TrainingShare { get; init; } = 1;
    /// <summary>Reading events and rebuilding the training profiles (as of now − horizon).</summary>
    public double SplitSeconds { get; init; }
    public double TrainSeconds { get; init; }
    /// <summary>Building every current profile (a page at a time) and predicting for it.</summary>
    public double PredictSeconds { get; init; }
    public double SegmentSeconds { get; init; }
    public double TotalSeconds { get; init; }
    /// <summary>
    /// Why predictions or segments were skipped, when they were. When nothing could be trained the previous predictions
    /// stay in service; <see cref="PredictionModel"/> and <see cref="Tasks"/> then describe them.
    /// </summary>
    public string? Skipped { get; init; }
}

/// <summary>
/// Keeps the latest predictions and segments in memory, merges them into every profile the engine serves
/// (<see cref="IProfileEnricher"/>), refreshes them on demand (<see cref="RefreshAsync"/>; the hosted service
/// calls it on a schedule), and persists them as store documents (kind <c>models</c>) so a restart serves
/// them at once. One refresh runs at a time.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification =
    "The refresh gate never allocates a wait handle; disposing it at shutdown would fail a refresh still in flight.")]
public sealed class PersonaModels : IProfileEnricher, IUserDataOwner
{
    public const string DocumentKind = "models";
    /// <summary>Before schema v7 every shopper's predictions were one JSON document; read once and moved to rows.</summary>
    private const string LegacyPredictionsKey = "predictions";
    /// <summary>The segmentation without members (before v7: with every member and map point).</summary>
    private const string SegmentsKey = "segments";
    private const string SummaryKey = "summary";
    /// <summary>The <see cref="ShopperResultsHeader"/> the per-shopper rows refer to.</summary>
    private const string ResultsKey = "results";

    private readonly PersonaEngine _engine;
    private readonly PersonaModelOptions _options;
    private readonly ILogger<PersonaModels> _logger;
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private volatile State _state = State.Empty;

    public PersonaModels(PersonaEngine engine, IOptions<PersonaModelOptions> options, ILogger<PersonaModels>? logger = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _options = options.Value;
        _logger = logger ?? NullLogger<PersonaModels>.Instance;
        _engine.AddProfileEnricher(this);
        _engine.AddUserDataOwner(this);
    }

    public PersonaModelOptions Options => _options;
    public PersonaEngine Engine => _engine;
    public SegmentModel? Segments => _state.Results.Segments;
    public RefreshSummary? LastRefresh => _state.Summary;
    public bool HasResults => _state.Results.HasPredictions || _state.Results.Segments is not null;

    /// <summary>Every shopper's results of the last refresh, as held (for the state status and tests).</summary>
    public ShopperResults Results => _state.Results;

    public Profile Enrich(Profile profile)
    {
        var results = _state.Results;
        var predictions = results.PredictionsOf(profile.UserId);
        var segment = results.MembershipOf(profile.UserId);
        if (predictions is null && segment is null) return profile;
        // Next categories come from the sequence model's enricher, which may have run first: keep them.
        if (predictions is not null && profile.Predictions is { NextCategories.Count: > 0 } earlier)
            predictions = predictions with { NextCategories = earlier.NextCategories };
        return profile with { Predictions = predictions ?? profile.Predictions, Segment = segment ?? profile.Segment };
    }

    /// <summary>
    /// Loads the results of the last refresh from the store; false when there are none. Results stored before schema v7
    /// (two JSON documents holding every shopper) are read once and written back as rows.
    /// </summary>
    public async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        var store = _engine.Store;
        var headerJson = await store.GetDocumentAsync(DocumentKind, ResultsKey, cancellationToken);
        var segmentsJson = await store.GetDocumentAsync(DocumentKind, SegmentsKey, cancellationToken);
        var summaryJson = await store.GetDocumentAsync(DocumentKind, SummaryKey, cancellationToken);
        var summary = summaryJson is null ? null : JsonSerializer.Deserialize<RefreshSummary>(summaryJson, PersonaJson.Options);
        var segments = segmentsJson is null ? null : JsonSerializer.Deserialize<SegmentModel>(segmentsJson, PersonaJson.Options);
        if (headerJson is not null)
        {
            var header = JsonSerializer.Deserialize<ShopperResultsHeader>(headerJson, PersonaJson.Options)!;
            if (header.Format != ShopperResultsHeader.CurrentFormat)
            {
                _logger.LogWarning("The stored refresh results have format {Format}, not {Current}: none are served until the next refresh.", header.Format, ShopperResultsHeader.CurrentFormat);
                return false;
            }
            var loader = new ShopperResults.Loader(header, segments);
            await foreach (var record in store.ReadShopperResultsAsync(cancellationToken)) loader.Add(record);
            if (loader.Skipped > 0)
                _logger.LogWarning("{Skipped} stored refresh results could not be read (damaged or of another format): those shoppers have none until the next refresh.", loader.Skipped);
            _state = new State(loader.Complete(), summary);
            return true;
        }

        var legacyJson = await store.GetDocumentAsync(DocumentKind, LegacyPredictionsKey, cancellationToken);
        if (legacyJson is null && segments is null) return false;
        var legacy = legacyJson is null ? [] : JsonSerializer.Deserialize<Dictionary<string, Predictions>>(legacyJson, PersonaJson.Options) ?? [];
        var builder = new ShopperResults.Builder();
        foreach (var (user, p) in legacy.OrderBy(kv => kv.Key, StringComparer.Ordinal)) builder.AddPredictions(user, p);
        var first = legacy.Values.FirstOrDefault();
        var results = builder.Build(first?.ModelVersion ?? summary?.PredictionModel, first?.ComputedAt ?? summary?.AsOf ?? default, segments);
        await _engine.ExclusiveOfErasureAsync(() => WriteAsync(results, summary, cancellationToken), cancellationToken);
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Moved the stored refresh results of {Users} shoppers from two documents to one row each", results.Count);
        return true;
    }

    /// <summary>Stores <paramref name="results"/> (one row per shopper, less any erased since they were made) and serves them.</summary>
    private async Task WriteAsync(ShopperResults results, RefreshSummary? summary, CancellationToken cancellationToken)
    {
        foreach (var erased in _erased.Keys) results.Remove(erased);
        List<DocumentUpdate> documents =
        [
            new(DocumentKind, ResultsKey, JsonSerializer.Serialize(results.Header, PersonaJson.Options)),
            new(DocumentKind, SegmentsKey, results.SegmentsHeader is { } header ? JsonSerializer.Serialize(header, PersonaJson.Options) : null),
            new(DocumentKind, SummaryKey, summary is null ? null : JsonSerializer.Serialize(summary, PersonaJson.Options)),
            new(DocumentKind, LegacyPredictionsKey, null),
        ];
        await _engine.Store.ReplaceShopperResultsAsync(results.ToRecords(), documents, cancellationToken);
        _state = new State(results, summary);
    }

    /// <summary>
    /// Trains the propensity models on the last <see cref="PersonaModelOptions.HorizonDays"/> (profiles as of
    /// now − N, outcomes in [now − N, now)), predicts the next N days for every current profile, segments the
    /// current profiles, swaps the results in and stores them.
    /// </summary>
    public async Task<RefreshSummary> RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshGate.WaitAsync(cancellationToken);
        try
        {
            using var running = _engine.Background.Begin("refreshing predictions and segments");
            var total = Stopwatch.StartNew();
            var asOf = _engine.AsOf;
            var horizon = TimeSpan.FromDays(_options.HorizonDays);
            var catalog = _engine.Catalog;
            // Profiles are built a page at a time below and only what predictions and segments need is kept: at a
            // million shoppers their full profiles would not fit beside the engine.
            var users = _engine.ProfileUsers.Order(StringComparer.Ordinal).ToArray();
            RefreshSummary TooFew(int count) => new() { AsOf = asOf, Users = count, Skipped = $"Fewer than {_options.MinUsersToTrain} users with events." };
            // Checked before the log is read, and again once the profiles show who has counted events.
            if (users.Length < _options.MinUsersToTrain) return TooFew(users.Length);

            var watch = Stopwatch.StartNew();
            var split = new TimeSplitBuilder(catalog, _engine.Options.Profiles, [asOf - horizon], horizon);
            var share = Math.Min(1.0, (double)_options.MaxTrainingUsers / users.Length);
            var sampleBelow = (ulong)(share * uint.MaxValue);
            // The newest event is at asOf; one tick later makes it part of the scoring window.
            var now = new RecentActivityCollector(asOf.AddTicks(1));
            var cut = asOf - horizon;
            var outcomeEvents = 0L;
            await foreach (var e in _engine.Store.ReadEventsAsync(0, cancellationToken))
            {
                if (share >= 1 || (uint)StableHash.Of(e.UserId) <= sampleBelow) split.Add(e);
                now.Add(e);
                if (e.ExcludedReason is null && e.Timestamp >= cut && e.Timestamp <= asOf) outcomeEvents++;
            }
            var train = split.Build()[0];
            var splitSeconds = watch.Elapsed.TotalSeconds;

            watch.Restart();
            var schema = UserFeatureSchema.For(train.Profiles);
            PropensityModel? model = null;
            string? skipped = null;
            if (train.Profiles.Count >= _options.MinUsersToTrain)
                model = await Task.Run(() => new PropensityTrainer(new PropensityOptions { Seed = _options.Seed }).Train(train, schema), cancellationToken);
            else
                skipped = $"Fewer than {_options.MinUsersToTrain} users before {cut:u}: no predictions trained.";
            var trainSeconds = watch.Elapsed.TotalSeconds;

            // Nothing trainable (e.g. no outcomes in the window): the previous predictions stay in service, and the
            // summary says why, rather than every profile losing its predictions.
            var previous = _state;
            var keepPrevious = model is null || model.Tasks.Count == 0;
            if (model is { Tasks.Count: 0 })
                skipped = $"No prediction task could be trained: {train.Profiles.Count} users before {cut:u}, {outcomeEvents} events in the outcome window [{cut:u}, {asOf:u}]; each task needs at least 20 users and both outcomes among them.";
            if (keepPrevious && previous.Results.HasPredictions)
                skipped += $" The previous predictions ({previous.Summary?.PredictionModel ?? "stored"}, as of {previous.Summary?.AsOf:u}) stay in service.";

            watch.Restart();
            var predictions = new ShopperResults.Builder();
            if (keepPrevious)
                foreach (var (user, p) in previous.Results.AllPredictions()) predictions.AddPredictions(user, p);
            var segmentInputs = new List<SegmentInput>(users.Length);
            var page = new Profile[ProfilePage];
            for (var start = 0; start < users.Length; start += ProfilePage)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = 0;
                for (var i = start; i < Math.Min(users.Length, start + ProfilePage); i++)
                {
                    var read = _engine.GetProfile(users[i]);
                    if (read.Status == ProfileStatus.Found && read.Profile!.EventCount > 0) page[count++] = read.Profile!;
                }
                if (!keepPrevious && model is not null)
                {
                    var computed = new Predictions[count];
                    Parallel.For(0, count, i => computed[i] = model.Predict(page[i], now.RecentOf(page[i].UserId), asOf));
                    for (var i = 0; i < count; i++) predictions.AddPredictions(page[i].UserId, computed[i]);
                }
                for (var i = 0; i < count; i++) segmentInputs.Add(SegmentInput.Of(page[i]));
                Array.Clear(page);
            }
            var predictSeconds = watch.Elapsed.TotalSeconds;
            if (segmentInputs.Count < _options.MinUsersToTrain) return TooFew(segmentInputs.Count);

            watch.Restart();
            var segmentOptions = new SegmentOptions { Seed = _options.Seed, K = _options.SegmentCount };
            var segments = await Task.Run(() => new SegmentBuilder(segmentOptions).Build(segmentInputs, catalog, asOf), cancellationToken);
            var segmentSeconds = watch.Elapsed.TotalSeconds;

            var summary = new RefreshSummary
            {
                AsOf = asOf,
                Users = segmentInputs.Count,
                TrainingShare = Math.Round(share, 6),
                PredictionModel = keepPrevious ? previous.Summary?.PredictionModel : model?.Version,
                SegmentModel = segments.Version,
                Tasks = keepPrevious ? previous.Summary?.Tasks ?? [] : [.. model!.Tasks.Select(t => new TaskSummary(t.Task.Name, t.Model.Learner, t.Rows, t.Positives, t.Scores))],
                SplitSeconds = Math.Round(splitSeconds, 3),
                TrainSeconds = Math.Round(trainSeconds, 3),
                PredictSeconds = Math.Round(predictSeconds, 3),
                SegmentSeconds = Math.Round(segmentSeconds, 3),
                TotalSeconds = Math.Round(total.Elapsed.TotalSeconds, 3),
                Skipped = skipped,
            };
            var results = predictions.Build(
                keepPrevious ? previous.Results.Header.PredictionModel : model!.Version,
                keepPrevious ? previous.Results.Header.PredictionsComputedAt : asOf,
                segments);
            segmentInputs.Clear();
            // A user erased while this refresh ran stays erased; an erasure that comes while it writes waits, then deletes the row.
            await _engine.ExclusiveOfErasureAsync(() => WriteAsync(results, summary, cancellationToken), cancellationToken);
            if (_logger.IsEnabled(LogLevel.Information))
                _logger.LogInformation("Refreshed predictions and {K} segments for {Users} users in {Seconds:0.0} s", segments.K, summary.Users, summary.TotalSeconds);
            return summary;
        }
        finally
        {
            _refreshGate.Release();
        }
    }


    /// <summary>Profiles built and held at once during a refresh.</summary>
    private const int ProfilePage = 4096;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _erased = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<IReadOnlyList<DocumentUpdate>> PrepareEraseAsync(string userId, CancellationToken cancellationToken)
    {
        // The store deletes the shopper's row itself; only the segment sizes in the segmentation's document move.
        if (_state.Results.SegmentsHeaderWithout(userId) is not { } recounted) return Task.FromResult<IReadOnlyList<DocumentUpdate>>([]);
        return Task.FromResult<IReadOnlyList<DocumentUpdate>>([new DocumentUpdate(DocumentKind, SegmentsKey, JsonSerializer.Serialize(recounted, PersonaJson.Options))]);
    }

    /// <inheritdoc />
    public string? Erase(string userId)
    {
        _erased[userId] = 0;
        var (hadPredictions, hadSegment) = _state.Results.Remove(userId);
        if (!hadPredictions && !hadSegment) return null;
        return string.Join(", ", new[] { hadPredictions ? "predictions" : null, hadSegment ? "segment membership and map point" : null }.OfType<string>());
    }

    private sealed record State(ShopperResults Results, RefreshSummary? Summary)
    {
        public static State Empty { get; } = new(ShopperResults.Empty, null);
    }
}
