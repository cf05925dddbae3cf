using FsCheck;
using FsCheck.Fluent;

namespace Persona.Text.Tests;

public sealed class Bm25IndexTests
{
    private static IReadOnlyList<IReadOnlyList<string>> One(params string[] terms) => [terms];

    [Fact]
    public void Search_TinyCorpus_EqualsHandComputedBm25()
    {
        // N = 3, k1 = 1.2, b = 0.75; lengths 3, 2, 1 → avg 2.
        using var index = new Bm25Index(new Bm25Options { K1 = 1.2, B = 0.75 });
        index.Upsert("a", One("red", "lip", "red"));
        index.Upsert("b", One("red", "nail"));
        index.Upsert("c", One("lip"));

        var hits = index.Search(["red"], 10);

        // df(red) = 2: idf = ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln(1.6).
        var idf = Math.Log(1.6);
        // a: tf 2, len 3 → norm 1 − 0.75 + 0.75·3/2 = 1.375; t̃f = 2/1.375.
        var tfA = 2 / 1.375;
        var expectedA = idf * tfA * 2.2 / (tfA + 1.2);
        // b: tf 1, len 2 → norm 1.
        var expectedB = idf * 1 * 2.2 / (1 + 1.2);
        Assert.Equal(["a", "b"], hits.Select(h => h.Id));
        Assert.Equal(expectedA, hits[0].Score, 12);
        Assert.Equal(expectedB, hits[1].Score, 12);
    }

    [Fact]
    public void Search_WeightedFields_SumNormalisedFrequenciesBeforeSaturating()
    {
        // Two fields with weights 2 and 1, b = 0: t̃f = 2·tf_title + 1·tf_category.
        using var index = new Bm25Index(new Bm25Options { K1 = 1.0, B = 0, FieldWeights = [2, 1] });
        index.Upsert("x", [["lip"], ["lip", "makeup"]]);
        index.Upsert("y", [["nail"], ["makeup"]]);

        var hit = Assert.Single(index.Search(["lip"], 10));

        var idf = Math.Log(1 + (2 - 1 + 0.5) / (1 + 0.5));
        var tf = 2 * 1 + 1 * 1;
        Assert.Equal("x", hit.Id);
        Assert.Equal(idf * tf * 2 / (tf + 1), hit.Score, 12);
    }

    [Fact]
    public void Upsert_ReplaceAndRemove_VisibleToNextQuery()
    {
        using var index = new Bm25Index();
        index.Upsert("1", One("serum"));
        Assert.Equal(["1"], index.Search(["serum"], 5).Select(h => h.Id));

        index.Upsert("1", One("toner"));
        Assert.Empty(index.Search(["serum"], 5));
        Assert.Equal(["1"], index.Search(["toner"], 5).Select(h => h.Id));

        Assert.True(index.Remove("1"));
        Assert.Empty(index.Search(["toner"], 5));
        Assert.Equal(0, index.Count);
        Assert.Equal(0, index.TermCount);
    }

    [Fact]
    public void Search_EqualScores_EarlierIndexedFirstAndFilterApplies()
    {
        using var index = new Bm25Index();
        index.Upsert("z", One("soap"));
        index.Upsert("a", One("soap"));
        index.Upsert("m", One("soap"));

        Assert.Equal(["z", "a", "m"], index.Search(["soap"], 5).Select(h => h.Id));
        Assert.Equal(["z", "m"], index.Search(["soap"], 5, id => id != "a").Select(h => h.Id));
        Assert.Equal(["z"], index.Search(["soap"], 1).Select(h => h.Id));
    }

    [Fact]
    public void AddThenRemove_AnyDocument_LeavesScoresUnchanged()
    {
        string[] vocabulary = ["a", "b", "c", "d", "e"];
        var terms = Gen.ArrayOf(Gen.Elements(vocabulary)).Select(t => t.Length == 0 ? ["a"] : t);
        var property = Prop.ForAll(
            Arb.From(Gen.ArrayOf(terms).Select(d => d.Length == 0 ? [["a"]] : d)),
            Arb.From(terms),
            (docs, extra) =>
            {
                using var index = new Bm25Index();
                for (var i = 0; i < docs.Length; i++) index.Upsert($"d{i}", One(docs[i]));
                var before = index.Search(vocabulary, 100);
                index.Upsert("extra", One(extra));
                index.Remove("extra");
                var after = index.Search(vocabulary, 100);
                return before.Count == after.Count && before.Zip(after).All(p => p.First.Id == p.Second.Id && Math.Abs(p.First.Score - p.Second.Score) < 1e-9);
            });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    [Fact]
    public void Search_InterleavedIndexesOfDifferentSizesOnOneThread_EachMatchesAFreshIndex()
    {
        // Queries share per-thread score buffers: a query must leave them clean for the next, whatever index it reads.
        string[] vocabulary = ["rose", "oil", "serum", "lip", "nail"];
        var random = new Random(3);
        string[] Doc() => [.. Enumerable.Range(0, 1 + random.Next(4)).Select(_ => vocabulary[random.Next(vocabulary.Length)])];
        var small = Enumerable.Range(0, 5).Select(_ => Doc()).ToArray();
        var large = Enumerable.Range(0, 300).Select(_ => Doc()).ToArray();
        using var smallIndex = new Bm25Index();
        using var largeIndex = new Bm25Index();
        for (var i = 0; i < small.Length; i++) smallIndex.Upsert($"s{i}", One(small[i]));
        for (var i = 0; i < large.Length; i++) largeIndex.Upsert($"l{i}", One(large[i]));
        var expectedSmall = smallIndex.Search(["rose", "oil"], 50);
        var expectedLarge = largeIndex.Search(["serum", "rose"], 50);

        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(expectedLarge, largeIndex.Search(["serum", "rose"], 50));
            Assert.Equal(expectedSmall, smallIndex.Search(["rose", "oil"], 50));
            // A filter that throws midway must not leave partial scores behind either.
            Assert.Throws<InvalidOperationException>(() => largeIndex.Search(["lip", "nail"], 5, _ => throw new InvalidOperationException()));
        }
    }

    /// <summary>
    /// Removed documents' postings are swept lazily: after any sequence of upserts, replacements and removals (over
    /// two fields, with terms every document shares), every query answers as an index built afresh from the live
    /// documents in the order their ids were first indexed.
    /// </summary>
    [Fact]
    public void AnyWrites_AnswerAsAFreshIndexOfTheLiveDocuments()
    {
        string[] vocabulary = ["all", "a", "b", "c", "d", "e", "f"];
        var options = new Bm25Options { FieldWeights = [2.0, 1.0] };
        var property = Prop.ForAll(Gen.Choose(0, int.MaxValue - 1).ToArbitrary(), seed =>
        {
            var random = new Random(seed);
            string[] Terms() => ["all", .. Enumerable.Range(0, random.Next(4)).Select(_ => vocabulary[1 + random.Next(vocabulary.Length - 1)])];
            using var index = new Bm25Index(options);
            var live = new Dictionary<string, (long First, string[][] Fields)>(StringComparer.Ordinal);
            long next = 0;
            for (var step = 0; step < 400; step++)
            {
                var id = $"d{random.Next(60)}";
                if (random.Next(3) == 0)
                {
                    Assert.Equal(live.Remove(id), index.Remove(id));
                    continue;
                }
                string[][] fields = [Terms(), Terms()];
                index.Upsert(id, fields);
                live[id] = (live.TryGetValue(id, out var known) ? known.First : next++, fields);
            }
            using var fresh = new Bm25Index(options);
            foreach (var (id, (_, fields)) in live.OrderBy(p => p.Value.First)) fresh.Upsert(id, fields);
            Assert.Equal(live.Count, index.Count);
            foreach (var query in new[] { vocabulary, ["all"], ["b", "c"], ["f", "f", "a"] })
            {
                var expected = fresh.Search(query, 100);
                var actual = index.Search(query, 100);
                Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
                Assert.All(expected.Zip(actual), p => Assert.Equal(p.First.Score, p.Second.Score, 9));
            }
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), property);
    }

    /// <summary>
    /// Pruning (terms that cannot lift a new document into the top only add to those already scored) changes nothing:
    /// over catalogs where one word is in every document and rarer ones in a few, any query and any top give what the
    /// unpruned evaluation (a filter that accepts everything turns pruning off) gives, scores and ties included.
    /// </summary>
    [Fact]
    public void Pruning_AnyQueryAndTop_AnswersAsTheUnprunedEvaluation()
    {
        var property = Prop.ForAll(Gen.Choose(0, int.MaxValue - 1).ToArbitrary(), seed =>
        {
            var random = new Random(seed);
            using var index = new Bm25Index(new Bm25Options { FieldWeights = [2.0, 1.0] });
            var groups = 2 + random.Next(12);
            for (var d = 0; d < 50 + random.Next(300); d++)
            {
                string[] title = ["cat", $"g{random.Next(groups)}", .. Enumerable.Range(0, random.Next(3)).Select(_ => $"w{random.Next(40)}")];
                string[] category = random.Next(2) == 0 ? ["cat", $"g{random.Next(groups)}"] : [$"w{random.Next(40)}"];
                index.Upsert($"d{d}", [title, category]);
                // Removed and replaced documents free numbers that later ones reuse: lists stop ascending until swept.
                if (random.Next(10) == 0) index.Remove($"d{random.Next(d + 1)}");
                if (random.Next(10) == 0) index.Upsert($"d{random.Next(d + 1)}", [["cat", $"g{random.Next(groups)}"], category]);
            }
            for (var q = 0; q < 20; q++)
            {
                string[] query = [.. Enumerable.Range(0, 1 + random.Next(3)).Select(_ => random.Next(3) switch { 0 => "cat", 1 => $"g{random.Next(groups)}", _ => $"w{random.Next(40)}" })];
                var top = 1 + random.Next(random.Next(2) == 0 ? 10 : 200);
                var expected = index.Search(query, top, filter: _ => true);
                var actual = index.Search(query, top);
                Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
                Assert.All(expected.Zip(actual), p => Assert.Equal(p.First.Score, p.Second.Score));
                // With a floor: the unpruned top, cut below that share of its best.
                var share = random.Next(3) * 0.25;
                var floored = index.Search(query, top, minShare: share);
                var cut = expected.Count == 0 ? [] : expected.Where(h => h.Score >= share * expected[0].Score).ToList();
                Assert.Equal(cut.Select(h => h.Id), floored.Select(h => h.Id));
                Assert.All(cut.Zip(floored), p => Assert.Equal(p.First.Score, p.Second.Score));
            }
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }
}
