using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;

namespace Persona.Core.Tests.Recommendations;

public sealed class RetrievalTests
{
    [Fact]
    public void VectorIndex_RandomUpsertsAndRemoves_TopKEqualsBruteForce()
    {
        var prop = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var dim = rng.Next(1, 40);
            using var index = new VectorIndex(dim, capacity: 4);
            var truth = new Dictionary<string, float[]>();
            // Small integers keep every dot product exact in float, so ties are real and the tie order is tested too.
            float[] Vector() => Enumerable.Range(0, dim).Select(_ => (float)rng.Next(-3, 4)).ToArray();
            for (var op = rng.Next(0, 120); op > 0; op--)
            {
                var id = "i" + rng.Next(0, 60);
                if (rng.NextDouble() < 0.2)
                {
                    Assert.Equal(truth.Remove(id), index.Remove(id));
                }
                else
                {
                    var v = Vector();
                    truth[id] = v;
                    index.Upsert(id, v);
                }
            }
            Assert.Equal(truth.Count, index.Count);
            var query = Vector();
            var k = rng.Next(0, 25);
            Func<string, bool>? accept = rng.Next(2) == 0 ? null : id => id.GetHashCode(StringComparison.Ordinal) % 3 != 0;
            var expected = truth
                .Where(p => accept is null || accept(p.Key))
                .Select(p => (Id: p.Key, Score: Dot(p.Value, query)))
                .OrderByDescending(p => p.Score).ThenBy(p => p.Id, StringComparer.Ordinal)
                .Take(k).ToList();
            var actual = index.Search(query, k, accept);
            Assert.Equal(expected.Select(e => e.Id), actual.Select(a => a.Id));
            Assert.Equal(expected.Select(e => e.Score), actual.Select(a => a.Score));
            foreach (var (id, v) in truth) Assert.Equal(v, index.GetVector(id));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), prop);
    }

    [Fact]
    public void VectorIndex_Cosine_RanksByAngleNotLength()
    {
        using var index = new VectorIndex(2);
        index.Upsert("long-off-axis", [10f, 10f]);
        index.Upsert("short-on-axis", [0.5f, 0f]);
        var top = index.Search([1f, 0f], 2, cosine: true);
        Assert.Equal(["short-on-axis", "long-off-axis"], top.Select(t => t.Id));
        Assert.Equal(1f, top[0].Score, 5);
        Assert.Equal("long-off-axis", index.Search([1f, 0f], 1)[0].Id);
    }

    [Fact]
    public void VectorIndex_WrongDimension_Throws()
    {
        using var index = new VectorIndex(3);
        Assert.Throws<ArgumentException>(() => index.Upsert("a", [1f, 2f]));
        Assert.Throws<ArgumentException>(() => index.Search([1f], 1));
    }

    [Fact]
    public void CoOccurrence_HandExample_CountsFollowersWithinWindow()
    {
        var index = new ItemPairs(window: 2);
        // u1: a b c a d   (window 2: each item pairs with the two steps before it)
        foreach (var item in new[] { "a", "b", "c", "a", "d" }) index.Observe("u1", item);
        // u2: a a b — the repeated a is one step.
        foreach (var item in new[] { "a", "a", "b" }) index.Observe("u2", item);

        Assert.Equal(2, index.Count("a", "b"));
        Assert.Equal(1, index.Count("a", "c"));
        Assert.Equal(1, index.Count("b", "c"));
        Assert.Equal(1, index.Count("b", "a"));
        Assert.Equal(1, index.Count("c", "a"));
        Assert.Equal(1, index.Count("c", "d"));
        Assert.Equal(1, index.Count("a", "d"));
        Assert.Equal(0, index.Count("b", "d")); // three steps apart
        Assert.Equal(0, index.Count("a", "a"));
        Assert.Equal(4, index.Total("a"));
        // Ties go by a stable hash of the id: whichever of c and d it puts first, the same in every process.
        var tied = Persona.Core.StableHash.Of("c") < Persona.Core.StableHash.Of("d") ? new[] { "c", "d" } : ["d", "c"];
        Assert.Equal([new ScoredId("b", 2), new ScoredId(tied[0], 1), new ScoredId(tied[1], 1)], index.Followers("a", 5));
        Assert.Equal([new ScoredId("c", 1)], index.Followers("a", 5, id => id == "c"));
    }

    [Fact]
    public void CoOccurrence_ManyDistinctFollowers_RowStaysBoundedAndKeepsTheFrequentOnes()
    {
        var index = new ItemPairs(window: 1, maxNeighbours: 3);
        var user = 0;
        void Follow(string next) => index.ObserveMany([($"u{user}", "a"), ($"u{user++}", next)]);
        for (var i = 0; i < 5; i++) Follow("often");
        for (var i = 0; i < 3; i++) Follow("sometimes");
        for (var i = 0; i < 50; i++) Follow($"once-{i}");

        var followers = index.Followers("a", 100);
        Assert.InRange(followers.Length, 3, 6);
        Assert.Equal(new ScoredId("often", 5), followers[0]);
        Assert.Equal(new ScoredId("sometimes", 3), followers[1]);
        Assert.Equal(58, index.Total("a"));
    }

    [Fact]
    public void CoOccurrence_WindowOfSameItemTwice_CountsOncePerFollower()
    {
        var index = new ItemPairs(window: 3);
        foreach (var item in new[] { "a", "b", "a", "c" }) index.Observe("u", item);
        Assert.Equal(1, index.Count("a", "c"));
        Assert.Equal(1, index.Count("b", "c"));
    }

    [Fact]
    public void Popularity_OneHalfLifeOlder_CountsHalf()
    {
        var popularity = new PopularityIndex(halfLifeDays: 10);
        var now = new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero);
        popularity.Add("old", ["Beauty"], 1, now.AddDays(-10));
        popularity.Add("new", ["Beauty", "Beauty > Hair"], 1, now);
        Assert.Equal(0.5, popularity.Score("old") / popularity.Score("new"), 9);
        popularity.Add("old", ["Beauty"], 1.5, now.AddDays(-10));
        Assert.Equal(["old", "new"], popularity.Top(null, 5).Select(s => s.Id));
        Assert.Equal(["new"], popularity.Top("Beauty > Hair", 5).Select(s => s.Id));
        Assert.Empty(popularity.Top("Toys", 5));
    }

    [Fact]
    public void Popularity_WithinMaxStaleness_ServesTheSortedRankingUntilItExpires()
    {
        var popularity = new PopularityIndex(halfLifeDays: 10, maxStaleness: TimeSpan.FromHours(1));
        var now = new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero);
        popularity.Add("a", [], 2, now);
        Assert.Equal(["a"], popularity.Top(null, 5).Select(s => s.Id));
        popularity.Add("b", [], 5, now);
        // The ranking is an hour from expiring; scores come from the same ranking, so ratios stay consistent.
        Assert.Equal(["a"], popularity.Top(null, 5).Select(s => s.Id));
        Assert.Equal(2f, popularity.TopScore());
        Assert.Equal(0, popularity.Score("b"));
        var fresh = new PopularityIndex(halfLifeDays: 10);
        fresh.Add("a", [], 2, now);
        Assert.Equal(2, fresh.Score("a"));
        fresh.Add("b", [], 5, now);
        Assert.Equal(["b", "a"], fresh.Top(null, 5).Select(s => s.Id));
        Assert.Equal(5, fresh.Score("b"));
    }

    /// <summary>With the shared item numbering, overall scores are read by number; they equal the scores by id.</summary>
    [Fact]
    public void Popularity_SharedNumbering_ScoresByNumberEqualScoresById()
    {
        var numbering = new Persona.Core.State.KeyInterner();
        numbering.Intern("catalog-first");
        var byNumber = new PopularityIndex(halfLifeDays: 10, sharedIds: numbering);
        var byId = new PopularityIndex(halfLifeDays: 10);
        var now = new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero);
        var random = new Random(2);
        for (var i = 0; i < 500; i++)
        {
            var item = $"i{random.Next(60)}";
            var weight = 1 + random.Next(3);
            var at = now.AddHours(-random.Next(500));
            byNumber.Add(item, ["Beauty"], weight, at);
            byId.Add(item, ["Beauty"], weight, at);
        }
        var shared = byNumber.Overall();
        var plain = byId.Overall();
        Assert.Equal(plain.Best, shared.Best);
        foreach (var item in Enumerable.Range(0, 70).Select(i => $"i{i}").Append("catalog-first"))
        {
            Assert.Equal(plain.Of(item), shared.Of(item));
            Assert.Equal(plain.Of(item), shared.Of(item, numbering.Find(item)));
            Assert.Equal(byId.Score(item), byNumber.Score(item));
        }
        Assert.Equal(0f, shared.Of("catalog-first"));
    }

    [Fact]
    public void Popularity_YearsOfHistory_RebasesWithoutOverflow()
    {
        var popularity = new PopularityIndex(halfLifeDays: 1);
        var start = new DateTimeOffset(2010, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var day = 0; day < 3000; day += 7) popularity.Add("steady", [], 1, start.AddDays(day));
        popularity.Add("recent", [], 1, start.AddDays(2999));
        var steady = popularity.Score("steady");
        var recent = popularity.Score("recent");
        Assert.True(double.IsFinite(steady) && double.IsFinite(recent));
        // The last weekly event of "steady" (day 2996) is 3 days older than "recent": 2^-3, plus earlier weeks at 2^-7 each step.
        Assert.Equal(Math.Pow(2, -3) / (1 - Math.Pow(2, -7)), steady / recent, 6);
    }

    [Fact]
    public void ShopperSteps_Bounded_KeepsNewestInTimeOrder()
    {
        var recent = new ShopperSteps(maxSteps: 3, maxSeen: 4);
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        recent.Add("a", EventType.View, t.AddMinutes(1));
        recent.Add("c", EventType.View, t.AddMinutes(3));
        recent.Add("b", EventType.View, t.AddMinutes(2)); // late arrival
        recent.Add("d", EventType.Purchase, t.AddMinutes(4));
        Assert.Equal(["b", "c", "d"], recent.Recent().Select(s => s.ItemId));
        Assert.Equal(["c", "d"], recent.Recent(2).Select(s => s.ItemId));
        Assert.Empty(recent.Recent(0));
        recent.Add("e", EventType.View, t.AddMinutes(5));
        Assert.Equal(["b", "c", "d", "e"], recent.Seen().Order());
        Assert.Empty(new ShopperSteps(3, 4).Recent());
    }

    /// <summary>
    /// The compact layout (interned ids, flat step array, ring of seen ids) keeps exactly what a plain list of steps
    /// and a first-in-first-out set of seen items keep, for any order of arrival, and survives its state record.
    /// </summary>
    [Fact]
    public void ShopperSteps_RandomArrivals_EqualAPlainModel_AndRoundTripItsRecord()
    {
        var prop = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var (maxSteps, maxSeen) = (rng.Next(1, 8), rng.Next(1, 10));
            var recent = new ShopperSteps(maxSteps, maxSeen);
            var steps = new List<BehaviorStep>();
            var (set, order) = (new HashSet<string>(), new Queue<string>());
            var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(rng.Next(-5, 9)));
            for (var i = 0; i < rng.Next(0, 60); i++)
            {
                var step = new BehaviorStep("i" + rng.Next(15), (EventType)rng.Next(0, 4), t.AddMinutes(rng.Next(0, 300)));
                recent.Add(step.ItemId, step.Type, step.Timestamp);
                // The plain model: insert in time order unless older than a full window; FIFO set of seen items.
                var at = steps.Count;
                while (at > 0 && steps[at - 1].Timestamp > step.Timestamp) at--;
                if (at == 0 && steps.Count == maxSteps) continue;
                steps.Insert(at, step);
                if (steps.Count > maxSteps) steps.RemoveAt(0);
                if (set.Add(step.ItemId))
                {
                    order.Enqueue(step.ItemId);
                    if (order.Count > maxSeen) set.Remove(order.Dequeue());
                }
            }
            var writer = new Persona.Core.State.StateWriter();
            recent.Write(writer);
            var reader = Persona.Core.State.StateReader.Open(writer.ToArray(1), 1)!;
            var restored = ShopperSteps.Read(reader, maxSteps, maxSeen);
            var copy = recent.Clone();
            return reader.AtEnd
                && recent.Recent().SequenceEqual(steps) && restored.Recent().SequenceEqual(steps) && copy.Recent().SequenceEqual(steps)
                && recent.Seen().SetEquals(set) && restored.Seen().SetEquals(set) && copy.Seen().SetEquals(set)
                && recent.Recent().Zip(steps).All(p => p.First.Timestamp.Offset == p.Second.Timestamp.Offset);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), prop);
    }

    /// <summary>
    /// The one item-pair structure counts, bounds and ranks pairs exactly as plain dictionary rows do (each pair counted
    /// in both items' rows, a row trimmed at twice the bound to the pairs most often together, ties by a stable hash of
    /// the id, then the id), whatever numbering its items get: counted in a fresh numbering, in one that already holds
    /// other items in another order, and restored from its record into such a one. Followers, totals, co-visitation.
    /// </summary>
    [Fact]
    public void ItemPairs_RandomSequences_EqualAPlainModel_InAnyNumbering_AndRoundTripTheirRecord()
    {
        var prop = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var (window, bound) = (rng.Next(1, 4), rng.Next(1, 5));
            var steps = Enumerable.Range(0, rng.Next(0, 300)).Select(_ => ("u" + rng.Next(5), "i" + rng.Next(rng.Next(2, 25)))).ToList();
            Persona.Core.State.KeyInterner Shuffled()
            {
                var numbering = new Persona.Core.State.KeyInterner();
                foreach (var key in Enumerable.Range(0, 30).Select(i => (i % 3 == 0 ? "x" : "i") + i).OrderBy(_ => rng.Next())) numbering.Intern(key);
                return numbering;
            }
            var fresh = new ItemPairs(window, bound);
            var other = new ItemPairs(window, bound, Shuffled());
            foreach (var chunk in steps.Chunk(rng.Next(1, 40)))
            {
                fresh.ObserveMany(chunk);
                other.ObserveMany(chunk);
            }

            var rows = new Dictionary<string, Dictionary<string, (int Forward, int Backward)>>(StringComparer.Ordinal);
            var totals = new Dictionary<string, long>(StringComparer.Ordinal);
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            var tails = new Dictionary<string, List<string>>();
            void Count(string item, string with, int forward, int backward)
            {
                var row = rows.TryGetValue(item, out var r) ? r : rows[item] = new(StringComparer.Ordinal);
                var (f, b) = row.GetValueOrDefault(with);
                row[with] = (f + forward, b + backward);
                if (row.Count <= 2 * bound) return;
                var kept = row.OrderByDescending(p => p.Value.Forward + p.Value.Backward).ThenBy(p => Persona.Core.StableHash.Of(p.Key))
                    .ThenBy(p => p.Key, StringComparer.Ordinal).Take(bound).ToList();
                row.Clear();
                foreach (var (k, v) in kept) row[k] = v;
            }
            foreach (var (user, next) in steps)
            {
                var tail = tails.TryGetValue(user, out var t) ? t : tails[user] = [];
                if (tail.Count > 0 && tail[^1] == next) continue;
                seen[next] = seen.GetValueOrDefault(next) + 1;
                for (var i = 0; i < tail.Count; i++)
                {
                    var previous = tail[i];
                    if (previous == next || tail.IndexOf(previous) < i) continue;
                    Count(previous, next, 1, 0);
                    Count(next, previous, 0, 1);
                    totals[previous] = totals.GetValueOrDefault(previous) + 1;
                }
                tail.Add(next);
                if (tail.Count > window) tail.RemoveAt(0);
            }

            var writer = new Persona.Core.State.StateWriter();
            other.WriteTo(writer);
            var restored = new ItemPairs(window, bound, Shuffled());
            var reader = Persona.Core.State.StateReader.Open(writer.ToArray(1), 1)!;
            restored.ReadFrom(reader);
            var names = steps.Select(s => s.Item2).Distinct().ToList();
            bool Same(ItemPairs x) => names.All(item =>
            {
                var row = rows.GetValueOrDefault(item) ?? [];
                var followers = row.Where(p => p.Value.Forward > 0).Select(p => new ScoredId(p.Key, p.Value.Forward))
                    .OrderByDescending(p => p.Score).ThenBy(p => Persona.Core.StableHash.Of(p.Id)).ThenBy(p => p.Id, StringComparer.Ordinal).ToArray();
                return x.Followers(item, 100).SequenceEqual(followers) && x.Total(item) == totals.GetValueOrDefault(item)
                    && followers.All(f => x.Count(item, f.Id) == (int)f.Score)
                    && x.Seen(item) == seen.GetValueOrDefault(item) && x.NeighbourCount(item) == row.Count
                    && names.All(o => x.Similarity(item, o) == (row.TryGetValue(o, out var c) ? (c.Forward + c.Backward) / MathF.Sqrt((float)seen[item] * seen[o]) : 0));
            });
            var counted = reader.AtEnd && Same(fresh) && Same(other) && Same(restored);
            // The shoppers' last items came back too: the next steps count alike.
            var more = Enumerable.Range(0, 20).Select(_ => ("u" + rng.Next(5), "i" + rng.Next(10))).ToList();
            other.ObserveMany(more);
            restored.ObserveMany(more);
            bool Alike(ItemPairs x, ItemPairs y) => names.Concat(more.Select(m => m.Item2)).Distinct().All(item =>
                x.Followers(item, 100).SequenceEqual(y.Followers(item, 100)) && x.Seen(item) == y.Seen(item));
            return counted && Alike(other, restored);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), prop);
    }

    /// <summary>
    /// Long rows: the best k followers (selected, then sorted) through an accept filter equal a full sort of the row,
    /// for every k, with ties between equal counts ordered by the stable hash of the id.
    /// </summary>
    [Fact]
    public void ItemPairs_FollowersOfALongRow_EqualAFullSortForEveryKAndFilter()
    {
        var prop = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var pairs = new ItemPairs(window: 1, maxNeighbours: 400);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            var user = 0;
            for (var f = 0; f < rng.Next(1, 300); f++)
            {
                var next = "f" + rng.Next(1000);
                for (var times = rng.Next(1, rng.Next(2, 6)); times > 0; times--)
                {
                    pairs.ObserveMany([($"u{user}", "a"), ($"u{user++}", next)]);
                    counts[next] = counts.GetValueOrDefault(next) + 1;
                }
            }
            var parity = rng.Next(3);
            bool Accept(string id) => Persona.Core.StableHash.Of(id) % 3 != parity;
            var full = counts.Select(p => new ScoredId(p.Key, p.Value)).OrderByDescending(p => p.Score)
                .ThenBy(p => Persona.Core.StableHash.Of(p.Id)).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
            return Enumerable.Range(1, 60).Concat([full.Count, int.MaxValue]).All(k =>
                pairs.Followers("a", k).SequenceEqual(full.Take(k))
                && pairs.Followers("a", k, Accept).SequenceEqual(full.Where(f => Accept(f.Id)).Take(k)));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), prop);
    }

    /// <summary>Counts share 16 bits each until one outgrows them; the row then widens and keeps every count, through its record too.</summary>
    [Fact]
    public void ItemPairs_CountPast16Bits_WidensTheRowAndKeepsEveryCount()
    {
        var pairs = new ItemPairs(window: 1);
        pairs.ObserveMany([("other", "a"), ("other", "c")]);
        // One shopper alternating a and b: each step follows the one before it.
        pairs.ObserveMany(Enumerable.Range(0, 140_001).Select(i => ("u", i % 2 == 0 ? "a" : "b")));

        var writer = new Persona.Core.State.StateWriter();
        pairs.WriteTo(writer);
        var restored = new ItemPairs(window: 1);
        restored.ReadFrom(Persona.Core.State.StateReader.Open(writer.ToArray(1), 1)!);
        foreach (var x in new[] { pairs, restored })
        {
            Assert.Equal(70_000, x.Count("a", "b"));
            Assert.Equal(70_000, x.Count("b", "a"));
            Assert.Equal(1, x.Count("a", "c"));
            Assert.Equal(70_001, x.Total("a"));
            Assert.Equal([new ScoredId("b", 70_000), new ScoredId("c", 1)], x.Followers("a", 5));
            Assert.Equal(140_000 / MathF.Sqrt(70_002f * 70_000), x.Similarity("a", "b"), 5);
        }
    }

    private static float Dot(float[] a, float[] b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
