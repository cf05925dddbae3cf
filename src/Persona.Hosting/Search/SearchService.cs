using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Core.Profiles;
using Persona.Core.Ranking;
using Persona.Core.Retrieval;
using Persona.Core.Models;
using Persona.Core.Search;
using Persona.Core.State;
using Persona.Text;

namespace Persona.Hosting;

/// <summary>What the search service holds and how long building it took.</summary>
public sealed record SearchStatus(
    int Items, int Terms, bool Semantic, string? EncoderVersion, double IndexSeconds, double? EncoderSeconds,
    int ClickPairs, RerankerWeights Weights, string? EncoderKind = null);

/// <summary>
/// Serves personalised product search: keeps a <see cref="ProductSearchIndex"/> in step with the catalog (an item
/// upsert is visible to the next query), reads each shopper's recent items and the item pairs (co-visitation) from the
/// engine, follows events for (query, clicked item) pairs — an item event within
/// <see cref="PersonaSearchOptions.ClickWindowMinutes"/> of the same user's search — and trains the text encoder and
/// the re-ranker weights from them in the background.
/// </summary>
public sealed class SearchService : IStatePartObserver, IDisposable
{
    private readonly PersonaEngine _engine;
    private readonly PersonaSearchOptions _options;
    private readonly ISequenceModelProvider? _models;
    private readonly ILogger<SearchService> _logger;
    private readonly ProductSearchIndex _index;
    // Per searcher, their last search not yet followed by a click (for query-click pairs). The steps re-ranking reads
    // are the engine's (the shopper state's recent steps), as are the item pairs.
    private readonly ConcurrentDictionary<string, LastSearch> _lastSearches = new(StringComparer.Ordinal);
    private volatile ConcurrentQueue<ClickPair> _clicks = new();
    private readonly SemaphoreSlim _trainGate = new(1, 1);
    private readonly AnswerCache<SearchUser> _users;
    private readonly Lock _modelLock = new();
    private ISequenceModel? _lastModel;
    private long _modelEpoch;
    private double _indexSeconds;
    private double? _encoderSeconds;
    private int _trainedItems;

    /// <summary>The version of the sequence model personalising searches now; null when none is trained.</summary>
    public string? SequenceModelVersion => _models?.Current?.Version;

    /// <summary>Items near an item by its text, from the index in service (empty until the catalog is encoded).</summary>
    public IItemTextNeighbours TextNeighbours => _index;

    /// <summary>The text vector of an item by id from the index in service, or null; null itself until the catalog is encoded.</summary>
    public Func<string, float[]?>? ItemTextVectors() => _index.Encoder is null ? null : _index.TextVectorOf;

    /// <summary>
    /// With <paramref name="pretrained"/> (<c>Persona:Text:Encoder</c>) that encoder is served and the in-domain one is
    /// never trained; without it the in-domain encoder is trained on the catalog and clicks.
    /// </summary>
    public SearchService(PersonaEngine engine, IOptions<PersonaSearchOptions> options, ISequenceModelProvider? models = null, ILogger<SearchService>? logger = null,
        ITextEncoder? pretrained = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _pretrained = pretrained;
        _options = options.Value;
        _models = models;
        _logger = logger ?? NullLogger<SearchService>.Instance;
        // Items numbered as the shopper steps and the item pairs are, so candidates are scored by int.
        _index = new ProductSearchIndex(_options.ToIndexOptions(), new SearchKeys(ShopperSteps.Items));
        // Registers the item pairs with the engine (before this observer).
        _ = _engine.ItemPairs;
        _users = new AnswerCache<SearchUser>(TimeSpan.FromSeconds(_options.UserCacheSeconds), _options.UserCacheUsers);
        _encoders = _options.PersistEncoder && !string.IsNullOrWhiteSpace(_engine.Options.DataDirectory)
            ? SemanticEncoderRepository.ForDataDirectory(_engine.Options.DataDirectory)
            : null;
        _engine.AddObserver(this);
    }

    private readonly SemanticEncoderRepository? _encoders;
    private volatile ITextEncoder? _pretrained;

    /// <summary>The pretrained encoder this service serves (null: the in-domain one, trained here).</summary>
    public ITextEncoder? Pretrained => _pretrained;

    /// <summary>How long a replaced pretrained encoder stays open for the searches that already took it.</summary>
    private static readonly TimeSpan RetiredEncoderGrace = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Puts another pretrained encoder in service (new fine-tuned adapters, <see cref="TextAdapterWatcher"/>): the catalog
    /// is encoded with it outside the index's write lock while the old one goes on serving, then the index switches in one
    /// step and the old encoder is closed a minute later. Not for a service that serves the in-domain encoder.
    /// </summary>
    public async Task ReplacePretrainedAsync(ITextEncoder encoder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (_pretrained is null) throw new InvalidOperationException("This search service serves the in-domain encoder; a pretrained one is configured with Persona:Text:Encoder.");
        await _trainGate.WaitAsync(cancellationToken);
        ITextEncoder? old;
        try
        {
            using var running = _engine.Background.Begin("encoding the catalog with new text adapters");
            old = _pretrained;
            await Task.Run(() => UsePretrained(encoder), cancellationToken);
            _pretrained = encoder;
        }
        finally
        {
            _trainGate.Release();
        }
        if (old is IDisposable retired && !ReferenceEquals(old, encoder))
            _ = Task.Delay(RetiredEncoderGrace, CancellationToken.None).ContinueWith(_ => retired.Dispose(), TaskScheduler.Default);
    }

    /// <summary>Item vectors the restored encoder did not have to encode again (stored beside it and the item's text unchanged).</summary>
    public int RestoredVectors { get; private set; }

    /// <summary>The stored vectors being written, if any (completed when none is).</summary>
    public Task SavingVectors { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Stores the catalog's vectors for <paramref name="encoder"/> in the background, so the next start reuses them; a
    /// failure costs only that start's encoding.
    /// </summary>
    private void SaveVectorsInBackground(ITextEncoder encoder)
    {
        if (_encoders is null) return;
        var encoders = _encoders;
        lock (_modelLock)
        {
            // One write at a time: a training that ends while the start's vectors are written waits for them.
            var previous = SavingVectors;
            // Listed from now, not from when the task runs: the training that called this is still listed, so no poll
            // of /health sees the server settled in between.
            var running = _engine.Background.Begin("storing the search vectors");
            SavingVectors = Task.Run(async () =>
            {
                using var listed = running;
                await previous;
                try
                {
                    var encoded = _index.EncodedItems(encoder);
                    encoders.SaveVectors(encoder.Version, encoder.Dimension, encoded.Items, encoded.Centroids, encoded.PartitionRows);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    _logger.LogWarning(ex, "Storing the search item vectors in {Folder} failed; the next start encodes the catalog again", encoders.Root);
                }
            });
        }
    }

    /// <summary>The stored encoder that <see cref="LoadAsync"/> restored (null when none fitted and it must be trained).</summary>
    public SemanticEncoderManifest? RestoredEncoder { get; private set; }

    private SemanticEncoderOptions EncoderOptions => new() { Epochs = _options.EncoderEpochs };

    public ProductSearchIndex Index => _index;

    public SearchStatus Status => new(
        _index.Count, _index.TermCount, _index.Encoder is not null, _index.Encoder?.Version, _indexSeconds, _encoderSeconds,
        _clicks.Count, _index.Weights, _index.Encoder?.Kind);

    /// <summary>
    /// Gets ready to serve: restores the stored encoder and warms the active users' signals. When the engine's start
    /// pass did not feed this state, first indexes the stored catalog and replays stored events into the click pairs
    /// (and has the engine load the item pairs).
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (!_fedByStart)
        {
            var clock = Stopwatch.StartNew();
            var items = new List<Item>();
            await foreach (var item in _engine.Store.ReadItemsAsync(cancellationToken)) items.Add(item);
            _index.Upsert(items);
            _indexSeconds = clock.Elapsed.TotalSeconds;
            await _engine.ReadLogInPagesAsync(OnEventsStored, cancellationToken);
            await _engine.LoadItemPairsAsync(cancellationToken);
        }
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Search indexed {Items} items in {Seconds:0.00} s; {Clicks} logged search clicks", _index.Count, _indexSeconds, _clicks.Count);
        // A pretrained encoder's catalog is encoded by TrainAsync, which the start-up service runs next in the background
        // (minutes at a million items on CPU): search is lexical until then.
        if (_pretrained is null)
        {
            await PullEncoderAsync(cancellationToken);
            RestoreEncoder();
        }
        if (_options.WarmUsers > 0 && _options.UserCacheSeconds > 0)
            Warming = BackgroundWarmup.Start("the search signals", MostRecentUsers, user => UserFor(user), static () => false, _logger, _engine.Background);
    }

    /// <summary>With a shared store: the newest encoder another node trained, copied into this node's folder (docs/cluster.md).</summary>
    private async Task PullEncoderAsync(CancellationToken cancellationToken)
    {
        if (_encoders is null || !_engine.Options.Store.IsShared) return;
        try
        {
            if (await StoredModelFiles.PullNewestAsync(_engine.Store, _encoders.Root, StoredModelFiles.SearchPrefix, cancellationToken) is { } version
                && _logger.IsEnabled(LogLevel.Information))
                _logger.LogInformation("Search encoder {Version} copied from the store into {Folder}", version, _encoders.Root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or System.Data.Common.DbException)
        {
            _logger.LogWarning(ex, "The search encoders in the store could not be copied; this node uses its own");
        }
    }

    /// <summary>
    /// Puts the pretrained encoder in service: the catalog's vectors it made at an earlier start are reused (same
    /// version, same text), the rest encoded now and stored for the next start.
    /// </summary>
    private void UsePretrained(ITextEncoder encoder)
    {
        if (!_options.Semantic || _index.Count < 1) return;
        var clock = Stopwatch.StartNew();
        StoredVectors? stored = null;
        try
        {
            stored = _encoders?.LoadVectors(encoder.Version, encoder.Dimension);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            _logger.LogWarning(ex, "The stored vectors of encoder {Version} could not be read; the catalog is encoded again", encoder.Version);
        }
        // Encoded here, outside the index's write lock (minutes for a large catalog on CPU), so item upserts go on; the
        // index then reuses every vector whose item text is unchanged and encodes under its lock only what changed since.
        var dim = encoder.Dimension;
        var vectors = new Dictionary<string, EncodedItem>(StringComparer.Ordinal);
        if (stored is not null)
            foreach (var (id, known) in stored.Items) vectors[id] = known;
        var reusable = 0;
        var fresh = new List<(string Id, ulong Hash, string Text)>();
        foreach (var item in _index.Items)
        {
            var text = SearchFields.FullText(item);
            var hash = SearchFields.TextHash(text);
            if (vectors.TryGetValue(item.Id, out var known) && known.TextHash == hash && known.Vector.Length == dim) reusable++;
            else fresh.Add((item.Id, hash, text));
        }
        var encoded = new float[fresh.Count * dim]; // (fresh, dim)
        encoder.EncodeInBatches([.. fresh.Select(f => f.Text)], encoded, progress: null, _disposing.Token);
        for (var i = 0; i < fresh.Count; i++) vectors[fresh[i].Id] = new EncodedItem(fresh[i].Id, fresh[i].Hash, encoded.AsSpan(i * dim, dim).ToArray());
        _index.SetEncoder(encoder, new StoredVectors(vectors, stored?.Centroids, stored?.PartitionRows ?? 0));
        RestoredVectors = reusable;
        _encoderSeconds = clock.Elapsed.TotalSeconds;
        _trainedItems = _index.Count;
        PartitionWhenDue();
        if (RestoredVectors < _index.Count) SaveVectorsInBackground(encoder);
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Search serves the {Kind} text encoder {Version}: {Reused} of {Count} item vectors reused, the rest encoded in {Seconds:0.0} s",
                encoder.Kind, encoder.Version, RestoredVectors, _index.Count, _encoderSeconds);
    }

    /// <summary>Serves the newest stored encoder that fits this catalog and these settings, with the weights learned beside it.</summary>
    private void RestoreEncoder()
    {
        if (_encoders is null || !_options.Semantic || _index.Count < 2) return;
        try
        {
            if (_encoders.LoadNewestFitting(_index.Count, EncoderOptions) is not ({ } encoder, { } manifest)) return;
            // The catalog's vectors as this encoder made them last time: only items new or changed since are encoded.
            var stored = _encoders.LoadVectors(encoder.Version, encoder.Dimension);
            RestoredVectors = _index.SetEncoder(encoder, stored);
            PartitionWhenDue();
            if (RestoredVectors < _index.Count) SaveVectorsInBackground(encoder);
            if (manifest.Weights is { Count: PersonalReranker.FeatureCount } weights)
                _index.Weights = new RerankerWeights(weights, manifest.WeightsSource ?? "stored", manifest.WeightsPairs);
            _trainedItems = manifest.Items;
            _encoderSeconds = manifest.TrainingSeconds;
            RestoredEncoder = manifest;
            if (_logger.IsEnabled(LogLevel.Information))
                _logger.LogInformation("Search encoder {Version} loaded from {Folder} (trained on {Items} items and {Clicks} clicks); {Reused} of {Count} item vectors reused, the rest encoded",
                    manifest.Version, _encoders.Root, manifest.Items, manifest.ClickPairs, RestoredVectors, _index.Count);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
        {
            _logger.LogWarning(ex, "The stored search encoder in {Folder} could not be read; it will be trained again", _encoders.Root);
        }
    }

    /// <summary>The background preparation of recent searchers' signals after load; completed when none is running.</summary>
    public Task Warming { get; private set; } = Task.CompletedTask;

    /// <summary>The users whose signals are prepared after load, the most recently active first.</summary>
    private IReadOnlyList<string> MostRecentUsers() => _engine.MostRecentShoppers(_options.WarmUsers);

    /// <summary>Whether the catalog grew by a tenth (or from nothing) since the encoder was last trained.</summary>
    public bool NeedsTraining => _pretrained is null && _options.Semantic && _index.Count >= 2 && _index.Count > _trainedItems * 1.1;

    /// <summary>Trains the text encoder on the catalog and logged clicks, and the re-ranker weights on the clicks. One run at a time.</summary>
    public async Task TrainAsync(CancellationToken cancellationToken)
    {
        await _trainGate.WaitAsync(cancellationToken);
        try
        {
            using var running = _engine.Background.Begin("training the search encoder");
            var clicks = _clicks.ToArray();
            var items = _index.Items.ToList();
            SemanticEncoder? trained = null;
            var clickedCount = 0;
            if (_pretrained is not null && _index.Encoder is null && _options.Semantic && items.Count >= 1) UsePretrained(_pretrained);
            else if (_pretrained is null && _options.Semantic && items.Count >= 2)
            {
                var clock = Stopwatch.StartNew();
                var clicked = clicks.Select(c => _index.TryGetItem(c.ItemId, out var item) ? (c.Query, item!) : default).Where(p => p.Item2 is not null).ToList();
                var encoder = await Task.Run(() => SemanticEncoder.Train(
                    SemanticPairs.Build(items, clicked), EncoderOptions, cancellationToken), cancellationToken);
                _index.SetEncoder(encoder);
                PartitionWhenDue();
                _encoderSeconds = clock.Elapsed.TotalSeconds;
                _trainedItems = items.Count;
                trained = encoder;
                clickedCount = clicked.Count;
                if (_logger.IsEnabled(LogLevel.Information))
                    _logger.LogInformation("Search encoder {Version} trained on {Items} items and {Clicks} clicks in {Seconds:0.0} s", encoder.Version, items.Count, clicked.Count, _encoderSeconds);
            }
            RerankerWeights? learned = null;
            if (clicks.Length >= _options.MinClickPairs) _index.Weights = learned = LearnWeights(clicks);
            if (trained is not null) SaveEncoder(trained, items, clickedCount, learned);
        }
        finally
        {
            _trainGate.Release();
        }
        // Items that arrived while this run held the gate (it may have found none) are not left lexical.
        EncodeWithPretrainedWhenDue();
    }

    /// <summary>Copies a freshly stored encoder into the shared store, so the other nodes start with it instead of training their own.</summary>
    private void PublishEncoderInBackground(string version)
    {
        var encoders = _encoders!;
        _ = Task.Run(async () =>
        {
            try
            {
                await StoredModelFiles.PublishAsync(_engine.Store, encoders.Root, version, StoredModelFiles.SearchPrefix);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or System.Data.Common.DbException)
            {
                _logger.LogWarning(ex, "Copying search encoder {Version} into the store failed; other nodes train their own", version);
            }
        });
    }

    /// <summary>Stores a freshly trained encoder for the next start and for the CLI; a failure to write only costs a later retraining.</summary>
    private void SaveEncoder(SemanticEncoder encoder, List<Item> items, int clicks, RerankerWeights? weights)
    {
        if (_encoders is null) return;
        var options = EncoderOptions;
        try
        {
            _encoders.Save(encoder, new SemanticEncoderManifest
            {
                Version = encoder.Version,
                CreatedAt = DateTimeOffset.UtcNow,
                Dimension = options.Dimension,
                Buckets = options.Buckets,
                Epochs = options.Epochs,
                Items = items.Count,
                CatalogFingerprint = SemanticEncoderManifest.Fingerprint(items),
                ClickPairs = clicks,
                TrainingSeconds = Math.Round(_encoderSeconds ?? 0, 2),
                Weights = weights?.Weights,
                WeightsSource = weights?.Source,
                WeightsPairs = weights?.TrainingPairs ?? 0,
            });
            RestoredEncoder = null;
            SaveVectorsInBackground(encoder);
            if (_engine.Options.Store.IsShared) PublishEncoderInBackground(encoder.Version);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning(ex, "Storing the search encoder in {Folder} failed; it will be trained again at the next start", _encoders.Root);
        }
    }

    /// <summary>
    /// Pairwise training data from the click log: the clicked item against up to five items the same query ranked
    /// above it (skipped) and five random ones from the head. Profiles are the users' current ones.
    /// </summary>
    private RerankerWeights LearnWeights(ClickPair[] clicks)
    {
        var pairs = new List<(double[], double[])>();
        var random = new Random(11);
        var catalog = _engine.Catalog;
        // Shops repeat their queries: each distinct one is parsed, encoded and retrieved once (a pretrained encoder
        // takes milliseconds per query on CPU).
        var byQuery = new Dictionary<string, List<ProductSearchIndex.Candidate>>(StringComparer.Ordinal);
        foreach (var click in clicks)
        {
            var user = UserFor(click.UserId);
            if (user is null) continue;
            if (!byQuery.TryGetValue(click.Query, out var candidates))
                byQuery[click.Query] = candidates = _index.Candidates(_index.Parse(click.Query), new SearchRequest { Query = click.Query }, catalog);
            var at = candidates.FindIndex(c => c.Entry.Item.Id == click.ItemId);
            if (at < 0 || at >= _index.Options.RerankDepth) continue;
            var signals = _index.PrepareSignals(user, _engine.ItemPairs, catalog);
            var positive = new double[PersonalReranker.FeatureCount];
            PersonalReranker.Features(signals, candidates[at], positive);
            var head = Math.Min(candidates.Count, Math.Min(_index.Options.RerankDepth, 100));
            var negatives = Enumerable.Range(0, Math.Min(at, 5)).Concat(Enumerable.Range(0, 5).Select(_ => random.Next(head))).Where(j => j != at);
            foreach (var j in negatives)
            {
                var negative = new double[PersonalReranker.FeatureCount];
                PersonalReranker.Features(signals, candidates[j], negative);
                pairs.Add((positive, negative));
            }
        }
        var weights = PersonalReranker.Train(pairs, minPairs: _options.MinClickPairs);
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Search re-ranker weights ({Source}) from {Pairs} pairs: {Weights}", weights.Source, pairs.Count, string.Join(", ", weights.Weights));
        return weights;
    }

    /// <summary>Runs a search for <paramref name="userId"/> (or anonymously); consent withdrawal or an unknown user gives the non-personal order.</summary>
    public SearchResult Search(SearchRequest request, string? userId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var user = request.Personalize && !string.IsNullOrWhiteSpace(userId) ? UserFor(userId) : null;
        return _index.Search(request, user, _engine.Catalog, _engine.ItemPairs);
    }

    /// <summary>
    /// What the re-ranker knows of a user: the behavioural profile (without model outputs) and the sequence model's
    /// embedding of their recent steps. Reused while their state and the model are unchanged (for at most
    /// <see cref="PersonaSearchOptions.UserCacheSeconds"/>); consent is checked on every call.
    /// </summary>
    private SearchUser? UserFor(string userId)
    {
        if (!_engine.PersonalizationAllowed(userId)) return null;
        var model = _models?.Current;
        var stamp = Stamp(userId, model);
        if (_users.TryGet(userId, "", stamp, out var cached)) return cached;
        var user = BuildUser(userId, model);
        if (user is not null && Stamp(userId, model) == stamp) _users.Set(userId, "", stamp, user);
        return user;
    }

    private CacheStamp Stamp(string userId, ISequenceModel? model)
    {
        if (!ReferenceEquals(model, Volatile.Read(ref _lastModel)))
        {
            lock (_modelLock)
            {
                if (!ReferenceEquals(model, _lastModel))
                {
                    _lastModel = model;
                    _modelEpoch++;
                }
            }
        }
        return new CacheStamp(Volatile.Read(ref _modelEpoch), _engine.ShopperChange(userId));
    }

    private SearchUser? BuildUser(string userId, ISequenceModel? model)
    {
        var (read, steps, _) = _engine.GetProfileWithSteps(userId, enrich: false, _options.RecentItems, withSeen: false);
        if (read.Status != ProfileStatus.Found) return null;
        var profile = read.Profile!;
        float[]? embedding = null;
        if (model is not null)
        {
            if (steps.Length > 0)
            {
                var sequence = new List<SequenceStep>(steps.Length);
                foreach (var s in steps)
                    if (_index.TryGetItem(s.ItemId, out var item)) sequence.Add(new SequenceStep(item!, s.Type, s.Timestamp));
                if (sequence.Count > 0) embedding = model.EncodeUser(sequence);
            }
        }
        return new SearchUser
        {
            UserId = userId,
            // Cached: keep only what the re-ranker reads, not the whole profile with its tags and evidence.
            Profile = new Profile { UserId = profile.UserId, Traits = profile.Traits, Affinities = profile.Affinities },
            RecentItems = steps.Select(s => s.ItemId).ToArray(),
            Embedding = embedding,
            Model = embedding is null ? null : model,
        };
    }

    public void OnItemsUpserted(IReadOnlyList<Item> items)
    {
        try
        {
            _index.Upsert(items);
            PartitionWhenDue();
            EncodeWithPretrainedWhenDue();
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Indexing {Count} upserted items failed", items.Count);
        }
    }

    private int _pretrainedStarting;

    /// <summary>
    /// A server that started with an empty catalog has nothing to encode at start: the first items put the pretrained
    /// encoder in service, in the background (one start at a time; later items are encoded by the index as they come).
    /// Items upserted while a run is under way wait for it: each run checks again when it ends.
    /// </summary>
    private void EncodeWithPretrainedWhenDue()
    {
        if (_pretrained is null || !_options.Semantic || _index.Encoder is not null || _index.Count < 1 || _disposing.IsCancellationRequested) return;
        // A run under way (the start's, encoding a large catalog) puts the encoder in service itself.
        if (_trainGate.CurrentCount == 0) return;
        if (Interlocked.CompareExchange(ref _pretrainedStarting, 1, 0) != 0) return;
        _ = Task.Run(async () =>
        {
            var done = false;
            try
            {
                await TrainAsync(_disposing.Token);
                done = true;
            }
            catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Encoding the catalog with the pretrained text encoder failed; search stays lexical until more items arrive");
            }
            finally
            {
                Volatile.Write(ref _pretrainedStarting, 0);
            }
            // TrainAsync's own check ran while this flag was still set.
            if (done) EncodeWithPretrainedWhenDue();
        });
    }

    private readonly CancellationTokenSource _disposing = new();
    private int _partitioning;

    /// <summary>The partition of the item vectors being built, if any (completed when none is).</summary>
    public Task Partitioning { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Partitions the item vectors in the background when the catalog is above
    /// <see cref="PersonaSearchOptions.SemanticExactLimit"/> and no partition fits it (until then semantic candidates
    /// scan every vector); one build at a time.
    /// </summary>
    private void PartitionWhenDue()
    {
        if (!_index.PartitionDue || Interlocked.CompareExchange(ref _partitioning, 1, 0) != 0) return;
        var running = _engine.Background.Begin("partitioning the search vectors");
        var stopping = _disposing.Token;
        Partitioning = Task.Run(() =>
        {
            using var listed = running;
            try
            {
                // A new encoder or a compaction meanwhile renumbers the vectors: the next try partitions what is there then.
                for (var attempt = 0; attempt < 3 && _index.PartitionDue; attempt++)
                {
                    var clock = Stopwatch.StartNew();
                    if (!_index.BuildPartition(stopping)) continue;
                    if (_logger.IsEnabled(LogLevel.Information))
                        _logger.LogInformation("Search vectors of {Items} items partitioned in {Seconds:0.0} s: semantic candidates now come from the nearest clusters", _index.Count, clock.Elapsed.TotalSeconds);
                    // Stored with the vectors, so the next start restores the partition instead of building it again.
                    if (_index.Encoder is { } encoder) SaveVectorsInBackground(encoder);
                    break;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Partitioning the search vectors failed; semantic candidates keep scanning every vector");
            }
            finally
            {
                Volatile.Write(ref _partitioning, 0);
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// Drops the user's pending search and logged (query, click) pairs, so the next encoder training cannot use them.
    /// Pairs are made of one shopper's own events, so what is left equals a recount without them (unless the bound
    /// <see cref="PersonaSearchOptions.MaxClickPairs"/> had pushed older pairs out, which a recount would keep).
    /// </summary>
    public string? OnUserErased(string userId)
    {
        var search = _lastSearches.TryRemove(userId, out _);
        var signals = _users.Remove(userId);
        var clicks = _clicks;
        var mine = clicks.Count(p => p.UserId == userId);
        if (mine > 0) _clicks = new ConcurrentQueue<ClickPair>(clicks.Where(p => p.UserId != userId));
        if (!search && mine == 0 && signals == 0) return null;
        return signals == 0
            ? $"search: {mine} query-click pairs{(search ? ", the last search" : "")}"
            : $"search: {mine} query-click pairs{(search ? ", the last search" : "")}, cached re-ranking signals";
    }

    /// <summary>The logged (query, clicked item) pairs, oldest first: fine-tuning data for a text encoder.</summary>
    public IReadOnlyList<(string Query, string ItemId)> LoggedClicks() => [.. _clicks.Select(c => (c.Query, c.ItemId))];

    /// <summary>The item pairs search re-ranks with (the engine's; for tests and diagnostics).</summary>
    public ItemPairs ItemPairs => _engine.ItemPairs;

    public void OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        var window = TimeSpan.FromMinutes(_options.ClickWindowMinutes);
        var clicks = _clicks;
        foreach (var e in events)
        {
            if (e.ExcludedReason is not null) continue;
            if (e.Type == EventType.Search)
            {
                if (!string.IsNullOrWhiteSpace(e.Query)) _lastSearches[e.UserId] = new LastSearch(e.Query, e.Timestamp);
                continue;
            }
            if (e.ItemId is null || e.Type is not (EventType.Click or EventType.View or EventType.AddToCart or EventType.Purchase)) continue;
            if (_lastSearches.TryGetValue(e.UserId, out var search) && e.Timestamp >= search.At && e.Timestamp - search.At <= window)
            {
                clicks.Enqueue(new ClickPair(e.UserId, search.Query, e.ItemId));
                while (clicks.Count > _options.MaxClickPairs && clicks.TryDequeue(out _)) { }
                _lastSearches.TryRemove(e.UserId, out _);
            }
        }
    }

    // Set when the engine's start pass fed this state (restored part plus the log after it), so LoadAsync reads no log.
    private volatile bool _fedByStart;

    /// <summary>
    /// Format of the stored part: each searcher's pending search, the query-click pairs (format 1 held ten recent steps
    /// per user, now the shopper state's; format 2 the co-visitation counts, now the engine's item pairs).
    /// </summary>
    private const byte PartFormat = 3;

    public string PartName => "search";

    public string PartFingerprint => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"search/{PartFormat}/clickwindow={_options.ClickWindowMinutes}/clicks={_options.MaxClickPairs}");

    public void PrepareStart(IReadOnlyList<Item> items, IReadOnlyList<User> users)
    {
        var clock = Stopwatch.StartNew();
        _index.Upsert(items);
        _indexSeconds = clock.Elapsed.TotalSeconds;
    }

    public bool TryRestore(byte[] data)
    {
        if (StateReader.Open(data, PartFormat) is not { } reader) return false;
        try
        {
            var searches = new Dictionary<string, LastSearch>(StringComparer.Ordinal);
            var searchers = reader.ReadCount(int.MaxValue);
            for (var u = 0; u < searchers; u++)
            {
                var user = reader.ReadString();
                var query = reader.ReadString();
                var ticks = reader.ReadInt64();
                var offset = TimeSpan.FromMinutes(reader.ReadSigned());
                searches[user] = new LastSearch(query, new DateTimeOffset(ticks + offset.Ticks, offset));
            }
            var clicks = new ConcurrentQueue<ClickPair>();
            var pairs = reader.ReadCount(int.MaxValue);
            for (var i = 0; i < pairs; i++) clicks.Enqueue(new ClickPair(reader.ReadString(), reader.ReadString(), reader.ReadString()));
            if (!reader.AtEnd) return false;
            foreach (var (user, search) in searches) _lastSearches[user] = search;
            _clicks = clicks;
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    public void ReplayStored(IReadOnlyList<StoredEvent> events) => OnEventsStored(events);

    public void CompleteStart() => _fedByStart = true;

    public byte[] Encode()
    {
        var writer = new StateWriter();
        var searches = _lastSearches.ToArray();
        writer.WriteCount(searches.Length);
        foreach (var (user, search) in searches)
        {
            writer.WriteString(user);
            writer.WriteString(search.Query);
            writer.WriteInt64(search.At.UtcTicks);
            writer.WriteSigned((long)search.At.Offset.TotalMinutes);
        }
        var clicks = _clicks.ToArray();
        writer.WriteCount(clicks.Length);
        foreach (var click in clicks)
        {
            writer.WriteString(click.UserId);
            writer.WriteString(click.Query);
            writer.WriteString(click.ItemId);
        }
        return writer.ToArray(PartFormat);
    }

    public void Dispose()
    {
        _disposing.Cancel();
        _index.Dispose();
        _trainGate.Dispose();
        (_pretrained as IDisposable)?.Dispose();
    }

    private sealed record ClickPair(string UserId, string Query, string ItemId);

    /// <summary>A shopper's last search, until an item event pairs it with a click.</summary>
    private readonly record struct LastSearch(string Query, DateTimeOffset At);
}
