using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using static Persona.Core.Tests.Sequence.SequenceTestData;

namespace Persona.Core.Tests.Sequence;

public sealed class NextItemMetricsTests
{
    [Fact]
    public void Rank_TiesAndExclusions_LowerIndexWinsAndMinusInfinityNeverRanks()
    {
        float[] scores = [float.NegativeInfinity, 0.5f, 0.9f, 0.5f, float.NegativeInfinity, 0.1f];
        Assert.Equal(0, NextItemEvaluator.Rank(scores, 2));
        Assert.Equal(1, NextItemEvaluator.Rank(scores, 1));
        Assert.Equal(2, NextItemEvaluator.Rank(scores, 3));
        Assert.Equal(3, NextItemEvaluator.Rank(scores, 5));
        Assert.Equal(-1, NextItemEvaluator.Rank(scores, 4));
        Assert.Equal(new[] { 2, 1, 3 }, NextItemEvaluator.Top(scores, 3));
        Assert.Equal(new[] { 2, 1, 3, 5 }, NextItemEvaluator.Top(scores, 10));
    }

    [Fact]
    public void Top_RandomScores_MatchesFullSort()
    {
        var prop = Prop.ForAll<int[]>(raw =>
        {
            var scores = raw.Select(x => (float)(x % 7)).ToArray();
            var expected = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(5).ToArray();
            var top = NextItemEvaluator.Top(scores, 5);
            var ranksAgree = expected.Select((item, position) => NextItemEvaluator.Rank(scores, item) == position).All(x => x);
            return top.SequenceEqual(expected) && ranksAgree;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), prop);
    }

    [Fact]
    public void Metrics_KnownRanks_ExactHitRateNdcgCoverageNovelty()
    {
        var m = new NextItemMetrics([0, 1, 4, -1], [[1, 2], [2, 3], [1], []], catalogSize: 4);
        Assert.Equal(0.25, m.HitRate(1), 12);
        Assert.Equal(0.5, m.HitRate(2), 12);
        Assert.Equal(0.75, m.HitRate(5), 12);
        Assert.Equal((1 + (1 / Math.Log2(3))) / 4, m.Ndcg(2), 12);
        Assert.Equal((1 + (1 / Math.Log2(3)) + (1 / Math.Log2(6))) / 4, m.Ndcg(10), 12);
        Assert.Equal(3 / 4.0, m.Coverage(2), 12);
        Assert.Equal(2 / 4.0, m.Coverage(1), 12);
        // counts: item 1 seen 3 times, item 2 once; p = (c + 1) / (4 + 2)
        var novelty = NextItemMetrics.Novelty([[1], [2]], 1, [0, 3, 1], catalogSize: 2);
        Assert.Equal((-Math.Log2(4 / 6.0) - Math.Log2(2 / 6.0)) / 2, novelty, 12);
    }

    private static SequenceDataset Tiny()
    {
        string[][] users = [["E", "F", "A", "B"], ["E", "F", "B", "C"], ["F", "E", "C"], ["A", "C", "D"]];
        var events = users.SelectMany((items, u) => items.Select((item, t) => Event($"u{u + 1}", item, t))).ToList();
        var catalog = "ABCDEF".Select(c => new Item { Id = c.ToString() }).ToList();
        return SequenceDataset.Build(events, catalog);
    }

    [Fact]
    public void Popularity_TinyExample_HandCheckedRanks()
    {
        var data = Tiny();
        var popularity = new PopularityScorer(data);
        Assert.Equal(new long[] { 0, 2, 1, 1, 0, 3, 3 }, popularity.Counts); // pad, A..F over all but each user's last step
        var m = NextItemEvaluator.Evaluate(data, popularity, NextItemSplit.Test);
        Assert.Equal(new[] { 0, 1, 2, 3 }, m.Ranks);
        Assert.Equal(0.5, m.HitRate(2), 12);
        Assert.Equal((1 + (1 / Math.Log2(3)) + (1 / Math.Log2(4)) + (1 / Math.Log2(5))) / 4, m.Ndcg(5), 12);
    }

    [Fact]
    public void Cooccurrence_TinyExample_HandCheckedRanks()
    {
        var data = Tiny();
        var m = NextItemEvaluator.Evaluate(data, new CooccurrenceScorer(data), NextItemSplit.Test);
        // u1: after A comes C (once) → C, then B; u2: nothing follows B → popularity A, C; u3: E → F is seen → A, B, C;
        // u4: nothing follows C → E, F, B, D.
        Assert.Equal(new[] { 1, 1, 2, 3 }, m.Ranks);
        Assert.Equal(0.0, m.HitRate(1), 12);
        Assert.Equal(0.5, m.HitRate(2), 12);
        Assert.Equal(new[] { 3, 2 }, m.TopLists[0][..2]); // C (3) before B (2)
    }

    [Fact]
    public void Evaluate_ValidationSplit_PredictsSecondToLastFromEarlierSteps()
    {
        var data = Tiny();
        var m = NextItemEvaluator.Evaluate(data, new PopularityScorer(data), NextItemSplit.Validation);
        // u1: history E F, target A: A (2) first → rank 0; u2: history E F, target B: A, then B → 1;
        // u3: history F, target E: E (3) first → 0; u4: history A, target C: E, F, B, C → 3.
        Assert.Equal(new[] { 0, 1, 0, 3 }, m.Ranks);
    }
}
