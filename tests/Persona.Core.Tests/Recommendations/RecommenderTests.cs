using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Ranking;

namespace Persona.Core.Tests.Recommendations;

public sealed class RecommenderTests
{
    private static readonly string?[] Categories = [null, "Makeup", "Beauty > Makeup > Lipstick", "口红", "hair", "Beauty"];

    [Fact]
    public void Recommend_RandomQueries_FiltersExclusionsAndReasonsHold()
    {
        var shop = new TestShop().WithHabits();
        var all = shop.Items.Select(e => e.Item.Id).Order(StringComparer.Ordinal).ToArray();
        shop.Catalog.Upsert([shop.Items.First(e => e.Item.Id == "nailpolish-1").Item with { Available = false }]);
        var prop = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var user = "random-" + seed;
            for (var i = rng.Next(0, 8); i > 0; i--) shop.Event(user, all[rng.Next(all.Length)], rng.Next(3) == 0 ? EventType.Purchase : EventType.View);
            var query = new RecommendationQuery
            {
                Count = rng.Next(1, 25),
                Category = Categories[rng.Next(Categories.Length)],
                Exclude = all.Where(_ => rng.Next(4) == 0).ToHashSet(),
                ExcludeSeen = rng.Next(2) == 0,
                Diversity = new[] { 0, 0.3, 1 }[rng.Next(3)],
            };
            var affinities = rng.Next(2) == 0 ? null : new Affinities
            {
                Categories = [new Affinity("Beauty > Hair > Shampoo", "Shampoo", "洗发水", 3, 4, 0.7)],
                Brands = [new Affinity("Zenith", "Zenith", "天顶", 1, 2, 0.5)],
            };
            var context = shop.User(user, affinities);
            var model = rng.Next(2) == 0 ? shop.Model() : null;

            var results = shop.Recommender.Recommend(context, query, model);

            Assert.True(results.Count <= query.Count);
            Assert.Equal(results.Count, results.Select(r => r.ItemId).Distinct().Count());
            foreach (var r in results)
            {
                Assert.True(shop.Catalog.TryGet(r.ItemId, out var entry));
                Assert.True(entry.Item.Available, $"{r.ItemId} is unavailable");
                Assert.DoesNotContain(r.ItemId, query.Exclude);
                if (query.ExcludeSeen) Assert.DoesNotContain(r.ItemId, context.Seen);
                if (query.Category is { } c) Assert.True(entry.InCategory(c), $"{r.ItemId} is not in {c}");
                AssertReason(r);
            }
            if (query.Diversity == 0)
                Assert.Equal(results.Select(r => r.Score).OrderByDescending(s => s), results.Select(r => r.Score));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), prop);
    }

    [Fact]
    public void Recommend_AfterLipstick_NailPolishOftenBoughtAfterItNamedInBothLanguages()
    {
        var shop = new TestShop().WithHabits();
        shop.Event("me", "lipstick-0", EventType.Purchase);

        var results = shop.Recommender.Recommend(shop.User("me"), new RecommendationQuery { Count = 5, ExcludeSeen = true }, model: null);

        var first = results[0];
        Assert.Equal("nailpolish-0", first.ItemId);
        Assert.Equal(RecommendationSources.CoOccurrence, first.Sources[0]);
        Assert.Equal("Often bought after Lipstick 0", first.Reason.En);
        Assert.Equal("常在购买「口红0」后购买", first.Reason.Zh);
        Assert.DoesNotContain(results, r => r.ItemId == "lipstick-0");
    }

    [Fact]
    public void Recommend_NewItemWithKnownCategory_RecommendedThroughModelItemVector()
    {
        var shop = new TestShop().WithHabits();
        for (var i = 0; i < 5; i++) shop.Event("skin", $"moisturizer-{i}");
        var model = shop.Model();
        var fresh = new Item { Id = "moisturizer-new", Title = "Moisturizer New", CategoryPath = ["Beauty", "Skin Care", "Moisturizer"] };
        shop.Catalog.Upsert([fresh]);
        model.Index.Upsert(fresh.Id, model.Model.ItemVector(fresh)!);
        var query = new RecommendationQuery { Count = 3, ExcludeSeen = true };

        var withModel = shop.Recommender.Recommend(shop.User("skin"), query, model);
        var without = shop.Recommender.Recommend(shop.User("skin"), query, model: null);

        var top = withModel[0];
        Assert.Equal("moisturizer-new", top.ItemId);
        Assert.Equal(RecommendationSources.Model, top.Sources[0]);
        Assert.Equal("Similar to Moisturizer 4 you viewed", top.Reason.En);
        Assert.Equal("与你浏览过的「Moisturizer 4」相似", top.Reason.Zh);
        // Nobody has touched it, so without the model's attribute vector it cannot come up.
        Assert.DoesNotContain(without, r => r.ItemId == "moisturizer-new");
    }

    [Fact]
    public void Recommend_ColdUserWithAffinity_PopularItemsOfThatCategoryWithInterestReason()
    {
        var shop = new TestShop().WithHabits();
        var affinities = new Affinities { Categories = [new Affinity("Beauty > Makeup > Nail Polish", "Nail Polish", "指甲油", 3, 6, 0.9)] };

        var shaped = shop.Recommender.Recommend(shop.User("cold", affinities), new RecommendationQuery { Count = 3 }, model: null);
        var plain = shop.Recommender.Recommend(shop.User("cold"), new RecommendationQuery { Count = 3 }, model: null);

        Assert.All(shaped, r => Assert.StartsWith("nailpolish-", r.ItemId, StringComparison.Ordinal));
        Assert.Equal("Matches your interest in Nail Polish", shaped[0].Reason.En);
        Assert.Equal("符合你对指甲油的兴趣", shaped[0].Reason.Zh);
        Assert.Equal("shampoo-0", plain[0].ItemId);
        Assert.Equal(new Reason("Popular in Shampoo", "Shampoo热销"), plain[0].Reason);
    }

    [Fact]
    public void Recommend_Anonymous_UsesNoBehaviourOnlyPopularity()
    {
        var shop = new TestShop().WithHabits();
        shop.Event("private", "lipstick-0", EventType.Purchase);

        var results = shop.Recommender.Recommend(UserContext.Anonymous("private"), new RecommendationQuery { Count = 5, ExcludeSeen = true }, shop.Model());

        Assert.All(results, r => Assert.Equal([RecommendationSources.Popularity], r.Sources));
        Assert.Equal("shampoo-0", results[0].ItemId);
        Assert.Contains(results, r => r.ItemId == "lipstick-0"); // seen-exclusion would need their history
    }

    [Fact]
    public void Recommend_CategoryFilterInChinese_ReasonNamesThatCategory()
    {
        var shop = new TestShop().WithHabits();

        var results = shop.Recommender.Recommend(shop.User("cold"), new RecommendationQuery { Count = 3, Category = "口红" }, model: null);

        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.StartsWith("lipstick-", r.ItemId, StringComparison.Ordinal));
        Assert.Equal("口红热销", results[0].Reason.Zh);
        Assert.Equal("Popular in Lipstick", results[0].Reason.En);
    }

    [Fact]
    public void Recommend_Diversity_SpreadsCategoriesWhileZeroKeepsRelevanceOrder()
    {
        var shop = new TestShop().WithHabits();
        shop.Event("me", "lipstick-0", EventType.Purchase);
        var model = shop.Model();

        var plain = shop.Recommender.Recommend(shop.User("me"), new RecommendationQuery { Count = 4 }, model);
        var diverse = shop.Recommender.Recommend(shop.User("me"), new RecommendationQuery { Count = 4, Diversity = 0.8 }, model);

        Assert.Single(plain.Select(r => Leaf(shop, r.ItemId)).Distinct());
        Assert.True(diverse.Select(r => Leaf(shop, r.ItemId)).Distinct().Count() >= 3);
    }

    [Fact]
    public void Similar_ItemWithFollowers_OftenBoughtAfterAndModelNeighbours()
    {
        var shop = new TestShop().WithHabits();
        shop.Catalog.TryGet("lipstick-0", out var lipstick);

        var withoutModel = shop.Recommender.Similar(lipstick!.Item, 3, model: null);
        var withModel = shop.Recommender.Similar(lipstick.Item, 3, shop.Model());

        Assert.Equal("nailpolish-0", withoutModel[0].ItemId);
        Assert.Equal("常在购买「口红0」后购买", withoutModel[0].Reason.Zh);
        Assert.DoesNotContain(withModel, r => r.ItemId == "lipstick-0");
        Assert.Contains(withModel, r => r.ItemId.StartsWith("lipstick-", StringComparison.Ordinal) && r.Reason.En == "Similar to Lipstick 0");
        Assert.All(withModel, AssertReason);
    }

    [Fact]
    public void Mmr_DiversityZero_IsRelevanceOrder()
    {
        var prop = Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var relevance = Enumerable.Range(0, rng.Next(0, 30)).Select(_ => Math.Round(rng.NextDouble(), 1)).ToArray();
            var n = rng.Next(0, 35);
            var picked = Mmr.Select(relevance, n, 0, (_, _) => rng.NextDouble());
            var expected = Enumerable.Range(0, relevance.Length).OrderByDescending(i => relevance[i]).Take(n);
            Assert.Equal(expected, picked);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), prop);
    }

    [Fact]
    public void Mmr_HighDiversity_SkipsNearDuplicate()
    {
        // 0 and 1 are near duplicates; 2 is less relevant but different.
        double[] relevance = [1.0, 0.95, 0.6];
        double Similarity(int a, int b) => (a, b) is (0, 1) or (1, 0) ? 0.98 : 0.1;

        Assert.Equal([0, 1], Mmr.Select(relevance, 2, 0, Similarity));
        Assert.Equal([0, 2], Mmr.Select(relevance, 2, 0.5, Similarity));
    }

    private static string Leaf(TestShop shop, string itemId) =>
        shop.Catalog.TryGet(itemId, out var e) ? e.LeafEn ?? "" : "";

    private static void AssertReason(Recommendation r)
    {
        Assert.False(string.IsNullOrWhiteSpace(r.Reason.En), $"{r.ItemId} has no English reason");
        Assert.False(string.IsNullOrWhiteSpace(r.Reason.Zh), $"{r.ItemId} has no Chinese reason");
        Assert.Contains(r.Reason.Zh, c => c >= '\u4e00' && c <= '\u9fff');
        Assert.NotEmpty(r.Sources);
    }
}
