using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Core.Profiles;
using Persona.Core.Ranking;
using Persona.Core.Retrieval;
using Persona.Core.State;

namespace Persona.Hosting.Recommendations;

/// <summary>Recommendations for one user, as the API returns them.</summary>
/// <param name="UserId">Who they are for.</param>
/// <param name="Personalized">False when nothing about the user was used (consent withdrawn, or nothing known): popular items.</param>
/// <param name="ModelVersion">The sequence model that scored the candidates, when one is in service.</param>
/// <param name="Items">Best first.</param>
public sealed record RecommendationList(string UserId, bool Personalized, string? ModelVersion, IReadOnlyList<Recommendation> Items)
{
    /// <summary>This answer's id, for impressions, clicks and purchases to point back to (docs/online-loop.md); set where it is served.</summary>
    public string? RequestId { get; init; }
    /// <summary>The experiment variant that answered (<c>experiment/variant</c>); null outside experiments.</summary>
    public string? Variant { get; init; }
}

/// <summary>Items like one item.</summary>
public sealed record SimilarItemsList(string ItemId, string? ModelVersion, IReadOnlyList<Recommendation> Items)
{
    /// <summary>This answer's id, for impressions, clicks and purchases to point back to; set where it is served.</summary>
    public string? RequestId { get; init; }
    /// <summary>The experiment variant that answered (<c>experiment/variant</c>); null outside experiments.</summary>
    public string? Variant { get; init; }
}

/// <summary>
/// The recommendation state and its entry points. Follows the engine (<see cref="IEngineObserver"/>): every stored
/// batch updates popularity before it is acknowledged, as the engine updates the shoppers' recent steps and the item
/// pairs ("next item" counts, <see cref="PersonaEngine.ItemPairs"/>), so a client's next request sees what it just posted. Keeps the current sequence model's item
/// vectors in a <see cref="VectorIndex"/>, rebuilt when <see cref="ISequenceModelProvider.Current"/> changes, and
/// adds the user embedding to profiles (<see cref="IProfileEnricher"/>).
/// </summary>
public sealed class RecommendationService : IStatePartObserver, IProfileEnricher
{
    private readonly PersonaEngine _engine;
    private readonly ISequenceModelProvider? _models;
    private readonly ILogger _logger;
    private readonly ItemCatalog _catalog = new(ShopperSteps.Items);
    // Popularity is an aggregate over all users; rebuilt from the store (and swapped) after an erasure.
    private volatile Aggregates _aggregates;
    private List<StoredEvent>? _rebuildPending;
    private readonly Lock _loadLock = new();
    private readonly Lock _modelLock = new();
    private List<StoredEvent>? _pendingEvents = [];
    private List<Item>? _pendingItems = [];
    private volatile ModelView? _view;
    private ISequenceModel? _building;
    private List<Item>? _upsertsDuringBuild;
    private readonly AnswerCache<RecommendationList> _cache;
    // Each user's attribute groups (age band, gender, region): popularity is also counted within them.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<UserSegment>> _segments = new(StringComparer.Ordinal);
    // Moves when something every answer depends on changes: the model in service, or an item going off sale.
    private long _epoch;
    private const string AnonymousCacheUser = "";

    public RecommendationService(PersonaEngine engine, IOptions<RecommendationOptions> options, ISequenceModelProvider? models = null, ILogger<RecommendationService>? logger = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        Options = options?.Value ?? throw new ArgumentNullException(nameof(options));
        var problems = Options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        _models = models;
        _logger = logger ?? NullLogger<RecommendationService>.Instance;
        // Registers the item pairs with the engine (before this observer, so an erasure recounts them first).
        _ = _engine.ItemPairs;
        _aggregates = NewAggregates();
        _cache = new AnswerCache<RecommendationList>(TimeSpan.FromSeconds(Options.CacheSeconds), Options.CacheUsers);
        _engine.AddObserver(this);
        _engine.AddProfileEnricher(this);
    }

    public RecommendationOptions Options { get; }

    /// <summary>Where similar items find text neighbours (the search index in service); asked per request, null: none.</summary>
    public Func<IItemTextNeighbours?>? TextNeighbours { get; init; }

    /// <summary>True once <see cref="LoadAsync"/> has run.</summary>
    public bool IsLoaded { get; private set; }

    /// <summary>Users with at least one cached answer (an upper bound while generations overlap).</summary>
    public int CachedUsers => _cache.Count;

    /// <summary>Items known to recommendations.</summary>
    public int CatalogCount => _catalog.Count;

    /// <summary>
    /// Gets ready to serve: builds the model's item index and warms the active users' lists. When the engine's start
    /// pass did not feed this state (the service was created after the engine started), first reads the catalog and
    /// every stored event; batches stored meanwhile are held and applied afterwards, skipping those the read saw.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (!_fedByStart)
        {
            await ReadLogAsync(cancellationToken);
            await _engine.LoadItemPairsAsync(cancellationToken);
        }
        if (_models?.Current is { } model) BuildIndex(model);
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Recommendations hold {Items} items", _catalog.Count);
        StartWarming();
    }

    /// <summary>Without the engine's start pass (created after the engine started): reads the catalog, users and whole log itself.</summary>
    private async Task ReadLogAsync(CancellationToken cancellationToken)
    {
        var items = new List<Item>();
        await foreach (var item in _engine.Store.ReadItemsAsync(cancellationToken)) items.Add(item);
        _catalog.Upsert(items);
        // Before the events, so their popularity is counted within each user's groups too.
        await foreach (var user in _engine.Store.ReadUsersAsync(cancellationToken)) RememberSegments(user);

        // Streamed in store order.
        var applied = 0L;
        var aggregates = _aggregates;
        var lastSequence = await _engine.ReadLogInPagesAsync(page =>
        {
            ApplyAggregates(page, aggregates);
            applied += page.Count;
        }, cancellationToken);

        lock (_loadLock)
        {
            _catalog.Upsert(_pendingItems!);
            ApplyAggregates(_pendingEvents!.Where(e => e.Sequence > lastSequence).ToList(), aggregates);
            _pendingItems = null;
            _pendingEvents = null;
            IsLoaded = true;
        }
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Recommendations read {Events} item events from the log", applied);
    }

    // Set when the engine's start pass fed this state (restored part plus the log after it), so LoadAsync reads no log.
    private volatile bool _fedByStart;

    /// <summary>
    /// Format of the stored part: popularity (format 1 also held every shopper's recent steps, now in the shopper state;
    /// format 2 the co-occurrence counts, now the engine's item pairs).
    /// </summary>
    private const byte PartFormat = 3;

    public string PartName => "recommendations";

    public string PartFingerprint => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"recommendations/{PartFormat}/halflife={Options.PopularityHalfLifeDays:R}");

    public void PrepareStart(IReadOnlyList<Item> items, IReadOnlyList<User> users)
    {
        _catalog.Upsert(items);
        // Before the events, so their popularity is counted within each user's groups too.
        foreach (var user in users) RememberSegments(user);
    }

    public bool TryRestore(byte[] data)
    {
        if (StateReader.Open(data, PartFormat) is not { } reader) return false;
        try
        {
            var aggregates = NewAggregates();
            aggregates.Popularity.ReadFrom(reader);
            if (!reader.AtEnd) return false;
            _aggregates = aggregates;
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    public void ReplayStored(IReadOnlyList<StoredEvent> events) => ApplyAggregates(events, _aggregates);

    public void CompleteStart()
    {
        lock (_loadLock)
        {
            _catalog.Upsert(_pendingItems ?? []);
            _pendingItems = null;
            _pendingEvents = null;
            IsLoaded = true;
            _fedByStart = true;
        }
    }

    public byte[] Encode()
    {
        var writer = new StateWriter();
        _aggregates.Popularity.WriteTo(writer);
        return writer.ToArray(PartFormat);
    }

    /// <summary>The background run of <see cref="RecommendationOptions.WarmUsers"/>; completed when none is running.</summary>
    public Task Warming { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Computes the default list of the most recently active users in the background (one thread, so requests keep
    /// being served); a newer run (a new model) supersedes a running one.
    /// </summary>
    private void StartWarming()
    {
        if (Options.WarmUsers == 0 || !_cache.Enabled) return;
        var run = Interlocked.Increment(ref _warmRun);
        var query = new RecommendationQuery { Count = Options.DefaultN };
        Warming = BackgroundWarmup.Start("the recommendations", () => _engine.MostRecentShoppers(Options.WarmUsers),
            user => Recommend(user, query), () => Volatile.Read(ref _warmRun) != run, _logger, _engine.Background);
    }

    private int _warmRun;

    /// <summary>
    /// Recommendations for a user; a user who withdrew personalisation consent gets popular items, marked as such.
    /// Answers are cached per user and query for at most <see cref="RecommendationOptions.CacheSeconds"/>, and only
    /// until the user's own behaviour or the model changes or an item goes off sale; consent is checked on every request.
    /// </summary>
    public RecommendationList Recommend(string userId, RecommendationQuery query)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(query);
        // A model that came into service moves the epoch once its index is built (now when none serves yet).
        if (_models?.Current is { } model && !ReferenceEquals(_view?.Model, model)) CurrentView();
        var allowed = _engine.PersonalizationAllowed(userId);
        var cacheUser = allowed ? userId : AnonymousCacheUser;
        var stamp = Stamp(cacheUser);
        var queryKey = CacheKey(query);
        if (_cache.TryGet(cacheUser, queryKey, stamp, out var cached))
            return allowed ? cached : cached with { UserId = userId };
        var list = Compute(userId, query);
        // Stored only when nothing moved while it was computed, so an erased user's answer cannot slip back in.
        if (list.Personalized == allowed && Stamp(cacheUser) == stamp) _cache.Set(cacheUser, queryKey, stamp, list);
        return list;
    }

    /// <summary>What a cached answer for <paramref name="cacheUser"/> depends on besides time (the anonymous answer: only the epoch).</summary>
    private CacheStamp Stamp(string cacheUser) =>
        new(Volatile.Read(ref _epoch), cacheUser.Length == 0 ? 0 : _engine.ShopperChange(cacheUser));

    private static string CacheKey(RecommendationQuery query)
    {
        var exclude = query.Exclude.Count == 0 ? "" : string.Join('\u001f', query.Exclude.Order(StringComparer.Ordinal));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{query.Count}\u001e{query.Category}\u001e{query.ExcludeSeen}\u001e{query.Diversity:R}\u001e{query.CollapseVariants}\u001e{query.Weights?.Key}\u001e{query.Personalize}\u001e{query.ModelVersion}\u001e{exclude}");
    }

    private RecommendationList Compute(string userId, RecommendationQuery query)
    {
        // Only the affinities are read; the model outputs the enrichers add are not needed (the user is encoded below).
        var (read, recent, seen) = _engine.GetProfileWithSteps(userId, enrich: false, maxSteps: int.MaxValue, withSeen: query.ExcludeSeen);

        UserContext user;
        if (read.Status == ProfileStatus.ConsentWithdrawn || !query.Personalize)
        {
            user = UserContext.Anonymous(userId);
        }
        else
        {
            var affinities = read.Profile?.Affinities;
            var segments = _segments.TryGetValue(userId, out var s) ? s : [];
            var known = recent.Length > 0 || affinities is { Categories.Count: > 0 } or { Brands.Count: > 0 } || segments.Count > 0;
            user = new UserContext(userId, recent, seen, affinities, known) { Segments = segments };
        }
        var view = user.Personalized ? ViewFor(query.ModelVersion) : null;
        var items = _aggregates.Recommender.Recommend(user, query, view);
        return new RecommendationList(userId, user.Personalized, view?.Model.Version, items);
    }

    /// <summary>Items like <paramref name="itemId"/>; null when the item is not in the catalog.</summary>
    public SimilarItemsList? Similar(string itemId, int count, bool? collapseVariants = null, SourceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        if (!_catalog.TryGet(itemId, out var entry)) return null;
        var view = CurrentView();
        return new SimilarItemsList(itemId, view?.Model.Version, _aggregates.Recommender.Similar(entry.Item, count, view, collapseVariants, TextNeighbours?.Invoke(), weights));
    }

    public Profile Enrich(Profile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (CurrentView() is not { } view) return profile;
        var steps = Steps(profile.UserId);
        if (steps.Count == 0 || view.Model.EncodeUser(steps) is not { } vector) return profile;
        var predictions = (profile.Predictions ?? new Predictions { ModelVersion = view.Model.Version, ComputedAt = profile.AsOf })
            with { NextCategories = NextCategories(view, vector) };
        return profile with { Embedding = vector, EmbeddingModelVersion = view.Model.Version, Predictions = predictions };
    }

    /// <summary>
    /// The categories the model expects next: a softmax over the scores of the best <see cref="NextCategoryItems"/>
    /// items, summed per leaf category path, the top three.
    /// </summary>
    private List<ScoredKey> NextCategories(ModelView view, float[] user)
    {
        var top = view.Index.Search(user, NextCategoryItems);
        if (top.Length == 0) return [];
        var max = top.Max(t => t.Score);
        var byCategory = new Dictionary<string, double>(StringComparer.Ordinal);
        var total = 0.0;
        foreach (var scored in top)
        {
            if (!_catalog.TryGet(scored.Id, out var entry) || entry.Item.CategoryPath.Count == 0) continue;
            var weight = Math.Exp(scored.Score - max);
            total += weight;
            var key = CategoryPaths.Key(entry.Item.CategoryPath, entry.Item.CategoryPath.Count);
            byCategory[key] = byCategory.GetValueOrDefault(key) + weight;
        }
        return [.. byCategory.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(3)
            .Select(c => new ScoredKey(c.Key, Math.Round(c.Value / total, 4)))];
    }

    private const int NextCategoryItems = 100;

    /// <summary>
    /// Drops the user's attribute groups and cached answers (their recent steps go with their shopper state).
    /// <see cref="BeginRecountAsync"/> then rebuilds popularity (the engine recounts the item pairs).
    /// </summary>
    public string? OnUserErased(string userId)
    {
        var groups = _segments.TryRemove(userId, out _);
        var cached = _cache.Remove(userId);
        if (!groups && cached == 0) return null;
        return groups ? $"recommendations: attribute groups, {cached} cached answers" : $"recommendations: {cached} cached answers";
    }

    /// <summary>
    /// Fresh popularity (overall and per attribute group) for the engine to count from the store, which no longer holds
    /// the user's events: swapped in when complete, it equals counts made from scratch without the user, as after a
    /// restart. Batches stored meanwhile go to both the old counts (still serving) and the new ones. O(events in the
    /// store); erasures are rare.
    /// </summary>
    public ValueTask<IErasureRecount?> BeginRecountAsync(string userId, CancellationToken cancellationToken)
    {
        if (!IsLoaded) return ValueTask.FromResult<IErasureRecount?>(null);
        lock (_loadLock) _rebuildPending = [];
        return ValueTask.FromResult<IErasureRecount?>(new PopularityRecount(this, NewAggregates()));
    }

    private sealed class PopularityRecount(RecommendationService service, Aggregates fresh) : IErasureRecount
    {
        public void Apply(IReadOnlyList<StoredEvent> page) => service.ApplyAggregates(page, fresh);

        public string Complete(long lastSequence)
        {
            lock (service._loadLock)
            {
                service.ApplyAggregates(service._rebuildPending!.Where(e => e.Sequence > lastSequence).ToList(), fresh);
                service._aggregates = fresh;
                service._rebuildPending = null;
            }
            // Cached lists were ranked with the user's share in the counts (the item pairs were recounted just before).
            Interlocked.Increment(ref service._epoch);
            return "recommendations: popularity recounted";
        }

        public void Abandon()
        {
            lock (service._loadLock) service._rebuildPending = null;
        }
    }

    /// <summary>The item pairs recommendations read (the engine's; for tests and diagnostics).</summary>
    public ItemPairs ItemPairs => _engine.ItemPairs;

    /// <summary>The current popularity (for tests and diagnostics).</summary>
    public PopularityIndex Popularity => _aggregates.Popularity;

    public void OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        Aggregates aggregates;
        lock (_loadLock)
        {
            if (_pendingEvents is not null)
            {
                _pendingEvents.AddRange(events);
                return;
            }
            _rebuildPending?.AddRange(events);
            aggregates = _aggregates;
        }
        try
        {
            ApplyAggregates(events, aggregates);
        }
        catch (Exception ex)
        {
            // Observers must not fail the write path; a restart rebuilds this state from the store.
            _logger.LogError(ex, "Applying {Count} events to the recommendation state failed", events.Count);
        }
    }

    public void OnItemsUpserted(IReadOnlyList<Item> items)
    {
        lock (_loadLock)
        {
            if (_pendingItems is not null) _pendingItems.AddRange(items);
            else _catalog.Upsert(items);
        }
        // An item taken off sale must leave every cached list at once; new items and changed details reach cached
        // lists within CacheSeconds.
        if (items.Any(i => !i.Available)) Interlocked.Increment(ref _epoch);
        lock (_modelLock)
        {
            _upsertsDuringBuild?.AddRange(items);
            if (_view is { } view) IndexItems(view, items);
            foreach (var pinned in _pinned.Values) IndexItems(pinned, items);
        }
    }

    public void OnUsersUpserted(IReadOnlyList<User> users)
    {
        foreach (var user in users)
        {
            RememberSegments(user);
            // The user's groups shape their list: answers cached under the old ones go.
            _cache.Remove(user.Id);
        }
    }

    private void RememberSegments(User user)
    {
        var segments = UserSegments.Of(user);
        if (segments.Count > 0) _segments[user.Id] = segments;
        else _segments.TryRemove(user.Id, out _);
    }

    // The events recommendations count are the shopper's item steps.
    private static bool Counts(StoredEvent e) => ShopperSteps.IsStep(e);

    /// <summary>How much one event says about an item's appeal, for popularity.</summary>
    private static double Weight(EventType type) => type switch
    {
        EventType.Purchase => 3,
        EventType.AddToCart or EventType.Favorite or EventType.Rate or EventType.Review => 2,
        _ => 1,
    };


    private Aggregates NewAggregates()
    {
        var popularity = new PopularityIndex(Options.PopularityHalfLifeDays, TimeSpan.FromMilliseconds(Options.PopularityRefreshMilliseconds), ShopperSteps.Items);
        return new Aggregates(popularity, new Recommender(Options, _catalog, () => _engine.ItemPairs, popularity));
    }

    private sealed record Aggregates(PopularityIndex Popularity, Recommender Recommender);

    private void ApplyAggregates(IReadOnlyList<StoredEvent> events, Aggregates aggregates)
    {
        var interactions = new List<(string, IReadOnlyList<string>, double, DateTimeOffset)>(events.Count);
        foreach (var e in events)
        {
            if (!Counts(e)) continue;
            IReadOnlyList<string> keys = _catalog.TryGet(e.ItemId!, out var entry) ? entry.CategoryKeys : [];
            if (_segments.TryGetValue(e.UserId, out var segments)) keys = [.. keys, .. segments.Select(g => g.Key)];
            interactions.Add((e.ItemId!, keys, Weight(e.Type), e.Timestamp));
        }
        aggregates.Popularity.AddMany(interactions);
    }

    private List<SequenceStep> Steps(string userId)
    {
        var (recent, _) = _engine.RecentSteps(userId);
        var steps = new List<SequenceStep>(recent.Length);
        foreach (var s in recent)
            if (_catalog.TryGet(s.ItemId, out var e)) steps.Add(new SequenceStep(e.Item, s.Type, s.Timestamp));
        return steps;
    }

    /// <summary>Reads a stored sequence model version (null when there is none): how a variant's <see cref="RecommendationQuery.ModelVersion"/> is served.</summary>
    public Func<string, ISequenceModel?>? LoadModelVersion { get; init; }

    /// <summary>Most model versions besides the one in service held at once for experiments.</summary>
    public const int MaxPinnedModels = 4;

    // Versions other than the one in service that experiments asked for, each with its own index.
    private readonly Dictionary<string, ModelView> _pinned = new(StringComparer.Ordinal);

    /// <summary>
    /// The view for <paramref name="version"/>: the model in service when it is that version (or none is asked for);
    /// otherwise the stored version, loaded and indexed on first use and kept (at most <see cref="MaxPinnedModels"/>).
    /// A version that cannot be read, or one beyond the limit, is answered by the model in service, whose version the
    /// answer names.
    /// </summary>
    private ModelView? ViewFor(string? version)
    {
        var current = CurrentView();
        if (version is null || current?.Model.Version == version || LoadModelVersion is null || !IsLoaded) return current;
        lock (_modelLock)
            if (_pinned.TryGetValue(version, out var pinned)) return pinned;
        ISequenceModel? model;
        try
        {
            model = LoadModelVersion(version);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            _logger.LogWarning(ex, "Sequence model version {Version} could not be read; the model in service answers", version);
            return current;
        }
        if (model is null) return current;
        var view = new ModelView(model, new VectorIndex(model.Dimension, Math.Max(16, _catalog.Count)));
        lock (_modelLock)
        {
            if (_pinned.TryGetValue(version, out var built)) return built;
            if (_pinned.Count >= MaxPinnedModels) return current;
            IndexItems(view, _catalog.Entries.Select(e => e.Item));
            _pinned[version] = view;
        }
        return view;
    }

    /// <summary>
    /// The index for the model in service. A new model's index is built on first use: synchronously when none is
    /// serving yet, otherwise in the background while the previous model (consistent with its own index) serves.
    /// </summary>
    private ModelView? CurrentView()
    {
        // Before the catalog is loaded an index would be built empty and then kept for this model.
        var model = _models?.Current;
        if (model is null || !IsLoaded) return null;
        var view = _view;
        if (view is not null && ReferenceEquals(view.Model, model)) return view;
        if (view is null) return BuildIndex(model);
        lock (_modelLock)
        {
            if (!ReferenceEquals(_building, model))
            {
                _building = model;
                _ = Task.Run(() => BuildIndex(model));
            }
        }
        return view;
    }

    private ModelView? BuildIndex(ISequenceModel model)
    {
        lock (_modelLock)
        {
            if (_view is { } current && ReferenceEquals(current.Model, model)) return current;
            _building = model;
            _upsertsDuringBuild = [];
        }
        try
        {
            var index = new VectorIndex(model.Dimension, Math.Max(16, _catalog.Count));
            var view = new ModelView(model, index);
            IndexItems(view, _catalog.Entries.Select(e => e.Item));
            lock (_modelLock)
            {
                IndexItems(view, _upsertsDuringBuild ?? []);
                _upsertsDuringBuild = null;
                // Requests may still hold the old view, so its index is left to the collector rather than disposed.
                _view = view;
                Interlocked.Increment(ref _epoch);
            }
            // Lists cached under the previous model no longer count; recompute the active users' in the background.
            if (IsLoaded) StartWarming();
            if (_logger.IsEnabled(LogLevel.Information))
                _logger.LogInformation("Indexed {Count} item vectors of model {Version}", index.Count, model.Version);
            return view;
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Indexing the item vectors of model {Version} failed; serving without it", model.Version);
            lock (_modelLock) _upsertsDuringBuild = null;
            return _view;
        }
    }

    private static void IndexItems(ModelView view, IEnumerable<Item> items)
    {
        foreach (var item in items)
        {
            var vector = view.Model.ItemVector(item);
            if (vector is not null && vector.Length == view.Index.Dimension) view.Index.Upsert(item.Id, vector);
            else view.Index.Remove(item.Id);
        }
    }
}
