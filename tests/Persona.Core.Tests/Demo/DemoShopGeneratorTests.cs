using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Evaluation;

namespace Persona.Core.Tests.Demo;

public class DemoShopGeneratorTests
{
    internal static DemoOptions Small(int seed = 7) => new() { Seed = seed, Users = 150, Items = 800, TargetEventsPerUser = 60 };

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, PersonaJson.Options);

    [Fact]
    public void Generate_SameSeed_ByteIdenticalOutput()
    {
        var a = new DemoShopGenerator(Small()).Generate();
        var b = new DemoShopGenerator(Small()).Generate();

        Assert.Equal(Json(a.Items), Json(b.Items));
        Assert.Equal(Json(a.Users), Json(b.Users));
        Assert.Equal(Json(a.Events), Json(b.Events));
        Assert.Equal(Json(a.Truth), Json(b.Truth));
    }

    [Fact]
    public void Generate_DifferentSeed_DifferentShop()
    {
        var a = new DemoShopGenerator(Small(1)).Generate();
        var b = new DemoShopGenerator(Small(2)).Generate();

        Assert.NotEqual(Json(a.Items), Json(b.Items));
        Assert.NotEqual(Json(a.Events), Json(b.Events));
        Assert.NotEqual(Json(a.Truth), Json(b.Truth));
    }

    [Fact]
    public async Task Generate_SameSeed_WrittenFilesIdentical()
    {
        var root = Path.Combine(Path.GetTempPath(), "persona-demo-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = await DemoShopWriter.WriteAsync(new DemoShopGenerator(Small()).Generate(), Path.Combine(root, "a"));
            var second = await DemoShopWriter.WriteAsync(new DemoShopGenerator(Small()).Generate(), Path.Combine(root, "b"));
            Assert.Equal(await File.ReadAllBytesAsync(first.Events), await File.ReadAllBytesAsync(second.Events));
            Assert.Equal(await File.ReadAllBytesAsync(first.Items), await File.ReadAllBytesAsync(second.Items));
            Assert.Equal(await File.ReadAllBytesAsync(first.Truth), await File.ReadAllBytesAsync(second.Truth));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData(0, 800, 90)]
    [InlineData(10, 10, 90)]
    [InlineData(10, 800, 30)]
    public void Constructor_OptionsOutOfRange_Throws(int users, int items, int days) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DemoShopGenerator(new DemoOptions { Users = users, Items = items, Days = days }));

    [Fact]
    public void Generate_SmallShops_StructuralInvariantsHold()
    {
        // Property over seeds: sorted, sequential ids, events inside each user's active window, churned users silent.
        var property = Prop.ForAll(Gen.Choose(0, 100_000).ToArbitrary(), seed =>
        {
            var shop = new DemoShopGenerator(new DemoOptions { Seed = seed, Users = 25, Items = 200, TargetEventsPerUser = 40 }).Generate();
            var truth = shop.Truth.ToDictionary(t => t.UserId);
            var itemIds = shop.Items.Select(i => i.Id).ToHashSet();
            var start = shop.Options.End.AddDays(-shop.Options.Days);
            for (var i = 0; i < shop.Events.Count; i++)
            {
                var e = shop.Events[i];
                if (e.Id != $"demo-{i + 1:D6}") return false;
                if (i > 0 && e.Timestamp < shop.Events[i - 1].Timestamp) return false;
                if (e.Timestamp < start || e.Timestamp >= shop.Options.End) return false;
                var t = truth[e.UserId];
                if (t.ChurnedAt is { } churnedAt && e.Timestamp >= churnedAt) return false;
                if (e.Timestamp < t.SignupAt) return false;
                if (e.Type == EventType.Search ? e.ItemId is not null || string.IsNullOrEmpty(e.Query) : !itemIds.Contains(e.ItemId!)) return false;
            }
            return shop.Truth.All(t => t.EventCount > 0);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(8), property);
    }
}

[Collection(DefaultShopCollection.Name)]
public class DefaultDemoShopTests(DefaultShopFixture fixture)
{
    private readonly DemoShop _shop = fixture.Shop;

    private static bool HasChinese(string text) => text.Any(c => c is >= '\u4e00' and <= '\u9fff');

    [Fact]
    public void Generate_Defaults_MeetsSizeAndSpeedTargets()
    {
        // About 1.5 s alone in Debug; the bound is loose because test classes run in parallel on shared cores.
        Assert.True(fixture.Elapsed < TimeSpan.FromSeconds(60), $"took {fixture.Elapsed}");
        Assert.True(_shop.Items.Count >= 5000);
        Assert.True(_shop.Users.Count >= 3000);
        Assert.Equal(_shop.Users.Count, _shop.Truth.Count);
        Assert.InRange(_shop.Events.Count, 240_000, 360_000);
    }

    [Fact]
    public void Catalog_Tree_AtLeast30LeavesOfDepth2To3()
    {
        var leaves = _shop.Items.Select(i => i.CategoryPath).DistinctBy(p => string.Join("|", p)).ToArray();
        Assert.True(leaves.Length >= 30, $"{leaves.Length} leaves");
        Assert.All(leaves, p => Assert.InRange(p.Count, 2, 3));
        Assert.Contains(leaves, p => p.Count == 2);
        Assert.Contains(leaves, p => p.Count == 3);
        Assert.Contains(_shop.Items, i => i.CategoryPath.SequenceEqual(["Beauty", "Makeup", "Lipstick"]));
        // Every leaf has several brands and enough items for price thirds.
        Assert.All(_shop.Items.GroupBy(DemoOracle.LeafKey), g =>
        {
            Assert.True(g.Count() >= 30, $"{g.Key}: {g.Count()} items");
            Assert.True(g.Select(i => i.Brand).Distinct().Count() >= 2, $"{g.Key}: one brand");
        });
    }

    [Fact]
    public void Items_BilingualFields_Present()
    {
        Assert.All(_shop.Items, item =>
        {
            Assert.False(HasChinese(item.Title));
            Assert.True(HasChinese(item.Attributes["title_zh"]), item.Attributes["title_zh"]);
            Assert.True(HasChinese(item.Attributes["brand_zh"]) || item.Attributes["brand_zh"] == item.Brand);
            var zhPath = item.Attributes["category_path_zh"].Split(CategoryPaths.Separator);
            Assert.Equal(item.CategoryPath.Count, zhPath.Length);
            Assert.All(zhPath, segment => Assert.True(HasChinese(segment), segment));
            Assert.Equal("CNY", item.Currency);
            Assert.True(item.Price > 0);
            Assert.NotNull(item.CreatedAt);
            Assert.StartsWith(item.Brand!, item.Title, StringComparison.Ordinal);
        });
        var lipstick = _shop.Items.First(i => i.CategoryPath[^1] == "Lipstick");
        Assert.Equal("美妆 > 彩妆 > 口红", lipstick.Attributes["category_path_zh"]);
    }

    [Fact]
    public void Items_PricesPerLeaf_RealisticRanges()
    {
        var phones = _shop.Items.Where(i => i.CategoryPath[^1] == "Smartphones").Select(i => i.Price!.Value).Order().ToArray();
        var cases = _shop.Items.Where(i => i.CategoryPath[^1] == "Phone Cases").Select(i => i.Price!.Value).Order().ToArray();
        Assert.InRange(phones[phones.Length / 2], 1500, 5000);
        Assert.InRange(cases[cases.Length / 2], 20, 90);
        // Log-normal spread: the top decile is several times the bottom one.
        Assert.True(phones[phones.Length * 9 / 10] / phones[phones.Length / 10] > 2.5);
    }

    [Fact]
    public void Events_SearchQueries_InChineseAndEnglish()
    {
        var queries = _shop.Events.Where(e => e.Type == EventType.Search).Select(e => e.Query!).ToArray();
        Assert.True(queries.Length > 1000);
        Assert.Contains(queries, HasChinese);
        Assert.Contains(queries, q => !HasChinese(q) && q.Any(char.IsAsciiLetter));
        Assert.Contains(queries, q => q.Contains("元以下", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.StartsWith("cheap ", StringComparison.Ordinal));
        Assert.Contains("口红", queries);
    }

    [Fact]
    public void Events_Fields_FilledAndPlausible()
    {
        Assert.Equal(_shop.Events.Count, _shop.Events.Select(e => e.Id).Distinct().Count());
        Assert.All(_shop.Events, e =>
        {
            Assert.False(string.IsNullOrEmpty(e.SessionId));
            Assert.Contains(e.Device, new[] { "mobile", "desktop", "tablet" });
            Assert.Contains(e.Channel, new[] { "app", "web", "mini_program" });
            Assert.Equal(TimeSpan.Zero, e.Timestamp!.Value.Offset);
        });
        var prices = _shop.Items.ToDictionary(i => i.Id, i => i.Price!.Value);
        var purchases = _shop.Events.Where(e => e.Type == EventType.Purchase).ToArray();
        // Paid = quantity × price, less at most a 20% coupon.
        Assert.All(purchases, p => Assert.True(p.Value >= prices[p.ItemId!] * 0.79, $"{p.Value} for {prices[p.ItemId!]}"));
        Assert.All(_shop.Events.Where(e => e.Type == EventType.Rate), r => Assert.InRange(r.Value!.Value, 1, 5));

        var counts = _shop.Events.GroupBy(e => e.Type).ToDictionary(g => g.Key, g => g.Count());
        var viewToPurchase = (double)counts[EventType.Purchase] / counts[EventType.View];
        Assert.InRange(viewToPurchase, 0.02, 0.12);
        Assert.True(counts[EventType.Click] < counts[EventType.View]);
        Assert.True(counts[EventType.AddToCart] > counts[EventType.Purchase]);
        Assert.True(counts[EventType.Review] < counts[EventType.Rate]);
        Assert.True(counts[EventType.Favorite] > 0);
    }

    [Fact]
    public void Truth_Lifecycle_ConsistentWithEvents()
    {
        var end = _shop.Options.End;
        var lastByUser = _shop.Events.GroupBy(e => e.UserId).ToDictionary(g => g.Key, g => g.Max(e => e.Timestamp!.Value));
        var churned = _shop.Truth.Where(t => t.Churned).ToArray();
        Assert.InRange((double)churned.Length / _shop.Truth.Count, 0.15, 0.25);
        Assert.All(churned, t =>
        {
            Assert.NotNull(t.ChurnedAt);
            Assert.True(lastByUser[t.UserId] < t.ChurnedAt);
            Assert.True((end - t.ChurnedAt!.Value).TotalDays >= 35);
            Assert.False(t.IsNew);
        });
        var newUsers = _shop.Truth.Where(t => t.IsNew).ToArray();
        Assert.NotEmpty(newUsers);
        Assert.All(newUsers, t => Assert.True((end - t.SignupAt).TotalDays <= 14));
        Assert.All(_shop.Truth.Where(t => !t.Churned), t =>
        {
            Assert.Null(t.ChurnedAt);
            Assert.True((end - lastByUser[t.UserId]).TotalDays <= 21, t.UserId);
        });
        Assert.All(_shop.Truth, t => Assert.Equal(lastByUser[t.UserId], t.LastEventAt));
        Assert.Contains(_shop.Users, u => !u.Consent.Marketing);
        Assert.True(_shop.Users.Count(u => !u.Consent.Marketing) < _shop.Users.Count / 10);
    }

    [Fact]
    public void Truth_TopCategories_DominateInteractions()
    {
        var leafOf = _shop.Items.ToDictionary(i => i.Id, DemoOracle.LeafKey);
        var leaves = leafOf.Values.ToHashSet();
        var byUser = _shop.Events.Where(e => e.ItemId is not null).GroupBy(e => e.UserId).ToDictionary(g => g.Key, g => g.ToArray());
        var shares = new List<double>();
        foreach (var t in _shop.Truth)
        {
            Assert.Equal(3, t.TopCategories.Distinct().Count());
            Assert.All(t.TopCategories, k => Assert.Contains(k, leaves));
            Assert.True(t.TopCategoryWeights[0] >= t.TopCategoryWeights[1] && t.TopCategoryWeights[1] >= t.TopCategoryWeights[2]);
            var events = byUser[t.UserId];
            shares.Add((double)events.Count(e => t.TopCategories.Contains(leafOf[e.ItemId!])) / events.Length);
        }
        Assert.True(shares.Average() >= 0.8, $"mean share {shares.Average():F3}");
        // Exploration exists: nobody is perfectly confined on average.
        Assert.True(shares.Average() < 0.99);
    }

    [Fact]
    public void Truth_PriceTier_DrivesPurchasePercentile()
    {
        var percentiles = DemoOracle.LeafPercentiles(_shop.Items);
        var tierOf = _shop.Truth.ToDictionary(t => t.UserId, t => t.PriceTier);
        var meanByTier = _shop.Events.Where(e => e.Type == EventType.Purchase)
            .GroupBy(e => tierOf[e.UserId])
            .ToDictionary(g => g.Key, g => g.Average(e => percentiles[e.ItemId!]));
        Assert.True(meanByTier[Tiers.Low] < 0.3, $"low {meanByTier[Tiers.Low]:F3}");
        Assert.InRange(meanByTier[Tiers.Mid], 0.4, 0.6);
        Assert.True(meanByTier[Tiers.High] > 0.7, $"high {meanByTier[Tiers.High]:F3}");
    }

    [Fact]
    public void Truth_Signals_RecoverableByPlainBuilder()
    {
        var report = ProfileQualityEvaluator.Evaluate(DemoOracle.BuildProfiles(_shop), _shop.Truth);

        Assert.Equal(_shop.Truth.Count, report.Users);
        Assert.True(report.TopCategoryPrecisionAt3 >= 0.88, report.ToMarkdown());
        Assert.True(report.ChurnRecall >= 0.99, report.ToMarkdown());
        Assert.True(report.ChurnPrecision >= 0.95, report.ToMarkdown());
        Assert.True(report.PriceTierExactMatch >= 0.9, report.ToMarkdown());
        // Not trivially perfect: exploration and off-tier choices leave noise.
        Assert.True(report.TopCategoryPrecisionAt3 < 1.0);
    }

    [Fact]
    public async Task TruthFile_RoundTrip_Equal()
    {
        var path = Path.Combine(Path.GetTempPath(), $"persona-truth-{Guid.NewGuid():N}.jsonl");
        try
        {
            await DemoTruthFile.WriteAsync(path, _shop.Truth);
            var read = await DemoTruthFile.ReadAsync(path);
            Assert.Equal(JsonSerializer.Serialize(_shop.Truth, PersonaJson.Options), JsonSerializer.Serialize(read, PersonaJson.Options));
            var firstLine = File.ReadLines(path).First();
            Assert.Contains("\"top_categories\":", firstLine, StringComparison.Ordinal);
            Assert.Contains("\"price_tier\":", firstLine, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
