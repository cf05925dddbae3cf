using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Search;

namespace Persona.Core.Tests.Search;

/// <summary>
/// The index keeps its items in chunks of slots, copied only where a write touches them, with the item vectors in one
/// matrix per chunk: after any sequence of upserts, removals and encoder changes it holds exactly the items a plain
/// dictionary would, each with its text's vector, the semantic retriever finds what a brute-force scan finds, and a
/// reader's snapshot never changes under it.
/// </summary>
public sealed class ProductSearchIndexSlotsTests
{
    private static readonly string[] Words = ["matte", "velvet", "gloss", "serum", "cream", "mask", "oil", "tint", "balm", "mist", "口红", "精华"];
    private static readonly string[][] Paths = [["Makeup", "Lips"], ["Skin", "Face"], ["Hair", "Care"]];

    private static readonly Lazy<SemanticEncoder> Encoder = new(() =>
    {
        var items = Enumerable.Range(0, 120).Select(i => NewItem(i, i)).ToList();
        return SemanticEncoder.Train(SemanticPairs.Build(items), new SemanticEncoderOptions { Buckets = 1 << 10, Dimension = 16, Epochs = 2, BatchSize = 32 });
    });

    private static Item NewItem(int id, int variant, bool available = true) => new()
    {
        Id = $"i{id}",
        Title = $"{Words[variant % Words.Length]} {Words[variant / Words.Length % Words.Length]} {id}",
        Brand = $"b{variant % 7}",
        Price = 5 + variant % 50,
        CategoryPath = Paths[id % Paths.Length],
        Available = available,
    };

    /// <summary>One write: a batch of (id, variant, available) upserts, a removal by id, an encoder change or (kind 3) a partition of the vectors.</summary>
    private sealed record Step(int Kind, (int Id, int Variant, bool Available)[] Batch, int RemoveId, bool WithEncoder);

    private static Gen<Step> StepGen(int ids) =>
        from kind in Gen.Frequency((6, Gen.Constant(0)), (2, Gen.Constant(1)), (1, Gen.Constant(2)), (2, Gen.Constant(3)))
        from size in Gen.Choose(1, 1_500)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        from removeId in Gen.Choose(0, ids - 1)
        from withEncoder in Gen.Elements(true, false)
        select new Step(kind, Batch(seed, size, ids), removeId, withEncoder);

    private static (int, int, bool)[] Batch(int seed, int size, int ids)
    {
        var random = new Random(seed);
        // Mostly fresh or changed items; a tenth made unavailable, which removes them.
        return [.. Enumerable.Range(0, size).Select(_ => (random.Next(ids), random.Next(1_000), random.Next(10) > 0))];
    }

    private int _semanticChecks;
    private int _approximateChecks;

    /// <summary>
    /// Partitioned: above 100 items the semantic leg scans the partition's clusters, all of them (probe fraction 1), so
    /// its pool must still be the brute-force scan's: every live slot filed once, with its vector now, nothing stale.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnyWrites_HoldWhatADictionaryHolds_WithEachTextsVector(bool partitioned)
    {
        var options = partitioned
            ? new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0, SemanticExactLimit = 100, SemanticProbeFraction = 1 }
            : new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0 };
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(12), Prop.ForAll(Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(StepGen(3_000), n)).ToArbitrary(), steps =>
        {
            var index = new ProductSearchIndex(options);
            var model = new Dictionary<string, Item>(StringComparer.Ordinal);
            foreach (var step in steps)
            {
                var before = index.Items;
                var expectedBefore = model.Keys.Order(StringComparer.Ordinal).ToArray();
                switch (step.Kind)
                {
                    case 0:
                        var items = step.Batch.Select(b => NewItem(b.Id, b.Variant, b.Available)).ToList();
                        index.Upsert(items);
                        foreach (var item in items)
                            if (item.Available) model[item.Id] = item;
                            else model.Remove(item.Id);
                        break;
                    case 1:
                        Assert.Equal(model.Remove($"i{step.RemoveId}"), index.Remove($"i{step.RemoveId}"));
                        break;
                    case 2:
                        index.SetEncoder(step.WithEncoder ? Encoder.Value : null);
                        break;
                    default:
                        if (partitioned) index.BuildPartition();
                        break;
                }
                // The enumerable taken before the write reads the snapshot of before it.
                Assert.Equal(expectedBefore, before.Select(i => i.Id).Order(StringComparer.Ordinal).ToArray());
                CheckAgainst(index, model);
            }
            index.SetEncoder(Encoder.Value);
            CheckAgainst(index, model);
            if (partitioned && index.PartitionDue)
            {
                Assert.True(index.BuildPartition());
                Assert.False(index.PartitionDue);
                CheckAgainst(index, model);
            }
            // Changed texts under a set encoder get their new vectors.
            var changed = steps.SelectMany(s => s.Batch).Take(50).Select(b => NewItem(b.Id, b.Variant + 1)).ToList();
            index.Upsert(changed);
            foreach (var item in changed) model[item.Id] = item;
            CheckAgainst(index, model);
            return true;
        }));
        Assert.True(_semanticChecks > 0, "no semantic pool was compared");
        Assert.Equal(partitioned, _approximateChecks > 0);
    }

    [Fact]
    public async Task WritesWhileThePartitionIsBuilt_AreFiledBeforeItServes()
    {
        var index = new ProductSearchIndex(new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0, SemanticExactLimit = 100, SemanticProbeFraction = 1 });
        var model = Enumerable.Range(0, 20_000).Select(i => NewItem(i, i)).ToDictionary(i => i.Id, StringComparer.Ordinal);
        index.Upsert(model.Values);
        index.SetEncoder(Encoder.Value);
        Assert.True(index.PartitionDue);
        var build = Task.Run(() => index.BuildPartition());
        var random = new Random(4);
        for (var round = 0; round < 3 || !build.IsCompleted; round++)
        {
            var batch = Enumerable.Range(0, 200).Select(_ => NewItem(random.Next(25_000), random.Next(1_000), random.Next(10) > 0)).ToList();
            index.Upsert(batch);
            foreach (var item in batch)
                if (item.Available) model[item.Id] = item;
                else model.Remove(item.Id);
        }
        Assert.True(await build);
        Assert.False(index.PartitionDue);
        Assert.True(index.IsSemanticApproximate);
        // Many items share their words, so a query's pool may end in a near-tie, which the check skips: ask several.
        foreach (var query in WordPairs(6)) CheckAgainst(index, model, query);
        Assert.True(_approximateChecks > 0);
    }

    [Fact]
    public void StoredVectorsWithTheirPartition_PutThePartitionInServiceAtOnce()
    {
        var options = new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0, SemanticExactLimit = 100, SemanticProbeFraction = 1 };
        var model = Enumerable.Range(0, 3_000).Select(i => NewItem(i, i)).ToDictionary(i => i.Id, StringComparer.Ordinal);
        var built = new ProductSearchIndex(options);
        built.Upsert(model.Values);
        built.SetEncoder(Encoder.Value);
        Assert.True(built.BuildPartition());
        var encoded = built.EncodedItems(Encoder.Value);
        var stored = new StoredVectors(encoded.Items.ToDictionary(e => e.Id, StringComparer.Ordinal), encoded.Centroids, encoded.PartitionRows);
        Assert.NotNull(stored.Centroids);
        Assert.All(stored.Items.Values, e => Assert.True(e.Cluster >= 0));

        // A restart: the items in another order, one text changed (its stored vector and cluster are not reused).
        model["i5"] = NewItem(5, 999);
        var restored = new ProductSearchIndex(options);
        restored.Upsert(model.Values.Reverse());
        Assert.Equal(model.Count - 1, restored.SetEncoder(Encoder.Value, stored));
        Assert.True(restored.IsSemanticApproximate);
        Assert.False(restored.PartitionDue);
        foreach (var query in WordPairs(6)) CheckAgainst(restored, model, query);
        Assert.True(_approximateChecks > 0);
    }

    /// <summary>
    /// Probing few clusters misses items the exact scan finds by meaning; a word match among them still gets the cosine
    /// the exact scan gave it, so the order of the word matches does not depend on the probes.
    /// </summary>
    [Fact]
    public void FewProbes_WordMatchesKeepTheExactScansSemanticScore()
    {
        var items = Enumerable.Range(0, 6_000).Select(i => NewItem(i, i * 7 % 1_000)).ToList();
        var exact = Encoded(new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0 }, items);
        var approximate = Encoded(new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0, SemanticExactLimit = 1_000, SemanticProbeFraction = 0.02 }, items);
        Assert.True(approximate.BuildPartition());
        var compared = 0;
        foreach (var query in WordPairs(Words.Length))
        {
            var truth = exact.Candidates(exact.Parse(query), new SearchRequest { Query = query }).ToDictionary(c => c.Entry.Item.Id);
            foreach (var c in approximate.Candidates(approximate.Parse(query), new SearchRequest { Query = query }))
            {
                if (c.Bm25 <= 0 || !truth.TryGetValue(c.Entry.Item.Id, out var t) || t.Semantic <= 0) continue;
                Assert.Equal(t.Semantic, c.Semantic, 5);
                compared++;
            }
        }
        Assert.True(compared > 100, $"only {compared} word matches compared");
    }

    [Fact]
    public void DefaultProbes_FindMostOfTheExactScansPool()
    {
        var items = Enumerable.Range(0, 20_000).Select(i => NewItem(i, i * 7 % 1_000)).ToList();
        var exact = Encoded(new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0, MinSemanticSimilarity = 0 }, items);
        var approximate = Encoded(new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0, MinSemanticSimilarity = 0, SemanticExactLimit = 1_000 }, items);
        Assert.True(approximate.BuildPartition());
        Assert.True(approximate.IsSemanticApproximate);
        Assert.False(exact.IsSemanticApproximate);

        // Many titles share their two words, so ties are common: a hit counts when it scores at least the exact 20th.
        var found = 0;
        var wanted = 0;
        foreach (var query in WordPairs(Words.Length))
        {
            var truth = SemanticScores(exact, query, 20);
            if (truth.Length == 0) continue;
            wanted += truth.Length;
            found += SemanticScores(approximate, query, 20).Count(score => score >= truth[^1] - 1e-6);
        }
        Assert.True(wanted > 0);
        Assert.True(found >= 0.9 * wanted, $"recall@20 {found / (double)wanted:0.000}");

        static double[] SemanticScores(ProductSearchIndex index, string query, int pool) =>
            [.. index.Candidates(index.Parse(query), new SearchRequest { Query = query }, pool: pool).Select(c => c.Semantic).Where(s => s > 0).OrderDescending()];
    }

    [Fact]
    public void RemovingMostItems_CompactsTheSlots_AndKeepsTheRest()
    {
        var index = new ProductSearchIndex(new ProductSearchOptions { CandidateCacheSeconds = 0, RelevanceFloor = 0 });
        var items = Enumerable.Range(0, 3_000).Select(i => NewItem(i, i)).ToList();
        index.Upsert(items);
        index.SetEncoder(Encoder.Value);
        var kept = items.Where((_, i) => i % 6 == 0).ToDictionary(i => i.Id, StringComparer.Ordinal);
        index.Upsert(items.Where((_, i) => i % 6 != 0).Select(i => i with { Available = false }));
        CheckAgainst(index, kept);
        Assert.True(index.Remove("i0"));
        kept.Remove("i0");
        index.Upsert([NewItem(0, 5)]);
        kept["i0"] = index.TryGetItem("i0", out var back) ? back! : throw new InvalidOperationException("i0 not back");
        CheckAgainst(index, kept);
    }

    /// <summary>Queries of two of the first <paramref name="words"/> words.</summary>
    private static IEnumerable<string> WordPairs(int words) => Words.Take(words).SelectMany(a => Words.Take(words).Select(b => $"{a} {b}"));

    /// <summary>An index of <paramref name="items"/> with the shared encoder in service.</summary>
    private static ProductSearchIndex Encoded(ProductSearchOptions options, IEnumerable<Item> items)
    {
        var index = new ProductSearchIndex(options);
        index.Upsert(items);
        index.SetEncoder(Encoder.Value);
        return index;
    }

    private void CheckAgainst(ProductSearchIndex index, Dictionary<string, Item> model, string query = "velvet serum")
    {
        Assert.Equal(model.Count, index.Count);
        Assert.Equal(model.Keys.Order(StringComparer.Ordinal), index.Items.Select(i => i.Id).Order(StringComparer.Ordinal));
        foreach (var (id, item) in model.Take(200))
        {
            Assert.True(index.TryGetItem(id, out var held));
            Assert.Same(item, held);
        }
        Assert.False(index.TryGetItem("i-none", out _));
        if (index.Encoder is not { } encoder) return;

        var vectors = index.EncodedItems(encoder).Items.ToDictionary(e => e.Id, StringComparer.Ordinal);
        Assert.Equal(model.Count, vectors.Count);
        foreach (var (id, item) in model.Take(200)) Assert.Equal(encoder.Encode(SearchFields.FullText(item)), vectors[id].Vector);

        // The semantic pool equals a brute-force scan of the model's items (when no tie sits at its edge).
        var q = encoder.Encode(query);
        var pool = index.Options.CandidatePool;
        var scan = model.Values.Select(i => (i.Id, Cosine: Dot(q, vectors[i.Id].Vector)))
            .Where(s => s.Cosine > 0 && s.Cosine >= index.Options.MinSemanticSimilarity)
            .OrderByDescending(s => s.Cosine).ToList();
        // The index's SIMD dot products may differ from this sum in the last bits: skip near-ties at either edge.
        if (scan.Count > pool && scan[pool - 1].Cosine - scan[pool].Cosine < 1e-4) return;
        if (scan.Count > 0 && scan.Take(pool).Min(s => s.Cosine) - index.Options.MinSemanticSimilarity < 1e-4) return;
        var semantic = index.Candidates(index.Parse(query), new SearchRequest { Query = query }, pool: pool)
            .Where(c => c.Semantic > 0).Select(c => c.Entry.Item.Id).Order(StringComparer.Ordinal);
        Assert.Equal(scan.Take(pool).Select(s => s.Id).Order(StringComparer.Ordinal), semantic);
        _semanticChecks++;
        if (index.IsSemanticApproximate) _approximateChecks++;
    }

    private static float Dot(float[] a, float[] b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
