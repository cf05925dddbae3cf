using Persona.Core.Retrieval;

namespace Persona.Core.Tests.Recommendations;

/// <summary>The inverted-file path of <see cref="VectorIndex"/> above its exact limit, against the exact scan.</summary>
public sealed class ApproximateIndexTests
{
    private const int Dim = 32;

    /// <summary>Item vectors as models make them: groups (categories) around centres, with spread and varied norms.</summary>
    private static List<(string Id, float[] Vector)> Clustered(int count, int groups, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, groups).Select(_ => Gaussian(random, 1.0)).ToArray();
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var centre = centres[random.Next(groups)];
            var noise = Gaussian(random, 0.35);
            var scale = (float)(0.6 + 0.8 * random.NextDouble());
            return ($"i{i}", centre.Zip(noise, (c, n) => scale * (c + n)).ToArray());
        })];
    }

    private static float[] Gaussian(Random random, double sigma) =>
        [.. Enumerable.Range(0, Dim).Select(_ => (float)(sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

    [Fact]
    public void Search_AboveTheExactLimit_RecallAtTenAtLeast95PercentOfTheExactScan()
    {
        var items = Clustered(20_000, groups: 60, seed: 3);
        using var exact = new VectorIndex(Dim, items.Count);
        using var approximate = new VectorIndex(Dim, items.Count, exactLimit: 1_000);
        foreach (var (id, vector) in items)
        {
            exact.Upsert(id, vector);
            approximate.Upsert(id, vector);
        }
        Assert.True(approximate.IsApproximate);
        Assert.False(exact.IsApproximate);

        // Queries as users look: near the items they interacted with.
        var random = new Random(5);
        var found = 0;
        const int Queries = 200, K = 10;
        for (var q = 0; q < Queries; q++)
        {
            var query = items[random.Next(items.Count)].Vector.Select(x => x + (float)(0.2 * (random.NextDouble() - 0.5))).ToArray();
            var truth = exact.Search(query, K).Select(h => h.Id).ToHashSet();
            found += approximate.Search(query, K).Count(h => truth.Contains(h.Id));
        }

        Assert.True(found >= 0.95 * Queries * K, $"recall@10 {found / (double)(Queries * K):0.000}");
    }

    [Fact]
    public void Search_AfterUpsertsAndRemovesPastThePartition_FindsNewItemsAndNeverRemovedOnes()
    {
        var items = Clustered(4_000, groups: 20, seed: 9);
        using var index = new VectorIndex(Dim, 16, exactLimit: 500);
        foreach (var (id, vector) in items) index.Upsert(id, vector);
        Assert.True(index.IsApproximate);

        for (var i = 0; i < 300; i++) Assert.True(index.Remove($"i{i}"));
        var target = items[3_000].Vector;
        index.Upsert("fresh", target.Select(x => 3 * x).ToArray());

        var hits = index.Search(target, 5);
        Assert.Equal("fresh", hits[0].Id);
        Assert.DoesNotContain(hits, h => int.TryParse(h.Id.AsSpan(1), out var n) && n < 300);
        Assert.Empty(index.Search(target, 5, id => id.StartsWith('x')));
        Assert.Equal(5, index.Search(target, 5, id => id != "fresh").Length);
    }
}
