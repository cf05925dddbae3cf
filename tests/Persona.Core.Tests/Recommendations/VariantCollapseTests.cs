using Persona.Abstractions;
using Persona.Core.Ranking;
using Persona.Core.Retrieval;

namespace Persona.Core.Tests.Recommendations;

/// <summary>Variants of one product (another colour or size) take one place in a list, by the product-group key.</summary>
public sealed class VariantCollapseTests
{
    private static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Lipstick = ["Beauty", "Makeup", "Lipstick"];
    private static readonly string[] TShirts = ["Apparel", "T-Shirts"];

    private static Item Demo(string id, string title, string variant, string size, double price) => new()
    {
        Id = id,
        Title = title,
        Brand = "Rouge",
        CategoryPath = Lipstick,
        Price = price,
        Attributes = new Dictionary<string, string> { ["variant"] = variant, ["size"] = size },
    };

    /// <summary>
    /// Like the demo shop: five variants of one lipstick (variant and size attributes), three of a T-shirt known only by
    /// its title, two sharing a shop group id, and three distinct products.
    /// </summary>
    private static readonly Item[] Items =
    [
        Demo("lip-red-3", "Rouge Matte Lipstick Red 3g", "Red", "3g", 99),
        Demo("lip-red-35", "Rouge Matte Lipstick Red 3.5g", "Red", "3.5g", 109),
        Demo("lip-nude-3", "Rouge Matte Lipstick Nude 3g", "Nude", "3g", 99),
        Demo("lip-coral-3", "Rouge Matte Lipstick Coral 3g", "Coral", "3g", 95),
        Demo("lip-red-3b", "Rouge Matte Lipstick Red 3g", "Red", "3g", 89),
        new() { Id = "tee-black-m", Title = "Acme Cotton T-Shirt Black M", Brand = "Acme", CategoryPath = TShirts, Price = 50 },
        new() { Id = "tee-white-l", Title = "Acme Cotton T-Shirt White L", Brand = "Acme", CategoryPath = TShirts, Price = 50 },
        new() { Id = "tee-navy-xl", Title = "Acme Cotton T-Shirt Navy XL", Brand = "Acme", CategoryPath = TShirts, Price = 55 },
        new() { Id = "kit-a", Title = "Glow Gift Set Spring", Brand = "Glow", CategoryPath = Lipstick, Attributes = new Dictionary<string, string> { ["group_id"] = "glow-kit" } },
        new() { Id = "kit-b", Title = "Glow Gift Set Summer Edition", Brand = "Glow", CategoryPath = Lipstick, Attributes = new Dictionary<string, string> { ["group_id"] = "glow-kit" } },
        Demo("lip-silky", "Rouge Silky Lipstick Red 3g", "Red", "3g", 120),
        new() { Id = "tee-linen", Title = "Acme Linen T-Shirt Black M", Brand = "Acme", CategoryPath = TShirts, Price = 70 },
        new() { Id = "gloss-1", Title = "Shine Lip Gloss 1", Brand = "Shine", CategoryPath = Lipstick, Price = 30 },
    ];

    private static Recommender NewRecommender(bool collapse = true)
    {
        var catalog = new ItemCatalog();
        catalog.Upsert(Items);
        var popularity = new PopularityIndex(halfLifeDays: 30);
        var co = new ItemPairs(window: 3);
        var at = Start;
        // Every item is bought; the variants most, so without collapsing they fill the top of the list.
        foreach (var (item, times) in Items.Select((item, i) => (item, i < 10 ? 20 - i : 3)))
        {
            var keys = CatalogEntry.From(item).CategoryKeys;
            for (var k = 0; k < times; k++) popularity.Add(item.Id, keys, 3, at = at.AddMinutes(1));
        }
        for (var u = 0; u < 5; u++)
        {
            co.Observe($"u{u}", "lip-red-3");
            co.Observe($"u{u}", u % 2 == 0 ? "lip-nude-3" : "lip-silky");
        }
        return new Recommender(new RecommendationOptions { CollapseVariants = collapse }, catalog, () => co, popularity);
    }

    private static UserContext Anyone => new("someone", [], new HashSet<string>(), null, Personalized: true);

    private static string GroupOf(string id) => ProductGroups.Key(Items.Single(i => i.Id == id));

    [Fact]
    public void Recommend_CatalogWithVariants_OneItemPerProductGroupByDefault()
    {
        var results = NewRecommender().Recommend(Anyone, new RecommendationQuery { Count = 10 }, model: null);

        var groups = results.Select(r => GroupOf(r.ItemId)).ToList();
        Assert.Equal(groups.Count, groups.Distinct().Count());
        // Six products: the matte lipstick, the cotton T-shirt, the gift set, the silky lipstick, the linen T-shirt, the gloss.
        Assert.Equal(6, results.Count);
        Assert.Equal("lip-red-3", results[0].ItemId);
    }

    [Fact]
    public void Recommend_CollapseOffByRequestOrOption_ShowsEveryVariant()
    {
        var byRequest = NewRecommender().Recommend(Anyone, new RecommendationQuery { Count = 10, CollapseVariants = false }, model: null);
        var byOption = NewRecommender(collapse: false).Recommend(Anyone, new RecommendationQuery { Count = 10 }, model: null);

        Assert.Equal(10, byRequest.Count);
        Assert.Equal(byRequest.Select(r => r.ItemId), byOption.Select(r => r.ItemId));
        Assert.True(byRequest.Count(r => GroupOf(r.ItemId) == GroupOf("lip-red-3")) >= 4);
    }

    [Fact]
    public void Similar_ItemWithVariants_LeavesOutItsOwnVariantsAndCollapsesOthers()
    {
        var similar = NewRecommender().Similar(Items[0], 10, model: null);

        Assert.NotEmpty(similar);
        Assert.DoesNotContain(similar, r => GroupOf(r.ItemId) == GroupOf("lip-red-3"));
        Assert.Equal(similar.Count, similar.Select(r => GroupOf(r.ItemId)).Distinct().Count());
    }

    [Theory]
    [InlineData("lip-red-3", "lip-nude-3", true)]      // variant and size attributes
    [InlineData("lip-red-3", "lip-red-35", true)]
    [InlineData("lip-red-3", "lip-silky", false)]      // another product of the brand
    [InlineData("tee-black-m", "tee-navy-xl", true)]   // no attributes: colour words and sizes stripped from the title
    [InlineData("tee-black-m", "tee-linen", false)]
    [InlineData("kit-a", "kit-b", true)]               // the shop's group id wins over the titles
    [InlineData("gloss-1", "lip-red-3", false)]
    public void Key_Pairs_SameGroupOnlyForVariants(string a, string b, bool same)
    {
        Assert.Equal(same, GroupOf(a) == GroupOf(b));
    }

    [Fact]
    public void Key_BareNumbers_StayDistinct()
    {
        var one = new Item { Id = "x1", Title = "Lipstick 1", CategoryPath = Lipstick };
        var two = new Item { Id = "x2", Title = "Lipstick 2", CategoryPath = Lipstick };

        Assert.NotEqual(ProductGroups.Key(one), ProductGroups.Key(two));
    }
}
