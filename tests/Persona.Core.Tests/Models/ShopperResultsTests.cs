using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Models;
using Persona.Core.Models.Segments;

namespace Persona.Core.Tests.Models;

[Collection(SmallShopCollection.Name)]
public class ShopperResultsTests(SmallShopFixture shop)
{
    private static readonly string[] Categories = ["Beauty", "Beauty > Skincare", "美妆 > 口红", "Home", "Toys", "数码"];
    private static readonly DateTimeOffset At = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private SegmentModel Segmentation() => new SegmentBuilder(new SegmentOptions { K = 4 }).Build(shop.Current, shop.Catalog, shop.End);

    /// <summary>Random predictions as a refresh makes them: four decimals, some parts missing.</summary>
    private static Predictions RandomPredictions(Random rng)
    {
        double Value(double max) => Math.Round(rng.NextDouble() * max, 4);
        var propensity = Categories.Where(_ => rng.Next(2) == 0).ToDictionary(c => c, _ => Value(1), StringComparer.Ordinal);
        return new Predictions
        {
            ModelVersion = "propensity-test",
            ComputedAt = At,
            PurchasePropensity = rng.Next(4) == 0 ? null : Value(1),
            ChurnRisk = rng.Next(4) == 0 ? null : Value(1),
            CategoryPropensity = propensity,
            CategoryDemand = Categories.Where(_ => rng.Next(3) == 0).ToDictionary(c => c, _ => Value(40), StringComparer.Ordinal),
            NextCategories = [.. propensity.OrderByDescending(kv => kv.Value).Take(3).Select(kv => new ScoredKey(kv.Key, kv.Value))],
        };
    }

    private static void AssertSame(Predictions expected, Predictions? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.ModelVersion, actual.ModelVersion);
        Assert.Equal(expected.ComputedAt, actual.ComputedAt);
        Assert.Equal(expected.PurchasePropensity, actual.PurchasePropensity);
        Assert.Equal(expected.ChurnRisk, actual.ChurnRisk);
        Assert.Equal(expected.CategoryPropensity.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.CategoryPropensity.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(expected.CategoryDemand.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.CategoryDemand.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(expected.NextCategories, actual.NextCategories);
    }

    private static ShopperResults Reload(ShopperResults results, IEnumerable<ShopperResultRecord> rows, out int skipped)
    {
        var loader = new ShopperResults.Loader(results.Header, results.SegmentsHeader);
        foreach (var row in rows) loader.Add(row);
        skipped = loader.Skipped;
        return loader.Complete();
    }

    /// <summary>
    /// For random predictions over a random part of the shoppers (the rest only segmented), the rows read back in any
    /// order give every shopper exactly the predictions, membership and map point the refresh made.
    /// </summary>
    [Fact]
    public void Rows_ReadBackInAnyOrder_GiveExactlyWhatTheRefreshMade()
    {
        var segments = Segmentation();
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var expected = new Dictionary<string, Predictions>(StringComparer.Ordinal);
            var builder = new ShopperResults.Builder();
            // Some users have predictions but no segment (they had no counted events when segmented).
            foreach (var user in segments.Members.Keys.Where(_ => rng.Next(3) > 0).Append($"only-predicted-{seed}"))
                builder.AddPredictions(user, expected[user] = RandomPredictions(rng));
            var results = builder.Build("propensity-test", At, segments);

            var rows = results.ToRecords().OrderBy(_ => rng.Next()).ToList();
            var read = Reload(results, rows, out var skipped);

            Assert.Equal(0, skipped);
            Assert.Equal(segments.Members.Count + 1, read.Count);
            foreach (var (user, p) in expected) AssertSame(p, read.PredictionsOf(user));
            foreach (var (user, m) in segments.Members)
            {
                Assert.Equal(m, read.MembershipOf(user));
                Assert.Equal(m, read.Segments!.Members[user]);
                if (!expected.ContainsKey(user)) Assert.Null(read.PredictionsOf(user));
            }
            Assert.Null(read.MembershipOf($"only-predicted-{seed}"));
            Assert.Equal(segments.Projection.OrderBy(p => p.UserId, StringComparer.Ordinal), read.Segments!.Projection);
            Assert.Equal(segments.Segments.Select(s => (s.Id, s.LabelEn, s.LabelZh, s.Size, s.Share)), read.Segments.Segments.Select(s => (s.Id, s.LabelEn, s.LabelZh, s.Size, s.Share)));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void DamagedRow_IsRefusedAndOnlyThatShopperLosesResults()
    {
        var segments = Segmentation();
        var builder = new ShopperResults.Builder();
        var rng = new Random(1);
        foreach (var user in segments.Members.Keys) builder.AddPredictions(user, RandomPredictions(rng));
        var results = builder.Build("propensity-test", At, segments);
        var rows = results.ToRecords().ToList();
        var damaged = rows[3].Data.ToArray();
        damaged[damaged.Length / 2] ^= 0x40;
        rows[3] = rows[3] with { Data = damaged };
        rows[5] = rows[5] with { Data = [2, .. rows[5].Data[1..]] };

        var read = Reload(results, rows, out var skipped);

        Assert.Equal(2, skipped);
        Assert.Null(read.PredictionsOf(rows[3].UserId));
        Assert.Null(read.MembershipOf(rows[5].UserId));
        Assert.Equal(rows.Count - 2, read.Count);
        Assert.Equal(results.MembershipOf(rows[4].UserId), read.MembershipOf(rows[4].UserId));
    }

    [Fact]
    public void RowNamingASegmentTheHeaderLacks_IsRefused()
    {
        var segments = Segmentation();
        var results = new ShopperResults.Builder().Build(null, At, segments);
        var rows = results.ToRecords().ToList();
        var fewer = results.SegmentsHeader! with { Segments = [.. results.SegmentsHeader!.Segments.Take(1)] };

        var loader = new ShopperResults.Loader(results.Header, fewer);
        foreach (var row in rows) loader.Add(row);
        var read = loader.Complete();

        Assert.Equal(rows.Count - results.Segments!.Segments[0].Size, loader.Skipped);
        Assert.All(read.Segments!.Members, m => Assert.Equal(fewer.Segments[0].Id, m.Value.SegmentId));
    }

    [Fact]
    public void Remove_DropsTheShopperFromEveryViewAndTheRows()
    {
        var segments = Segmentation();
        var builder = new ShopperResults.Builder();
        var user = segments.Members.Keys.First();
        builder.AddPredictions(user, RandomPredictions(new Random(2)));
        var results = builder.Build("propensity-test", At, segments);
        var segmentId = results.MembershipOf(user)!.SegmentId;
        var sizeBefore = results.Segments!.Segments.Single(s => s.Id == segmentId).Size;

        Assert.Equal((true, true), results.Remove(user));
        Assert.Equal((false, false), results.Remove(user));

        Assert.Null(results.PredictionsOf(user));
        Assert.Null(results.MembershipOf(user));
        Assert.False(results.Segments.Members.ContainsKey(user));
        Assert.DoesNotContain(user, results.Segments.Members.Keys);
        Assert.DoesNotContain(results.Segments.Projection, p => p.UserId == user);
        Assert.Equal(segments.Members.Count - 1, results.Segments.Members.Count);
        Assert.Equal(sizeBefore - 1, results.Segments.Segments.Single(s => s.Id == segmentId).Size);
        Assert.Equal(segments.Members.Count - 1, results.SegmentsHeader!.Segments.Sum(s => s.Size));
        Assert.Equal(1.0, results.Segments.Segments.Sum(s => s.Share), 3);
        Assert.DoesNotContain(results.ToRecords(), r => r.UserId == user);
        Assert.Empty(results.AllPredictions());
    }

    [Fact]
    public void AValueThatIsNotFinite_IsRefusedWhenAdded()
    {
        var builder = new ShopperResults.Builder();
        Assert.Throws<ArgumentException>(() => builder.AddPredictions("u1", new Predictions { PurchasePropensity = double.NaN }));
    }
}
