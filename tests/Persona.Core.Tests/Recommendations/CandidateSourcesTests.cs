using Persona.Abstractions;
using Persona.Core.Ranking;
using Persona.Core.Ranking.Sources;

namespace Persona.Core.Tests.Recommendations;

/// <summary>Candidate sources as parts: a registry a shop can extend, and strategies that weigh them by name.</summary>
public sealed class CandidateSourcesTests
{
    /// <summary>A shop's own source: "new in" items, newest id first, explained in both languages.</summary>
    private sealed class NewInSource(params string[] newest) : ICandidateSource
    {
        public string Name => "new_in";

        public void Gather(CandidateRequest request, CandidatePool pool, int slot)
        {
            for (var i = 0; i < newest.Length; i++)
                if (request.Accept(newest[i])) pool.Get(newest[i]).Scores[slot] = 1.0 - 0.1 * i;
        }

        public Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource) =>
            new("New in", "新品");
    }

    [Fact]
    public void AShopsOwnSource_JoinsTheBlendByName_AndExplainsWhatItPlaced()
    {
        var shop = new TestShop().WithHabits();
        var recommender = new Recommender(shop.Options, shop.Catalog, () => shop.CoOccurrence, shop.Popularity,
            CandidateSources.Default.With(new NewInSource("moisturizer-4", "moisturizer-3")));

        // The configured weights do not know "new_in": it weighs 0 and adds nothing.
        var plain = recommender.Recommend(shop.User("newcomer"), new RecommendationQuery { Count = 3 }, null);
        Assert.DoesNotContain(plain, r => r.Sources.Contains("new_in"));

        // A strategy that weighs it: its items lead, named and explained by it.
        var weights = SourceWeights.From(shop.Options) with { Others = new Dictionary<string, double> { ["new_in"] = 5 } };
        var list = recommender.Recommend(shop.User("newcomer"), new RecommendationQuery { Count = 3, Weights = weights }, null);
        Assert.Equal(["moisturizer-4", "moisturizer-3"], list.Take(2).Select(r => r.ItemId));
        Assert.Equal("new_in", list[0].Sources[0]);
        Assert.Equal(new Reason("New in", "新品"), list[0].Reason);
        Assert.DoesNotContain("new_in", list[2].Sources);
    }

    [Fact]
    public void AStrategyWeighingOnlyPopularity_ShowsOnlyPopularityAsTheSource()
    {
        var shop = new TestShop().WithHabits();
        shop.Event("me", "lipstick-0", EventType.Purchase);
        var list = shop.Recommender.Recommend(shop.User("me"), new RecommendationQuery { Count = 5, Weights = new SourceWeights(0, 0, 0, 1, 0, 0) }, shop.Model());
        Assert.NotEmpty(list);
        Assert.All(list, r => Assert.Equal(["popularity"], r.Sources));
        Assert.Equal("shampoo-0", list[0].ItemId);

        // The configured blend, for the same shopper, follows the habit.
        var blended = shop.Recommender.Recommend(shop.User("me"), new RecommendationQuery { Count = 5, ExcludeSeen = true }, null);
        Assert.Equal("nailpolish-0", blended[0].ItemId);
    }

    [Fact]
    public void TwoSourcesOfOneName_AreRefused() =>
        Assert.Throws<ArgumentException>(() => CandidateSources.Default.With(new PopularitySource()));
}
