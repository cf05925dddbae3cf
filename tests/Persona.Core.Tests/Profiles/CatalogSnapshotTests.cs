using Persona.Abstractions;
using Persona.Core.Profiles;

namespace Persona.Core.Tests.Profiles;

public class CatalogSnapshotTests
{
    [Fact]
    public void Create_CategoryPathZh_LabelsEveryLevel()
    {
        var catalog = ProfileTestData.Catalog();

        Assert.Equal(("Beauty", "美妆"), catalog.CategoryLabel("Beauty"));
        Assert.Equal(("Makeup", "彩妆"), catalog.CategoryLabel("Beauty > Makeup"));
        Assert.Equal(("Lipstick", "口红"), catalog.CategoryLabel("Beauty > Makeup > Lipstick"));
        Assert.Equal(("Kitchen", "Kitchen"), catalog.CategoryLabel("Home > Kitchen"));
        Assert.Equal(3, catalog.Categories.Single(c => c.Key == "Beauty > Makeup > Lipstick").Level);
    }

    [Fact]
    public void Create_BrandZh_LabelsBrandOrFallsBack()
    {
        var catalog = ProfileTestData.Catalog();

        Assert.Equal(("Rouge", "胭脂"), catalog.BrandLabel("Rouge"));
        Assert.Equal(("Nova", "Nova"), catalog.BrandLabel("Nova"));
    }

    [Fact]
    public void Create_ZhWithWrongDepth_Ignored()
    {
        var catalog = CatalogSnapshot.Create([ProfileTestData.Item("x", ["A", "B"], "甲", null, null, 1)]);

        Assert.Equal(("B", "B"), catalog.CategoryLabel("A > B"));
        Assert.Equal(("A", "A"), catalog.CategoryLabel("A"));
    }

    [Fact]
    public void PricePercentile_LeafWithEnoughPeers_MidRankWithinLeaf()
    {
        var catalog = ProfileTestData.Catalog();

        // Bags cost 100..1000: the k-th cheapest sits at (k - 0.5) / 10.
        Assert.Equal(0.05, catalog.PricePercentile("b1")!.Value, 12);
        Assert.Equal(0.95, catalog.PricePercentile("b10")!.Value, 12);
        // Lipsticks (6 items) are ranked among lipsticks only.
        Assert.Equal(5.5 / 6, catalog.PricePercentile("l5")!.Value, 12);
    }

    [Fact]
    public void PricePercentile_SmallLeaf_FallsBackToParentThenCatalog()
    {
        var catalog = ProfileTestData.Catalog();

        // Eyeliners (2 items, 80 and 90) rank within Beauty > Makeup (8 items: 50..300 and 80, 90).
        Assert.Equal(2.5 / 8, catalog.PricePercentile("e1")!.Value, 12);
        // Pans (2 items) have no parent with 5 priced items: whole catalog (21 priced items; 30 is 2nd cheapest).
        Assert.Equal(1.5 / 21, catalog.PricePercentile("k0")!.Value, 12);
        Assert.Null(catalog.PricePercentile("missing"));
    }

    [Fact]
    public void With_Upsert_MovesPriceAndReplacesLabel()
    {
        var before = ProfileTestData.Catalog();

        var after = before.With(ProfileTestData.Item("b10", ["Beauty", "Makeup", "Lipstick"], "美妆 > 化妆 > 唇膏", "Rouge", null, 10));

        Assert.Equal(10, before.PricedCount("Fashion > Bags"));
        Assert.Equal(9, after.PricedCount("Fashion > Bags"));
        Assert.Equal(7, after.PricedCount("Beauty > Makeup > Lipstick"));
        Assert.Equal(21, after.PricedCount(""));
        Assert.Equal(0.5 / 7, after.PricePercentile("b10")!.Value, 12);
        Assert.Equal(("Lipstick", "唇膏"), after.CategoryLabel("Beauty > Makeup > Lipstick"));
        Assert.Equal(("Lipstick", "口红"), before.CategoryLabel("Beauty > Makeup > Lipstick"));
    }

    [Fact]
    public void With_EqualsCreateFromFinalItems()
    {
        var items = ProfileTestData.Items().ToList();
        var changes = new[]
        {
            ProfileTestData.Item("b3", ["Fashion", "Bags"], null, "Kai", null, 999),
            ProfileTestData.Item("l0", ["Beauty", "Makeup", "Lipstick"], null, "Rouge", null, null),
            ProfileTestData.Item("n1", ["Fashion", "Shoes"], null, null, null, 120),
        };
        var incremental = CatalogSnapshot.Create(items).With(changes);
        var final = items.Where(i => changes.All(c => c.Id != i.Id)).Concat(changes);
        var rebuilt = CatalogSnapshot.Create(final);

        Assert.Equal(rebuilt.Count, incremental.Count);
        foreach (var item in final)
            Assert.Equal(rebuilt.PricePercentile(item.Id), incremental.PricePercentile(item.Id));
        foreach (var key in rebuilt.Categories.Select(c => c.Key).Append(""))
            Assert.Equal(rebuilt.PricedCount(key), incremental.PricedCount(key));
    }

    [Fact]
    public void With_SameIdTwiceInOneCall_LastVersionWins()
    {
        var catalog = CatalogSnapshot.Empty.With([
            ProfileTestData.Item("a", ["X"], null, null, null, 5),
            ProfileTestData.Item("a", ["Y"], null, null, null, 7),
        ]);

        Assert.Equal(1, catalog.Count);
        Assert.Equal(0, catalog.PricedCount("X"));
        Assert.Equal(1, catalog.PricedCount("Y"));
        Assert.Equal(1, catalog.PricedCount(""));
        Assert.True(catalog.TryGetItem("a", out var item));
        Assert.Equal(7, item.Price);
    }
}
