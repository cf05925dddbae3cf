using System.Globalization;
using System.Numerics.Tensors;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Ranking;
using Persona.Core.Retrieval;
using Persona.Numerics;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>
/// Personalised product search over an in-memory catalog: BM25 over weighted fields, a trained subword encoder for
/// semantic candidates (above <see cref="ProductSearchOptions.SemanticExactLimit"/> items from the clusters of the item
/// vectors nearest the query, <see cref="BuildPartition"/>), fusion of both, query-understanding boosts (brand, category, price preference), price and
/// category filters, then re-ranking of the head by the user's profile. Items are upserted and removed
/// incrementally and a change is visible to the next query. Thread-safe: queries read immutable snapshots; writes
/// are serialised. The non-personal candidates of a query depend only on the snapshot, so they are cached per
/// query and filters for the snapshot they came from (<see cref="ProductSearchOptions.CandidateCacheSeconds"/>);
/// a person's search then costs the re-ranking of a cached head.
/// </summary>
public sealed class ProductSearchIndex : IDisposable, IItemTextNeighbours
{
    private readonly ProductSearchOptions _options;
    private readonly Bm25Index _lexical;
    private readonly Lock _writeLock = new();
    private volatile Snapshot _snapshot;
    private volatile RerankerWeights _weights = RerankerWeights.Default;
    private long _nextSequence;
    private long _snapshotVersion;
    private readonly AnswerCache<CandidateSet> _candidateCache;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string[] Keys, int[] Ordinals)> _paths = new(StringComparer.Ordinal);

    /// <summary>An empty index; <paramref name="keys"/> are the numberings to use (give one whose items are the item pairs' numbering), new ones when null.</summary>
    public ProductSearchIndex(ProductSearchOptions? options = null, SearchKeys? keys = null)
    {
        Keys = keys ?? new SearchKeys();
        _options = options ?? new ProductSearchOptions();
        _options.Validate();
        _lexical = new Bm25Index(_options.Bm25);
        _snapshot = new Snapshot(new Slots(), [], null, 0, 0, 0, QueryVocabulary.Empty, null, 0);
        _candidateCache = new AnswerCache<CandidateSet>(TimeSpan.FromSeconds(_options.CandidateCacheSeconds), _options.CandidateCacheQueries);
    }

    public ProductSearchOptions Options => _options;
    /// <summary>
    /// The numberings of entries' items, brands and category keys; when <see cref="SearchKeys.Items"/> is the
    /// <see cref="ItemPairs"/>' numbering, candidates are scored by ordinal.
    /// </summary>
    public SearchKeys Keys { get; }
    public int Count => _snapshot.Count;
    public ITextEncoder? Encoder => _snapshot.Encoder;
    public QueryVocabulary Vocabulary => _snapshot.Vocabulary;
    public int TermCount => _lexical.TermCount;

    /// <summary>The re-ranker's weights; replace them after learning from logs.</summary>
    public RerankerWeights Weights
    {
        get => _weights;
        set => _weights = value ?? throw new ArgumentNullException(nameof(value));
    }

    public bool TryGetItem(string id, out Item? item)
    {
        var found = _snapshot.TryGet(id, out var entry);
        item = entry?.Item;
        return found;
    }

    public IEnumerable<Item> Items => _snapshot.Live().Select(e => e.Entry.Item);

    /// <summary>
    /// Inserts or replaces items (unavailable ones are removed). Cost O(batch · text) plus a copy of each chunk of
    /// <see cref="ChunkRows"/> slots the batch touches: readers keep the chunks of the snapshot they hold.
    /// </summary>
    public void Upsert(IEnumerable<Item> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var batch = items.ToList();
        // Encoded outside the write lock, as one batch (a pretrained encoder takes milliseconds per text); again under
        // the lock only when the encoder changed meanwhile.
        var encoder = _snapshot.Encoder;
        var vectors = Encode(encoder, batch);
        lock (_writeLock)
        {
            var old = _snapshot;
            if (!ReferenceEquals(old.Encoder, encoder)) vectors = Encode(old.Encoder, batch);
            var writer = new SnapshotWriter(old);
            for (var b = 0; b < batch.Count; b++)
            {
                var item = batch[b];
                if (!item.Available)
                {
                    writer.Remove(item.Id);
                    _lexical.Remove(item.Id);
                    continue;
                }
                _lexical.Upsert(item.Id, SearchFields.Analyze(item));
                var previous = writer.Find(item.Id);
                writer.Put(NewEntry(item, previous?.Sequence ?? _nextSequence++), vectors?[b]);
            }
            _snapshot = Publish(writer, old.Vocabulary.With(batch.Where(i => i.Available)), old.Encoder);
        }
    }

    /// <summary>The vector of each available item of <paramref name="batch"/> by position (null for the rest); null without an encoder.</summary>
    private static float[]?[]? Encode(ITextEncoder? encoder, List<Item> batch)
    {
        if (encoder is null) return null;
        var texts = new List<string?>();
        var at = new List<int>();
        for (var b = 0; b < batch.Count; b++)
        {
            if (!batch[b].Available) continue;
            texts.Add(SearchFields.FullText(batch[b]));
            at.Add(b);
        }
        var dim = encoder.Dimension;
        var encoded = new float[texts.Count * dim];
        if (texts.Count > 0) encoder.EncodeBatch(texts, encoded);
        var vectors = new float[]?[batch.Count];
        for (var j = 0; j < at.Count; j++) vectors[at[j]] = encoded.AsSpan(j * dim, dim).ToArray();
        return vectors;
    }

    public bool Remove(string id)
    {
        lock (_writeLock)
        {
            var old = _snapshot;
            if (!old.TryGet(id, out _)) return false;
            var writer = new SnapshotWriter(old);
            writer.Remove(id);
            _lexical.Remove(id);
            _snapshot = Publish(writer, old.Vocabulary, old.Encoder);
            return true;
        }
    }

    /// <summary>
    /// Puts a (newly trained) encoder in service and re-encodes every item: O(catalog · text), on every core. A vector in
    /// <paramref name="stored"/> (made by this encoder, <see cref="SemanticEncoderRepository.LoadVectors"/>) is reused
    /// when its text hash matches the item's text now. Returns how many were reused. The entries are kept; only the
    /// vector matrix is new. When the stored vectors come with their partition and the catalog is above
    /// <see cref="ProductSearchOptions.SemanticExactLimit"/>, the partition is put in service too (reused vectors keep
    /// their cluster, others go to the nearest) and the items are laid out cluster by cluster, as
    /// <see cref="BuildPartition"/> leaves them.
    /// </summary>
    public int SetEncoder(ITextEncoder? encoder, StoredVectors? stored = null)
    {
        lock (_writeLock)
        {
            var old = _snapshot;
            var dim = encoder?.Dimension ?? 0;
            float[][]? matrix = encoder is null ? null : new float[old.Entries.Length][];
            var reused = 0;
            var centroids = encoder is not null && _options.Semantic && old.Used > _options.SemanticExactLimit
                && stored?.Centroids is { Length: > 0 } c && c.Length % dim == 0 ? c : null;
            // The stored cluster of each slot whose vector was reused, else -1.
            var storedCluster = centroids is null ? null : new int[old.Used];
            if (encoder is not null)
            {
                // Items encode independently (the numberings and the path memo are thread-safe): at a million items this is
                // most of a restart that restores a stored encoder without its vectors.
                Parallel.For(0, old.Entries.Length, chunk =>
                {
                    var rows = new float[ChunkRows * dim];
                    var entries = old.Entries[chunk];
                    var mine = 0;
                    // Rows not reused are encoded together: a pretrained encoder runs them as batches.
                    var texts = new List<string?>();
                    var at = new List<int>();
                    for (var i = 0; i < entries.Length; i++)
                    {
                        if (entries[i] is not { } entry) continue;
                        var item = entry.Item;
                        var row = rows.AsSpan(i * dim, dim);
                        var slot = chunk * ChunkRows + i;
                        if (storedCluster is not null) storedCluster[slot] = -1;
                        var text = SearchFields.FullText(item);
                        if (stored is not null && stored.Items.TryGetValue(item.Id, out var known)
                            && known.Vector.Length == dim && known.TextHash == SearchFields.TextHash(text))
                        {
                            known.Vector.CopyTo(row);
                            if (storedCluster is not null) storedCluster[slot] = known.Cluster;
                            mine++;
                        }
                        else
                        {
                            texts.Add(text);
                            at.Add(i);
                        }
                    }
                    if (texts.Count > 0)
                    {
                        var encoded = new float[texts.Count * dim];
                        encoder.EncodeBatch(texts, encoded);
                        for (var j = 0; j < at.Count; j++) encoded.AsSpan(j * dim, dim).CopyTo(rows.AsSpan(at[j] * dim, dim));
                    }
                    matrix![chunk] = rows;
                    Interlocked.Add(ref reused, mine);
                });
            }
            var next = old with { Matrix = matrix, Dimension = dim, Encoder = encoder, Version = Interlocked.Increment(ref _snapshotVersion), Partition = null };
            if (centroids is not null)
            {
                var partition = IvfPartition.Restore(centroids, dim, next.Used, stored!.PartitionRows);
                foreach (var (_, slot) in next.Live())
                {
                    if (storedCluster![slot] is var cluster && cluster >= 0 && cluster < partition.Clusters) partition.Place(slot, cluster);
                    else partition.Set(slot, next.Vector(slot));
                }
                partition.Publish();
                next = InClusterOrder(next, partition);
            }
            _snapshot = next;
            return reused;
        }
    }

    /// <summary>
    /// Every item's vector with the hash of the text it was encoded from and its cluster, with the partition's centroids
    /// (null when the vectors are not partitioned), all of one snapshot, for <see cref="SemanticEncoderRepository.SaveVectors"/>;
    /// no items when <paramref name="encoder"/> is no longer the one in service.
    /// </summary>
    public EncodedCatalog EncodedItems(ITextEncoder encoder)
    {
        var snapshot = _snapshot;
        if (!ReferenceEquals(snapshot.Encoder, encoder) || snapshot.Matrix is null) return new EncodedCatalog([], null, 0);
        var partition = snapshot.Partition;
        return new EncodedCatalog(Items(), partition?.Centroids.ToArray(), partition?.BuiltFor ?? 0);

        IEnumerable<EncodedItem> Items()
        {
            foreach (var (entry, slot) in snapshot.Live())
                yield return new EncodedItem(entry.Item.Id, SearchFields.TextHash(SearchFields.FullText(entry.Item)), snapshot.Vector(slot).ToArray(),
                    partition?.ClusterOf(slot) ?? -1);
        }
    }

    /// <summary>
    /// True when the semantic leg scans every vector although the catalog is above
    /// <see cref="ProductSearchOptions.SemanticExactLimit"/> (no partition yet, or a new encoder or a compaction dropped
    /// it), or has doubled since its partition was built: <see cref="BuildPartition"/> is due.
    /// </summary>
    public bool PartitionDue
    {
        get
        {
            var snapshot = _snapshot;
            return _options.Semantic && snapshot.Matrix is not null && snapshot.Used > _options.SemanticExactLimit
                && (snapshot.Partition is null || snapshot.Used > 2 * snapshot.Partition.BuiltFor);
        }
    }

    /// <summary>True when semantic candidates come from the best clusters of the vectors rather than from all of them.</summary>
    public bool IsSemanticApproximate => _snapshot is { Partition: not null } snapshot && snapshot.Used > _options.SemanticExactLimit;

    /// <summary>
    /// Partitions the item vectors (k-means, <see cref="IvfPartition"/>) so semantic candidates score only the best
    /// clusters: O(items · √items · dim) on every core, outside the write lock, so searches and writes go on meanwhile;
    /// the slots written in between are filed before it is put in service, and the items are then laid out cluster by
    /// cluster (<see cref="InClusterOrder"/>). False when there was nothing to partition, or a new encoder or a
    /// compaction renumbered the vectors meanwhile (call again when <see cref="PartitionDue"/>).
    /// </summary>
    public bool BuildPartition(CancellationToken cancellationToken = default)
    {
        var basis = _snapshot;
        if (basis.Matrix is not { } matrix || basis.Used == 0) return false;
        var dim = basis.Dimension;
        var partition = IvfPartition.Build(slot => matrix[slot / ChunkRows].AsSpan(slot % ChunkRows * dim, dim), basis.Used, dim,
            slot => basis.At(slot) is not null, cancellationToken: cancellationToken);
        lock (_writeLock)
        {
            var now = _snapshot;
            if (!ReferenceEquals(now.SlotOf, basis.SlotOf) || !ReferenceEquals(now.Encoder, basis.Encoder) || now.Matrix is not { } current) return false;
            // Writes since copied the chunks they changed (and added new ones): refile every slot of those.
            for (var chunk = 0; chunk * ChunkRows < now.Used; chunk++)
            {
                if (chunk < matrix.Length && ReferenceEquals(current[chunk], matrix[chunk])) continue;
                for (var slot = chunk * ChunkRows; slot < Math.Min(now.Used, (chunk + 1) * ChunkRows); slot++)
                {
                    if (now.At(slot) is null) partition.Unfile(slot);
                    else partition.Set(slot, now.Vector(slot));
                }
            }
            partition.Publish();
            _snapshot = InClusterOrder(now, partition);
            return true;
        }
    }

    /// <summary>
    /// <paramref name="snapshot"/> with its items in fresh slots, cluster by cluster (a compaction in another order), so
    /// the rows a query's clusters hold lie in runs that are streamed rather than gathered one by one. Under the write lock;
    /// costs a copy of the vectors, once per partition.
    /// </summary>
    private Snapshot InClusterOrder(Snapshot snapshot, IvfPartition partition)
    {
        var version = Interlocked.Increment(ref _snapshotVersion);
        var dim = snapshot.Dimension;
        var ordered = new SnapshotWriter(new Snapshot(new Slots(), [], [], dim, 0, 0, snapshot.Vocabulary, snapshot.Encoder, version));
        var newSlot = new int[snapshot.Used];
        Array.Fill(newSlot, -1);
        for (var c = 0; c < partition.Clusters; c++)
        {
            foreach (var slot in partition.Members(c))
            {
                if (slot >= snapshot.Used || newSlot[slot] >= 0 || snapshot.At(slot) is not { } entry) continue;
                newSlot[slot] = ordered.Used;
                ordered.Put(entry, snapshot.Vector(slot));
            }
        }
        var unfiled = new List<int>();
        foreach (var (entry, slot) in snapshot.Live())
        {
            if (newSlot[slot] >= 0) continue;
            newSlot[slot] = ordered.Used;
            unfiled.Add(ordered.Used);
            ordered.Put(entry, snapshot.Vector(slot));
        }
        var renumbered = partition.Renumbered(newSlot, ordered.Used);
        var next = new Snapshot(ordered.SlotOf, ordered.Entries, ordered.Matrix, dim, ordered.Used, ordered.Count, snapshot.Vocabulary, snapshot.Encoder, version, renumbered);
        foreach (var slot in unfiled) renumbered.Set(slot, next.Vector(slot));
        renumbered.Publish();
        return next;
    }

    /// <summary>The written state as the next snapshot; compacted into fresh slots when most slots are empty.</summary>
    private Snapshot Publish(SnapshotWriter writer, QueryVocabulary vocabulary, ITextEncoder? encoder)
    {
        var version = Interlocked.Increment(ref _snapshotVersion);
        var used = writer.Used;
        if (used - writer.Count <= Math.Max(ChunkRows, used / 2))
        {
            writer.Partition?.Publish();
            return new Snapshot(writer.SlotOf, writer.Entries, writer.Matrix, writer.Dimension, used, writer.Count, vocabulary, encoder, version, writer.Partition);
        }
        // Compaction renumbers the slots, so it gets a map of its own: readers of older snapshots keep theirs. The
        // partition of the vectors is by slot too: it is built again (PartitionDue).
        var compacted = new SnapshotWriter(new Snapshot(new Slots(), [], writer.Matrix is null ? null : [], writer.Dimension, 0, 0, vocabulary, encoder, version));
        var dim = writer.Dimension;
        for (var slot = 0; slot < used; slot++)
            if (writer.Entries[slot / ChunkRows][slot % ChunkRows] is { } entry)
                compacted.Put(entry, writer.Matrix is null ? default : writer.Matrix[slot / ChunkRows].AsSpan(slot % ChunkRows * dim, dim));
        return new Snapshot(compacted.SlotOf, compacted.Entries, compacted.Matrix, dim, compacted.Used, compacted.Count, vocabulary, encoder, version);
    }

    /// <summary>The entry of <paramref name="item"/>, its keys interned.</summary>
    private Entry NewEntry(Item item, long sequence)
    {
        var keys = new string[item.CategoryPath.Count];
        for (var d = 1; d <= keys.Length; d++) keys[d - 1] = CategoryPaths.Key(item.CategoryPath, d);
        // Items of one path share one key array (the deepest key spells the path), so per-path work can be memoised.
        var keyOrdinals = Array.Empty<int>();
        if (keys.Length > 0) (keys, keyOrdinals) = _paths.GetOrAdd(keys[^1], static (_, k) => (k.Keys, Array.ConvertAll(k.Keys, k.Numbering.Intern)), (Keys: keys, Numbering: Keys.Categories));
        var brand = item.Brand is { } b && b.Trim() is { Length: > 0 } trimmed ? Keys.Brands.Intern(trimmed) : -1;
        return new Entry(item, keys, sequence, Keys.Items.Intern(item.Id), brand, keyOrdinals);
    }

    public ParsedQuery Parse(string query) => QueryParser.Parse(query, _snapshot.Vocabulary);

    /// <summary>
    /// Runs a search. Without a user, with <see cref="SearchRequest.Personalize"/> false, or when the user's profile
    /// and history say nothing, the order is the non-personal one (lexical + semantic + intent) exactly.
    /// </summary>
    public SearchResult Search(SearchRequest request, SearchUser? user = null, CatalogSnapshot? catalog = null, ItemPairs? coVisitation = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var snapshot = _snapshot;
        var limit = Math.Clamp(request.Limit, 1, 1000);
        var set = CachedCandidates(snapshot, request, catalog, Math.Max(_options.CandidatePool, limit));
        var (parsed, candidates) = (set.Parsed, set.Candidates);
        var personal = new double[candidates.Count];
        int[]? order = null;
        var weights = _weights.Weights;
        PersonalReranker.UserSignals? signals = null;
        double[]? features = null;
        if (request.Personalize && user is not null)
        {
            var depth = Math.Min(_options.RerankDepth, candidates.Count);
            signals = PrepareSignals(user, coVisitation, catalog);
            var facts = set.Facts(depth);
            var co = new float[depth];
            signals.CoScores(candidates, facts, co);
            // Recent items that co-occur with none of these candidates say nothing about this query.
            if (signals.HasProfileSignals || co.AsSpan().ContainsAnyExcept(0f))
            {
                var cosines = user is { Embedding: { } embedding, Model: { } model } ? set.SequenceCosines(model, embedding, depth) : null;
                var tiers = signals.Bands is null ? null : set.PriceTiers(catalog, depth);
                features = new double[depth * PersonalReranker.FeatureCount];
                order = PersonalReranker.Rerank(new PersonalReranker.RerankInputs(candidates, facts, tiers, cosines, co, features, Top: limit, PersonalCap: _options.PersonalCap), signals, weights, personal);
            }
        }
        var hits = new List<SearchHit>(Math.Min(limit, candidates.Count));
        for (var r = 0; r < candidates.Count && hits.Count < limit; r++)
        {
            var at = order is null ? r : order[r];
            var c = candidates[at];
            var p = personal[at];
            SearchReason? reason = null;
            if (features is not null && p > 0 && at * PersonalReranker.FeatureCount < features.Length)
                reason = PersonalReranker.Reason(weights, features.AsSpan(at * PersonalReranker.FeatureCount, PersonalReranker.FeatureCount), c.Entry.Item, catalog);
            reason ??= MatchReason(c, parsed);
            hits.Add(new SearchHit(c.Entry.Item, Math.Round(c.Base + p, 6),
                new ScoreBreakdown(Math.Round(c.Lexical, 6), Math.Round(c.Semantic, 6), Math.Round(c.Intent, 6), Math.Round(p, 6)), reason));
        }
        var encoder = _options.Semantic && request.Semantic ? snapshot.Encoder : null;
        return new SearchResult
        {
            Query = parsed, Hits = hits, Personalized = order is not null, Candidates = candidates.Count,
            Encoder = encoder is null ? null : new SearchEncoder(encoder.Kind, encoder.Version),
        };
    }

    /// <summary>The parsed query and its candidates, from the cache when this snapshot answered the same query and filters before.</summary>
    private CandidateSet CachedCandidates(Snapshot snapshot, SearchRequest request, CatalogSnapshot? catalog, int pool)
    {
        var variant = string.Create(CultureInfo.InvariantCulture, $"{request.Category}\u001e{request.PriceMin:R}\u001e{request.PriceMax:R}\u001e{pool}\u001e{request.Semantic}");
        // A query understood elsewhere answers differently from the same text parsed here: its reading is part of the key.
        if (request.Understood is { } understood) variant += "\u001e" + Reading(understood);
        var stamp = new CacheStamp(snapshot.Version, 0);
        return _candidateCache.GetOrCompute(request.Query, variant, stamp, () =>
        {
            var parsed = request.Understood ?? QueryParser.Parse(request.Query, snapshot.Vocabulary);
            return new CandidateSet(parsed, Candidates(snapshot, parsed, request, catalog, pool));
        });
    }

    private static string Reading(ParsedQuery q) => string.Create(CultureInfo.InvariantCulture,
        $"{q.Text}\u001f{q.PriceMin:R}\u001f{q.PriceMax:R}\u001f{q.PricePreference}\u001f{string.Join('\u001d', q.Brands)}\u001f{string.Join('\u001d', q.Categories)}");

    /// <summary>The user's re-ranking signals against this index, the text-affinity feature included.</summary>
    public PersonalReranker.UserSignals PrepareSignals(SearchUser user, ItemPairs? coVisitation, CatalogSnapshot? catalog)
    {
        ArgumentNullException.ThrowIfNull(user);
        return PersonalReranker.Prepare(user, Keys, coVisitation, catalog, TextAffinityOf(user.RecentItems));
    }

    /// <summary>
    /// Cosine of a candidate's text vector with the normalised mean of <paramref name="recentItems"/>' vectors, from one
    /// snapshot; null without an encoder or when none of the items is indexed. Items encoded by meaning say what a shopper
    /// likes where co-visitation has nothing (new items, rare pairs).
    /// </summary>
    public Func<Candidate, double>? TextAffinityOf(IReadOnlyList<string> recentItems)
    {
        ArgumentNullException.ThrowIfNull(recentItems);
        var snapshot = _snapshot;
        if (snapshot.Encoder is null || snapshot.Matrix is null || recentItems.Count == 0) return null;
        var dim = snapshot.Dimension;
        var mean = new float[dim];
        var found = 0;
        foreach (var id in recentItems)
            if (SlotIn(snapshot, id) is >= 0 and var slot)
            {
                TensorPrimitives.Add(mean, snapshot.Vector(slot), mean);
                found++;
            }
        var norm = TensorPrimitives.Norm(mean);
        if (found == 0 || norm == 0) return null;
        TensorPrimitives.Divide(mean, norm, mean);
        return candidate => SlotIn(snapshot, candidate.Entry.Item.Id) is >= 0 and var slot ? TensorPrimitives.Dot(snapshot.Vector(slot), mean) : 0;
    }

    /// <summary>The item's live slot in <paramref name="snapshot"/>; -1 when it has none there.</summary>
    private static int SlotIn(Snapshot snapshot, string id) =>
        snapshot.SlotOf.TryGetValue(id, out var slot) && slot < snapshot.Used && snapshot.At(slot) is { } entry && entry.Item.Id == id ? slot : -1;

    /// <summary>A copy of the item's text vector from the encoder in service; null without an encoder or for an item not encoded.</summary>
    public float[]? TextVectorOf(string itemId)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        var snapshot = _snapshot;
        return snapshot.Encoder is not null && snapshot.Matrix is not null && SlotIn(snapshot, itemId) is >= 0 and var slot ? snapshot.Vector(slot).ToArray() : null;
    }

    public IReadOnlyList<ScoredId> Nearest(string itemId, int count, Func<string, bool> accept)
    {
        ArgumentNullException.ThrowIfNull(itemId);
        ArgumentNullException.ThrowIfNull(accept);
        var snapshot = _snapshot;
        if (count <= 0 || snapshot.Encoder is null || snapshot.Matrix is null || SlotIn(snapshot, itemId) is not (>= 0 and var slot)) return [];
        var vector = snapshot.Vector(slot).ToArray();
        return [.. SemanticSearch(snapshot, vector, count, entry => entry.Item.Id != itemId && accept(entry.Item.Id), minCosine: 0)
            .Select(r => new ScoredId(r.Item1.Item.Id, (float)r.Item2))];
    }

    /// <summary>The items nearest <paramref name="text"/> by meaning alone (cosine of the encoder's vectors), best first; empty without an encoder.</summary>
    public List<(Item Item, double Cosine)> SemanticOnly(string text, int top)
    {
        var snapshot = _snapshot;
        if (snapshot.Encoder is not { } encoder || string.IsNullOrWhiteSpace(text)) return [];
        return [.. SemanticSearch(snapshot, encoder.Encode(text), top, filter: null, minCosine: 0).Select(r => (r.Item1.Item, r.Item2))];
    }

    /// <summary>
    /// Fused non-personal candidates, best first (ties: older items first): both retrievers' pools, scored as lexical + semantic
    /// contributions plus intent boosts. Exposed for evaluation and for learning the re-ranker from logs.
    /// </summary>
    public List<Candidate> Candidates(ParsedQuery parsed, SearchRequest request, CatalogSnapshot? catalog = null, int? pool = null) =>
        Candidates(_snapshot, parsed, request, catalog, pool ?? _options.CandidatePool);

    private List<Candidate> Candidates(Snapshot snapshot, ParsedQuery parsed, SearchRequest request, CatalogSnapshot? catalog, int pool)
    {
        var filter = Filter(snapshot, parsed, request);
        var terms = TextAnalyzer.Analyze(parsed.Text);
        var lexical = _lexical.Search(terms, pool, filter is null ? null : id => snapshot.TryGet(id, out var e) && filter(e), _options.LexicalMinShare);
        List<(Entry Entry, double Cosine)> semantic = [];
        float[]? query = null;
        if (_options.Semantic && request.Semantic && snapshot.Encoder is { } encoder && parsed.Text.Length > 0)
            semantic = SemanticSearch(snapshot, query = encoder.Encode(parsed.Text), pool, filter, _options.MinSemanticSimilarity);

        var merged = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        var maxLexical = lexical.Count > 0 ? lexical[0].Score : 1;
        var alpha = semantic.Count > 0 ? _options.Alpha : 1.0;
        for (var r = 0; r < lexical.Count; r++)
        {
            if (!snapshot.TryGet(lexical[r].Id, out var entry)) continue;
            var score = _options.Fusion == FusionMode.Rrf ? Rrf(r) : alpha * lexical[r].Score / maxLexical;
            merged[entry.Item.Id] = new Candidate(entry) { Lexical = score, Bm25 = lexical[r].Score };
        }
        for (var r = 0; r < semantic.Count; r++)
        {
            var (entry, cosine) = semantic[r];
            var score = _options.Fusion == FusionMode.Rrf ? Rrf(r) : (1 - alpha) * Math.Max(0, cosine);
            if (merged.TryGetValue(entry.Item.Id, out var c)) c.Semantic = score;
            else merged[entry.Item.Id] = new Candidate(entry) { Semantic = score };
        }
        if (query is not null && semantic.Count > 0 && _options.Fusion == FusionMode.Blend && snapshot.Partition is not null && snapshot.Used > _options.SemanticExactLimit)
        {
            // The clusters can miss a word match that the exact scan would have found by meaning too: such a candidate gets
            // its cosine from its own vector when that reaches the pool's last one, so the approximation changes which
            // items come in by meaning alone, not how the word matches are ordered.
            var cutoff = semantic.Count == pool ? semantic[^1].Cosine : _options.MinSemanticSimilarity;
            foreach (var c in merged.Values)
            {
                if (c.Semantic > 0 || !snapshot.SlotOf.TryGetValue(c.Entry.Item.Id, out var slot) || slot >= snapshot.Used || !ReferenceEquals(snapshot.At(slot), c.Entry)) continue;
                var cosine = TensorPrimitives.Dot(snapshot.Vector(slot), query);
                if (cosine > 0 && cosine >= cutoff) c.Semantic = (1 - alpha) * cosine;
            }
        }
        foreach (var c in merged.Values) c.Intent = Intent(c.Entry, parsed, catalog);
        var list = merged.Values.ToList();
        list.Sort((a, b) =>
        {
            var c = b.Base.CompareTo(a.Base);
            return c != 0 ? c : a.Entry.Sequence.CompareTo(b.Entry.Sequence);
        });
        // What matches the query far worse than its best match (one shared character, a vague meaning) is no match:
        // dropping it here keeps re-ranking from lifting it over the items the query asked for.
        if (_options.RelevanceFloor > 0 && list.Count > 0)
        {
            var floor = _options.RelevanceFloor * list[0].Base;
            var keep = list.FindLastIndex(c => c.Base >= floor) + 1;
            list.RemoveRange(keep, list.Count - keep);
        }
        return list;

        // Scaled so a first place in both lists scores 1.
        static double Rrf(int rank) => 0.5 * 61.0 / (61 + rank);
    }

    private double Intent(Entry entry, ParsedQuery parsed, CatalogSnapshot? catalog)
    {
        var boost = 0.0;
        if (parsed.Brands.Count > 0 && entry.Item.Brand is { } brand && parsed.Brands.Contains(brand.Trim()))
            boost += _options.BrandBoost;
        if (parsed.Categories.Count > 0 && entry.CategoryKeys.Length > 0)
        {
            // The deepest mentioned category the item lies in, as a share of the item's depth.
            for (var d = entry.CategoryKeys.Length; d >= 1; d--)
            {
                if (!parsed.Categories.Contains(entry.CategoryKeys[d - 1])) continue;
                boost += _options.CategoryBoost * d / entry.CategoryKeys.Length;
                break;
            }
        }
        if (parsed.PricePreference != PricePreference.None && entry.Item.Price is not null && catalog?.PricePercentile(entry.Item.Id) is { } pct)
            boost += _options.PricePreferenceBoost * (parsed.PricePreference == PricePreference.Low ? 1 - pct : pct);
        return boost;
    }

    private static Func<Entry, bool>? Filter(Snapshot snapshot, ParsedQuery parsed, SearchRequest request)
    {
        var max = Min(parsed.PriceMax, request.PriceMax);
        var min = Max(parsed.PriceMin, request.PriceMin);
        HashSet<string>? categories = null;
        if (!string.IsNullOrWhiteSpace(request.Category))
        {
            var wanted = request.Category.Trim();
            categories = new HashSet<string>(StringComparer.Ordinal);
            if (wanted.Contains(CategoryPaths.Separator, StringComparison.Ordinal)) categories.Add(wanted);
            else
            {
                categories.UnionWith(snapshot.Vocabulary.Find(TextNormalizer.Normalize(wanted)).Categories);
                categories.Add(wanted);
            }
        }
        if (max is null && min is null && categories is null) return null;
        return e =>
        {
            if ((max is not null || min is not null) && e.Item.Price is not { } price) return false;
            if (max is { } hi && e.Item.Price > hi) return false;
            if (min is { } lo && e.Item.Price < lo) return false;
            if (categories is not null && !e.CategoryKeys.Any(categories.Contains)) return false;
            return true;
        };

        static double? Min(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
        static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
    }

    /// <summary>
    /// The items whose (unit) vectors have the largest cosine with <paramref name="query"/>, best first: at least
    /// <paramref name="minCosine"/> (and above 0), passing <paramref name="filter"/>, at most <paramref name="top"/>.
    /// Up to <see cref="ProductSearchOptions.SemanticExactLimit"/> slots, and until the partition is built, every vector
    /// is scored (O(items · dim) SIMD dot products, four rows at a time); above it only the rows of the best clusters
    /// (<see cref="ProductSearchOptions.SemanticProbeFraction"/> of them), and everything when those run out before
    /// <paramref name="top"/> or the floor (a selective filter). Empty slots hold zero rows, so they score 0 and are never returned.
    /// </summary>
    private List<(Entry, double)> SemanticSearch(Snapshot snapshot, float[] query, int top, Func<Entry, bool>? filter, double minCosine)
    {
        var result = new List<(Entry, double)>();
        var rows = snapshot.Used;
        var dim = snapshot.Dimension;
        if (TensorPrimitives.Norm(query) == 0 || rows == 0 || snapshot.Matrix is not { } matrix || dim != query.Length) return result;
        if (snapshot.Partition is { } partition && rows > _options.SemanticExactLimit)
        {
            var probed = partition.ProbedClusters(query, _options.SemanticProbeFraction);
            var count = 0;
            foreach (var cluster in probed) count += cluster.Length;
            var slots = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, count));
            var near = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, count));
            try
            {
                var n = 0;
                foreach (var cluster in probed)
                {
                    // A cluster's slots mostly lie in runs (InClusterOrder): each run within a chunk is one (run, dim) · (dim)
                    // product. Slots at or past `rows` were filed by a later write than this snapshot.
                    for (var i = 0; i < cluster.Length;)
                    {
                        var first = cluster[i];
                        if (first >= rows)
                        {
                            i++;
                            continue;
                        }
                        var chunkEnd = Math.Min(rows, (first / ChunkRows + 1) * ChunkRows);
                        var length = 1;
                        while (i + length < cluster.Length && cluster[i + length] == first + length && first + length < chunkEnd) length++;
                        RowDots.Compute(matrix[first / ChunkRows].AsSpan(first % ChunkRows * dim, length * dim), query, near.AsSpan(n, length));
                        for (var r = 0; r < length; r++) slots[n + r] = first + r;
                        n += length;
                        i += length;
                    }
                }
                if (Collect(snapshot, near, slots, n, top, filter, minCosine, result)) return result;
                result.Clear();
            }
            finally
            {
                System.Buffers.ArrayPool<int>.Shared.Return(slots);
                System.Buffers.ArrayPool<float>.Shared.Return(near);
            }
        }
        var scores = System.Buffers.ArrayPool<float>.Shared.Rent(rows);
        try
        {
            for (var chunk = 0; chunk * ChunkRows < rows; chunk++)
            {
                var n = Math.Min(ChunkRows, rows - chunk * ChunkRows);
                RowDots.Compute(matrix[chunk].AsSpan(0, n * dim), query, scores.AsSpan(chunk * ChunkRows, n)); // (n, dim) · (dim) → (n)
            }
            Collect(snapshot, scores, null, rows, top, filter, minCosine, result);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scores);
        }
        return result;
    }

    /// <summary>
    /// Adds to <paramref name="result"/>, best first, the scored slots (<paramref name="slots"/>[i], or i itself when null,
    /// scored <paramref name="scores"/>[i], i &lt; <paramref name="n"/>) that pass the floor and the filter, up to
    /// <paramref name="top"/>. Only the best few times top are put in order and filtered, the rest too when the filter
    /// rejected most of those. False when the candidates ran out before top or the floor.
    /// </summary>
    private static bool Collect(Snapshot snapshot, float[] scores, int[]? slots, int n, int top, Func<Entry, bool>? filter, double minCosine,
        List<(Entry, double)> result)
    {
        var head = RowDots.TopRows(scores, n, filter is null ? top : Math.Max(4 * top, top + 64));
        if (Offer(head)) return true;
        if (filter is null || head.Length == n) return false;
        result.Clear();
        return Offer(RowDots.TopRows(scores, n, n));

        bool Offer(int[] order)
        {
            foreach (var i in order)
            {
                if (result.Count == top || scores[i] <= 0 || scores[i] < minCosine) return true;
                if (snapshot.At(slots is null ? i : slots[i]) is { } entry && (filter is null || filter(entry))) result.Add((entry, scores[i]));
            }
            return result.Count == top;
        }
    }

    private static SearchReason MatchReason(Candidate c, ParsedQuery parsed)
    {
        if (c.Intent > 0 && parsed.Brands.Count > 0 && c.Entry.Item.Brand is { } b && parsed.Brands.Contains(b.Trim()))
            return new SearchReason($"Brand you searched for: {b}", $"你搜索的品牌：{b}");
        if (c.Lexical >= c.Semantic && c.Lexical > 0)
            return new SearchReason("Matches the words of your query", "与搜索词匹配");
        if (c.Semantic > 0)
            return new SearchReason("Similar in meaning to your query", "与搜索词语义相近");
        return new SearchReason("In the category you searched for", "属于你搜索的类目");
    }

    public void Dispose() => _lexical.Dispose();

    /// <summary>The catalog's vectors as <see cref="EncodedItems"/> gives them for storing.</summary>
    public sealed record EncodedCatalog(IEnumerable<EncodedItem> Items, float[]? Centroids, int PartitionRows);

    /// <summary>
    /// An indexed item: its category keys (depth 1..n), when it was first
    /// indexed (<paramref name="Sequence"/> breaks score ties, older items first, like a search engine's docid), and the
    /// ordinals in <see cref="Keys"/> of the item, its trimmed brand (-1: none) and its category keys.
    /// </summary>
    public sealed record Entry(Item Item, string[] CategoryKeys, long Sequence, int Ordinal, int Brand, int[] CategoryKeyOrdinals);

    /// <summary>A fused candidate; <see cref="Base"/> is its non-personal score.</summary>
    public sealed class Candidate(Entry entry)
    {
        public Entry Entry { get; } = entry;
        /// <summary>Raw BM25, 0 when only the semantic retriever found it.</summary>
        public double Bm25 { get; init; }
        public double Lexical { get; set; }
        public double Semantic { get; set; }
        public double Intent { get; set; }
        public double Base => Lexical + Semantic + Intent;
    }

    /// <summary>Slots per chunk: an upsert copies the chunks it touches (entries and vector rows), never the whole catalog.</summary>
    internal const int ChunkRows = 1024;

    /// <summary>
    /// The live entry of <paramref name="id"/> in chunked <paramref name="entries"/> of which <paramref name="used"/> slots are
    /// numbered. The id check: a slot numbered by a write that failed part-way may have gone to another item since.
    /// </summary>
    private static Entry? EntryOf(Slots slotOf, Entry?[][] entries, int used, string id) =>
        slotOf.TryGetValue(id, out var slot) && slot < used && entries[slot / ChunkRows][slot % ChunkRows] is { } found && found.Item.Id == id ? found : null;

    /// <summary>Item id → slot, shared by the snapshots of one numbering; it only grows (a removed item keeps its slot, empty).</summary>
    private sealed class Slots : System.Collections.Concurrent.ConcurrentDictionary<string, int>
    {
        public Slots() : base(StringComparer.Ordinal) { }
    }

    /// <summary>
    /// One immutable state of the index: entries by slot in chunks of <see cref="ChunkRows"/> (null: empty slot), and when
    /// an encoder is set their unit vectors, chunk c a (ChunkRows, dim) row-major matrix whose row i is slot c·ChunkRows + i
    /// (zeros for an empty slot). <paramref name="SlotOf"/> may hold ids added after this snapshot: their slots lie at or
    /// beyond <paramref name="Used"/> (the slots numbered so far, live or empty), or in a chunk this snapshot holds as it
    /// was. <paramref name="Count"/> is the number of live entries.
    /// </summary>
    private sealed record Snapshot(Slots SlotOf, Entry?[][] Entries, float[][]? Matrix, int Dimension, int Used, int Count, QueryVocabulary Vocabulary,
        ITextEncoder? Encoder, long Version, IvfPartition? Partition = null)
    {
        public ReadOnlySpan<float> Vector(int slot) => Matrix![slot / ChunkRows].AsSpan(slot % ChunkRows * Dimension, Dimension);

        public Entry? At(int slot) => Entries[slot / ChunkRows][slot % ChunkRows];

        public bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Entry? entry)
        {
            entry = EntryOf(SlotOf, Entries, Used, id);
            return entry is not null;
        }

        public IEnumerable<(Entry Entry, int Slot)> Live()
        {
            for (var slot = 0; slot < Used; slot++)
                if (At(slot) is { } entry) yield return (entry, slot);
        }
    }

    /// <summary>
    /// Builds the next snapshot from one: chunks are copied the first time the writer touches them (new ones allocated
    /// whole), and nothing the old snapshot holds is changed. Under the write lock.
    /// </summary>
    private sealed class SnapshotWriter
    {
        private readonly Snapshot _old;
        private Entry?[][] _entries;
        private float[][]? _matrix;
        private readonly HashSet<int> _copied = [];

        public SnapshotWriter(Snapshot old)
        {
            _old = old;
            _entries = old.Entries;
            _matrix = old.Matrix;
            Dimension = old.Dimension;
            Count = old.Count;
            Used = old.Used;
        }

        public Slots SlotOf => _old.SlotOf;
        /// <summary>The old snapshot's partition of the vectors, which this writer refiles the slots it changes in (published with the snapshot).</summary>
        public IvfPartition? Partition => _old.Partition;
        public Entry?[][] Entries => _entries;
        public float[][]? Matrix => _matrix;
        public int Dimension { get; }
        public int Count { get; private set; }
        public int Used { get; private set; }

        public Entry? Find(string id) => EntryOf(SlotOf, _entries, Used, id);

        private Entry? At(int slot) => _entries[slot / ChunkRows][slot % ChunkRows];

        /// <summary>Puts <paramref name="entry"/> in its item's slot (a new one at the end for a new item) with its vector (null: no encoder).</summary>
        public void Put(Entry entry, ReadOnlySpan<float> vector)
        {
            if (!SlotOf.TryGetValue(entry.Item.Id, out var slot) || slot >= Used || (At(slot) is { } other && other.Item.Id != entry.Item.Id))
            {
                slot = Used++;
                SlotOf[entry.Item.Id] = slot;
            }
            var (chunk, row) = Writable(slot);
            if (chunk[row] is null) Count++;
            chunk[row] = entry;
            if (_matrix is not null)
            {
                var rows = _matrix[slot / ChunkRows].AsSpan(row * Dimension, Dimension);
                if (vector.Length == Dimension)
                {
                    vector.CopyTo(rows);
                    Partition?.Set(slot, vector);
                }
                else
                {
                    rows.Clear();
                    Partition?.Unfile(slot);
                }
            }
        }

        public void Remove(string id)
        {
            if (Find(id) is null) return;
            var slot = SlotOf[id];
            var (chunk, row) = Writable(slot);
            chunk[row] = null;
            Count--;
            _matrix?[slot / ChunkRows].AsSpan(row * Dimension, Dimension).Clear();
            Partition?.Unfile(slot);
        }

        /// <summary>The chunk holding <paramref name="slot"/>: this writer's own copy.</summary>
        private (Entry?[] Chunk, int Row) Writable(int slot)
        {
            var c = slot / ChunkRows;
            var row = slot % ChunkRows;
            if (!_copied.Add(c)) return (_entries[c], row);
            if (ReferenceEquals(_entries, _old.Entries)) _entries = (Entry?[][])_old.Entries.Clone();
            if (_matrix is not null && ReferenceEquals(_matrix, _old.Matrix)) _matrix = (float[][])_old.Matrix!.Clone();
            if (c < _entries.Length)
            {
                _entries[c] = (Entry?[])_entries[c].Clone();
                if (_matrix is not null) _matrix[c] = (float[])_matrix[c].Clone();
            }
            else
            {
                // Slots are numbered in order, so a new chunk is always the next one.
                Array.Resize(ref _entries, c + 1);
                _entries[c] = new Entry?[ChunkRows];
                if (_matrix is not null)
                {
                    Array.Resize(ref _matrix, c + 1);
                    _matrix[c] = new float[ChunkRows * Dimension];
                }
            }
            return (_entries[c], row);
        }
    }

    /// <summary>
    /// A query as parsed and its fused candidates, best first; shared by concurrent searches, so never changed, apart
    /// from the lazily resolved item vectors of the head in the sequence model (resolved again when the model changes):
    /// a learned item's row in the model's table, or a new item's vector composed from its attributes, so a search
    /// reads item vectors without a dictionary lookup per candidate.
    /// </summary>
    private sealed class CandidateSet(ParsedQuery parsed, List<Candidate> candidates)
    {
        private volatile ModelRows? _rows;
        private volatile PriceTiersOf? _tiers;
        private PersonalReranker.CandidateFacts[]? _facts;

        public ParsedQuery Parsed { get; } = parsed;
        public List<Candidate> Candidates { get; } = candidates;

        /// <summary>The packed facts of the first <paramref name="depth"/> candidates (built once: candidates never change).</summary>
        public PersonalReranker.CandidateFacts[] Facts(int depth)
        {
            var facts = Volatile.Read(ref _facts);
            if (facts is null || facts.Length != depth)
            {
                facts = new PersonalReranker.CandidateFacts[depth];
                for (var i = 0; i < depth; i++) facts[i] = PersonalReranker.CandidateFacts.Of(Candidates[i]);
                Volatile.Write(ref _facts, facts);
            }
            return facts;
        }

        /// <summary>The first <paramref name="depth"/> candidates' price tiers in <paramref name="catalog"/> (resolved again when it changes).</summary>
        public int[] PriceTiers(CatalogSnapshot? catalog, int depth)
        {
            var tiers = _tiers;
            if (tiers is null || !ReferenceEquals(tiers.Catalog, catalog) || tiers.Tiers.Length != depth)
            {
                var resolved = new int[depth];
                for (var i = 0; i < depth; i++) resolved[i] = PersonalReranker.PriceTier(catalog, Candidates[i].Entry.Item);
                _tiers = tiers = new PriceTiersOf(catalog, resolved);
            }
            return tiers.Tiers;
        }

        /// <summary>Cosine of <paramref name="user"/> with each of the first <paramref name="depth"/> candidates' item vectors (0 without one).</summary>
        public double[] SequenceCosines(Models.Sequence.ISequenceModel model, float[] user, int depth)
        {
            var rows = _rows;
            if (rows is null || !ReferenceEquals(rows.Model, model) || rows.Rows.Length < depth)
            {
                var resolved = new int[depth];
                var composed = new float[]?[depth];
                for (var i = 0; i < depth; i++)
                {
                    var item = Candidates[i].Entry.Item;
                    resolved[i] = model.Row(item);
                    if (resolved[i] < 0) composed[i] = model.ItemVector(item);
                }
                _rows = rows = new ModelRows(model, resolved, composed);
            }
            var cosines = new double[depth];
            model.RowCosines(user, rows.Rows.AsSpan(0, depth), cosines);
            for (var i = 0; i < depth; i++)
            {
                if (rows.Rows[i] >= 0) continue;
                var cosine = rows.Composed[i] is { } v && v.Length == user.Length ? TensorPrimitives.CosineSimilarity(user, v) : 0;
                cosines[i] = float.IsFinite(cosine) ? cosine : 0;
            }
            return cosines;
        }
    }

    /// <summary>The head's rows in <paramref name="Model"/>'s table (-1: none) and, for those without, their composed vectors.</summary>
    private sealed record ModelRows(Models.Sequence.ISequenceModel Model, int[] Rows, float[]?[] Composed);

    private sealed record PriceTiersOf(CatalogSnapshot? Catalog, int[] Tiers);
}
