using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using Persona.Core.Search;

namespace Persona.Core.Tests.Search;

public sealed class ProductSearchIndexTests
{
    private static Item Lipstick(string id, string brand, double price, string title = "matte lipstick") =>
        new() { Id = id, Title = title, Brand = brand, Price = price, CategoryPath = ["Makeup", "Lips", "Lipstick"] };

    private static readonly Item[] Catalog =
    [
        Lipstick("l1", "Alpha", 10),
        Lipstick("l2", "Beta", 20),
        Lipstick("l3", "Gamma", 80),
        Lipstick("l4", "Beta", 120, "long wear lipstick"),
        new() { Id = "n1", Title = "gel nail polish", Brand = "OPI", Price = 15, CategoryPath = ["Makeup", "Nails", "Nail Polish"] },
        new() { Id = "z1", Title = "丝绒口红 哑光", Brand = "Beta", Price = 99, CategoryPath = ["Makeup", "Lips", "Lipstick"] },
    ];

    private static ProductSearchIndex NewIndex()
    {
        var index = new ProductSearchIndex();
        index.Upsert(Catalog);
        return index;
    }

    private static SearchUser BetaFan() => new()
    {
        UserId = "u1",
        Profile = new Profile
        {
            UserId = "u1",
            Traits = new Traits { Rfm = new Rfm(1, 1, 1, 3, 3, 3) },
            Affinities = new Affinities { Brands = [new Affinity("Beta", "Beta", "Beta", 1, 5, 1.0)] },
        },
    };

    [Fact]
    public void Search_Upsert_VisibleToNextQuery()
    {
        using var index = NewIndex();
        Assert.Empty(index.Search(new SearchRequest { Query = "eyeliner" }).Hits);

        index.Upsert([new Item { Id = "e1", Title = "waterproof eyeliner", CategoryPath = ["Makeup", "Eyes"] }]);

        Assert.Equal("e1", index.Search(new SearchRequest { Query = "eyeliner" }).Hits[0].Item.Id);
        Assert.True(index.Remove("e1"));
        Assert.Empty(index.Search(new SearchRequest { Query = "eyeliner" }).Hits);
    }

    [Fact]
    public void Search_CandidateCache_SameAnswersAsWithoutIt()
    {
        using var cached = NewIndex();
        using var uncached = new ProductSearchIndex(new ProductSearchOptions { CandidateCacheSeconds = 0 });
        uncached.Upsert(Catalog);
        string[] queries = ["lipstick", "matte lipstick under 50", "口红", "nail polish", "lipstick", "Beta lipstick"];

        foreach (var query in queries)
            foreach (var user in new[] { null, BetaFan() })
            {
                var request = new SearchRequest { Query = query };
                var expected = uncached.Search(request, user);
                for (var repeat = 0; repeat < 2; repeat++)
                {
                    var actual = cached.Search(request, user);
                    Assert.Equal(expected.Hits.Select(h => (h.Item.Id, h.Score)), actual.Hits.Select(h => (h.Item.Id, h.Score)));
                    Assert.Equal(expected.Personalized, actual.Personalized);
                }
            }
        Assert.Equal(2, cached.Search(new SearchRequest { Query = "lipstick", PriceMax = 50 }).Hits.Count(h => h.Item.Brand is "Alpha" or "Beta"));
    }

    [Fact]
    public async Task Search_ManyAtOnce_OneQueryAndItsVariants_AnswerAsOneByOne_AndSeeALaterChange()
    {
        using var alone = new ProductSearchIndex(new ProductSearchOptions { CandidateCacheSeconds = 0 });
        alone.Upsert(Catalog);
        using var shared = NewIndex();
        SearchRequest[] requests = [.. Enumerable.Range(0, 96).Select(i => new SearchRequest { Query = i % 3 == 0 ? "lipstick" : "Beta lipstick", PriceMax = i % 2 == 0 ? null : 90 })];
        using var start = new Barrier(8);
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            start.SignalAndWait();
            return requests.Where((_, i) => i % 8 == worker).Select(r => (r, shared.Search(r, BetaFan()))).ToList();
        })));

        foreach (var (request, result) in answers.SelectMany(a => a))
            Assert.Equal(alone.Search(request, BetaFan()).Hits.Select(h => (h.Item.Id, h.Score)), result.Hits.Select(h => (h.Item.Id, h.Score)));
        // A later change is seen: nothing computed for the old snapshot is served or still waited on.
        shared.Upsert([Lipstick("l9", "Beta", 30, "beta lipstick")]);
        Assert.Contains(shared.Search(new SearchRequest { Query = "Beta lipstick" }).Hits, h => h.Item.Id == "l9");
    }

    [Fact]
    public void CoVisitation_ManyDistinctNeighbours_RowStaysBoundedAndKeepsTheStrongOnes()
    {
        using var co = new ItemPairs(window: 1, maxNeighbours: 3);
        for (var i = 0; i < 4; i++) co.AddSequence(["a", "strong"]);
        for (var i = 0; i < 40; i++) co.AddSequence(["a", $"weak-{i}"]);

        Assert.InRange(co.NeighbourCount("a"), 3, 6);
        Assert.True(co.Similarity("a", "strong") > 0);
    }

    [Fact]
    public void Search_UnavailableUpsert_RemovesItem()
    {
        using var index = NewIndex();
        index.Upsert([Catalog[4] with { Available = false }]);

        Assert.DoesNotContain(index.Search(new SearchRequest { Query = "nail polish" }).Hits, h => h.Item.Id == "n1");
    }

    [Fact]
    public void Search_PersonalizeFalseOrNoUser_GivesNonPersonalOrder()
    {
        using var index = NewIndex();
        var anonymous = index.Search(new SearchRequest { Query = "lipstick" });
        var off = index.Search(new SearchRequest { Query = "lipstick", Personalize = false }, BetaFan());
        var on = index.Search(new SearchRequest { Query = "lipstick" }, BetaFan());

        Assert.False(anonymous.Personalized);
        Assert.False(off.Personalized);
        Assert.Equal(anonymous.Hits.Select(h => h.Item.Id), off.Hits.Select(h => h.Item.Id));
        Assert.All(off.Hits, h => Assert.Equal(0, h.Breakdown.Personal));
        Assert.True(on.Personalized);
        Assert.NotEqual(anonymous.Hits.Select(h => h.Item.Id), on.Hits.Select(h => h.Item.Id));
    }

    [Fact]
    public void Search_BrandAffinity_PromotesPreferredBrandWithReason()
    {
        using var index = NewIndex();
        var result = index.Search(new SearchRequest { Query = "matte lipstick" }, BetaFan());

        var top = result.Hits[0];
        Assert.Equal("Beta", top.Item.Brand);
        Assert.True(top.Breakdown.Personal > 0);
        Assert.Contains("Beta", top.Reason.En, StringComparison.Ordinal);
        Assert.Contains("品牌", top.Reason.Zh, StringComparison.Ordinal);
        Assert.Equal(top.Score, top.Breakdown.Lexical + top.Breakdown.Semantic + top.Breakdown.Intent + top.Breakdown.Personal, 5);
    }

    [Fact]
    public void Search_PriceIntentAndFilters_Apply()
    {
        using var index = NewIndex();

        Assert.All(index.Search(new SearchRequest { Query = "lipstick under 50" }).Hits, h => Assert.True(h.Item.Price <= 50));
        Assert.All(index.Search(new SearchRequest { Query = "口红 100元以下" }).Hits, h => Assert.True(h.Item.Price <= 100));
        Assert.All(index.Search(new SearchRequest { Query = "lipstick", PriceMax = 15 }).Hits, h => Assert.True(h.Item.Price <= 15));
        Assert.Equal(["n1"], index.Search(new SearchRequest { Query = "makeup", Category = "Nails" }).Hits.Select(h => h.Item.Id));
    }

    [Fact]
    public void Search_CheapIntent_PrefersLowerPercentile()
    {
        using var index = NewIndex();
        var catalog = CatalogSnapshot.Create(Catalog);

        var cheap = index.Search(new SearchRequest { Query = "cheap matte lipstick" }, catalog: catalog);

        Assert.Equal("l1", cheap.Hits[0].Item.Id);
        Assert.Equal(PricePreference.Low, cheap.Query.PricePreference);
    }

    [Fact]
    public void Search_ChineseQuery_FindsChineseTitle()
    {
        using var index = NewIndex();

        Assert.Equal("z1", index.Search(new SearchRequest { Query = "哑光口红" }).Hits[0].Item.Id);
    }

    [Fact]
    public void Search_RecentCoVisitedItem_IsPromoted()
    {
        using var index = NewIndex();
        using var co = new ItemPairs();
        for (var i = 0; i < 5; i++) co.AddSequence(["n1", "l3"]);
        var user = new SearchUser { UserId = "u2", RecentItems = ["n1"] };

        var result = index.Search(new SearchRequest { Query = "matte lipstick" }, user, coVisitation: co);

        Assert.Equal("l3", result.Hits[0].Item.Id);
        Assert.Contains("一起", result.Hits[0].Reason.Zh, StringComparison.Ordinal);
    }

    [Fact]
    public void CoVisitationScore_ScannedAndProbedRows_EqualDecayedSimilaritySums()
    {
        using var co = new ItemPairs(window: 2);
        var random = new Random(9);
        var items = Enumerable.Range(0, 40).Select(i => $"i{i}").ToArray();
        for (var s = 0; s < 200; s++) co.AddSequence([.. Enumerable.Range(0, 6).Select(_ => items[random.Next(items.Length)])]);
        string[] recent = ["i1", "i2", "i3"];
        int[] recentOrdinals = [.. recent.Select(co.Items.Find)];

        // Many candidates walk each row; one candidate probes it (a row longer than ScanFactor candidates).
        foreach (var candidates in new[] { items, ["i7"], ["i7", "never-seen"] })
        {
            var ordinals = candidates.Select(co.Items.Find).ToArray();
            var scores = new float[candidates.Length];
            co.Score(recentOrdinals, ordinals, scores);

            for (var c = 0; c < candidates.Length; c++)
            {
                var expected = 0f;
                var weight = 1f;
                for (var k = recent.Length - 1; k >= 0; k--, weight *= 0.8f) expected += weight * co.Similarity(recent[k], candidates[c]);
                Assert.Equal(expected, scores[c], 5);
            }
        }
    }

    [Fact]
    public void KeyInterner_ConcurrentAdds_AreDenseAndStable()
    {
        var ordinals = new Persona.Core.State.KeyInterner();
        var keys = Enumerable.Range(0, 2000).Select(i => $"k{i % 500}").ToArray();

        var given = new System.Collections.Concurrent.ConcurrentBag<(string, int)>();
        Parallel.ForEach(keys, k => given.Add((k, ordinals.Intern(k))));

        Assert.Equal(500, ordinals.Count);
        Assert.All(given, g => Assert.Equal(g.Item2, ordinals.Find(g.Item1)));
        Assert.All(given, g => Assert.Equal(g.Item1, ordinals.KeyOf(g.Item2)));
        Assert.Equal(Enumerable.Range(0, 500), given.Select(g => g.Item2).Distinct().Order());
        Assert.Equal(-1, ordinals.Find("missing"));
    }

    [Fact]
    public void Search_CoVisitationInTheIndexNumberingOrItsOwn_GivesTheSameResults()
    {
        using var index = NewIndex();
        using var shared = new ItemPairs(items: index.Keys.Items);
        using var separate = new ItemPairs();
        foreach (var co in new[] { shared, separate })
        {
            for (var i = 0; i < 5; i++) co.AddSequence(["n1", "l3"]);
            co.AddSequence(["l2", "n1", "l4"]);
        }
        var user = BetaFan() with { RecentItems = ["n1"] };

        var viaShared = index.Search(new SearchRequest { Query = "lipstick" }, user, coVisitation: shared);
        var viaSeparate = index.Search(new SearchRequest { Query = "lipstick" }, user, coVisitation: separate);

        Assert.True(viaShared.Personalized);
        Assert.Equal(viaSeparate.Hits.Select(h => (h.Item.Id, h.Score, h.Reason)), viaShared.Hits.Select(h => (h.Item.Id, h.Score, h.Reason)));
    }

    [Fact]
    public void Search_PersonalisedWithASmallLimit_IsThePrefixOfTheFullOrder()
    {
        // Only the best `limit` of the re-ranked head are put in order: they must be the full order's first ones.
        var random = new Random(4);
        string[] brands = ["Alpha", "Beta", "Gamma", "Delta"];
        using var index = new ProductSearchIndex();
        index.Upsert(Enumerable.Range(0, 60).Select(i => Lipstick($"x{i}", brands[random.Next(brands.Length)], 5 + random.Next(100), i % 3 == 0 ? "matte lipstick" : "lipstick")));
        var user = BetaFan();

        var full = index.Search(new SearchRequest { Query = "matte lipstick", Limit = 60 }, user).Hits.Select(h => h.Item.Id).ToList();
        foreach (var limit in new[] { 1, 3, 10 })
            Assert.Equal(full.Take(limit), index.Search(new SearchRequest { Query = "matte lipstick", Limit = limit }, user).Hits.Select(h => h.Item.Id));
    }

    [Fact]
    public void Search_RecentItemsCoVisitedWithNoCandidate_StayNonPersonal()
    {
        using var index = NewIndex();
        using var co = new ItemPairs(items: index.Keys.Items);
        co.AddSequence(["n1", "elsewhere"]);
        var user = new SearchUser { UserId = "u3", RecentItems = ["n1"] };

        var result = index.Search(new SearchRequest { Query = "lipstick" }, user, coVisitation: co);

        Assert.False(result.Personalized);
        Assert.Equal(index.Search(new SearchRequest { Query = "lipstick" }).Hits.Select(h => h.Item.Id), result.Hits.Select(h => h.Item.Id));
    }
}
