using Persona.Core.Models.Segments;

namespace Persona.Core.Tests.Models;

public class KMeansTests
{
    /// <summary>k Gaussian blobs in d dimensions, centres 8σ apart on distinct axes.</summary>
    private static (double[] X, int[] Truth) Planted(int k, int perCluster, int d, int seed)
    {
        var rng = new Random(seed);
        var n = k * perCluster;
        var x = new double[n * d];
        var truth = new int[n];
        for (var i = 0; i < n; i++)
        {
            var c = i % k;
            truth[i] = c;
            for (var j = 0; j < d; j++)
            {
                var centre = j == c % d ? 8.0 * (1 + c / d) : 0;
                x[i * d + j] = centre + Gaussian(rng);
            }
        }
        return (x, truth);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Theory]
    [InlineData(3, 5)]
    [InlineData(5, 6)]
    [InlineData(6, 4)]
    public void Fit_PlantedClusters_AdjustedRandIndexAtLeast09(int k, int d)
    {
        var (x, truth) = Planted(k, 200, d, seed: k);
        var fit = KMeans.Fit(x, truth.Length, d, k, seed: 1);
        Assert.True(ClusterMetrics.AdjustedRandIndex(truth, fit.Assignments) >= 0.9);
    }

    [Fact]
    public void Silhouette_PlantedClusters_PeaksAtTheTrueK()
    {
        var (x, truth) = Planted(4, 100, 4, seed: 11);
        var scores = Enumerable.Range(2, 5).ToDictionary(k => k, k => ClusterMetrics.Silhouette(x, truth.Length, 4, KMeans.Fit(x, truth.Length, 4, k, 3).Assignments, k));
        Assert.Equal(4, scores.MaxBy(kv => kv.Value).Key);
    }

    [Fact]
    public void AdjustedRandIndex_RelabelledPartition_IsOne()
    {
        Assert.Equal(1, ClusterMetrics.AdjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9]), 9);
        Assert.True(ClusterMetrics.AdjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 0, 1]) < 0.1);
    }

    [Fact]
    public void Pca_ElongatedCloud_FirstComponentAlongTheLongAxis()
    {
        var rng = new Random(5);
        const int n = 2000;
        var x = new double[n * 3];
        for (var i = 0; i < n; i++)
        {
            var t = Gaussian(rng) * 5;
            x[i * 3] = t / Math.Sqrt(2);
            x[i * 3 + 1] = t / Math.Sqrt(2);
            x[i * 3 + 2] = Gaussian(rng) * 0.5;
        }
        var pc = Pca.Fit(x, n, 3);
        Assert.Equal(1 / Math.Sqrt(2), pc[0], 1);
        Assert.Equal(1 / Math.Sqrt(2), pc[1], 1);
        var dot = pc[0] * pc[3] + pc[1] * pc[4] + pc[2] * pc[5];
        Assert.Equal(0, dot, 6);
    }
}

[Collection(SmallShopCollection.Name)]
public class SegmentBuilderTests(SmallShopFixture shop)
{
    [Fact]
    public void Build_SameSeed_SameSegmentsAndLabels()
    {
        var a = new SegmentBuilder(new SegmentOptions { Seed = 7 }).Build(shop.Current, shop.Catalog, shop.End);
        var b = new SegmentBuilder(new SegmentOptions { Seed = 7 }).Build(shop.Current.Reverse().ToList(), shop.Catalog, shop.End);

        Assert.Equal(a.Segments.Select(s => (s.Id, s.LabelEn, s.LabelZh, s.Size)), b.Segments.Select(s => (s.Id, s.LabelEn, s.LabelZh, s.Size)));
        Assert.All(a.Members, m => Assert.Equal(m.Value, b.Members[m.Key]));
        Assert.InRange(a.K, SegmentOptions.DefaultMinK, SegmentOptions.DefaultMaxK);
        Assert.Equal(shop.Current.Count, a.Segments.Sum(s => s.Size));
        Assert.Equal(shop.Current.Count, a.Projection.Count);
        // Labels are bilingual and distinct.
        Assert.Equal(a.K, a.Segments.Select(s => s.LabelEn).Distinct().Count());
        Assert.All(a.Segments, s => Assert.Contains(s.LabelZh, a.Segments.Select(x => x.LabelZh)));
        Assert.All(a.Segments, s => Assert.DoesNotMatch("^[ -~]*$", s.LabelZh));
    }

    /// <summary>
    /// Beyond <see cref="SegmentOptions.MaxFitUsers"/> the fit sees a sample and everyone joins the nearest centroid: the
    /// segments then agree with a fit over everyone, and every user has a membership and a map point.
    /// </summary>
    [Fact]
    public void Build_MoreUsersThanTheFit_SampledFitAgreesWithTheFullOne()
    {
        var rng = new Random(3);
        double Noise() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()) * 0.3;
        var users = Enumerable.Range(0, 3000).Select(i =>
        {
            var group = i % 3;
            double[] traits = [group == 0 ? 6 + Noise() : 2 + Noise(), 1 + Noise(), group == 1 ? 4 + Noise() : 1 + Noise(), 1 + Noise(), group == 2 ? 0.9 : 0.3, 0];
            return new SegmentInput($"u{i:D4}", traits, [KeyValuePair.Create("Beauty", group == 2 ? 0.8 : 0.2)], null);
        }).ToList();

        var sampled = new SegmentBuilder(new SegmentOptions { K = 3, MaxFitUsers = 1000 }).Build(users, shop.Catalog, shop.End);
        var full = new SegmentBuilder(new SegmentOptions { K = 3 }).Build(users, shop.Catalog, shop.End);

        Assert.Equal(users.Count, sampled.Members.Count);
        Assert.Equal(users.Count, sampled.Projection.Count);
        Assert.Equal(users.Count, sampled.Segments.Sum(s => s.Size));
        int[] Labels(SegmentModel m) => [.. users.Select(u => int.Parse(m.Members[u.UserId].SegmentId["seg-".Length..], System.Globalization.CultureInfo.InvariantCulture))];
        Assert.True(ClusterMetrics.AdjustedRandIndex(Labels(sampled), Labels(full)) > 0.95);
        Assert.True(ClusterMetrics.AdjustedRandIndex(Labels(sampled), [.. users.Select((_, i) => i % 3)]) > 0.95);
    }

    [Fact]
    public void Build_GivenK_UsesIt()
    {
        var model = new SegmentBuilder(new SegmentOptions { K = 4 }).Build(shop.Current, shop.Catalog, shop.End);
        Assert.Equal(4, model.K);
        Assert.Equal(["seg-1", "seg-2", "seg-3", "seg-4"], model.Segments.Select(s => s.Id));
        Assert.True(model.Segments.Zip(model.Segments.Skip(1)).All(p => p.First.Size >= p.Second.Size));
        Assert.Equal(100, model.ProjectionSample(100).Count);
    }
}
