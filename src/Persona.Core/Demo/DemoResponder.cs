using Persona.Abstractions;

namespace Persona.Core.Demo;

/// <summary>
/// How a demo shopper responds to what is shown, from the generator's latent preferences (<see cref="DemoTruth"/>): the
/// simulation of <c>persona demo --simulate</c> (docs/online-loop.md, section 5). An item's appeal adds its place among
/// the shopper's three favourite leaf categories, a favourite brand weighted by loyalty, and its price against the
/// shopper's tier; a click is <c>position bias × σ(appeal)</c>, a purchase after it rises with the same appeal.
/// </summary>
public sealed class DemoResponder
{
    /// <summary>Click probability of a perfect match in the first position.</summary>
    public const double TopClickRate = 0.35;
    /// <summary>Purchase probability after the click of a perfect match.</summary>
    public const double TopBuyRate = 0.3;

    private readonly Dictionary<string, ItemFacts> _items = new(StringComparer.Ordinal);

    public DemoResponder(IEnumerable<Item> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var byLeaf = new Dictionary<string, List<(string Id, double Price)>>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var leaf = item.CategoryPath.Count == 0 ? "" : CategoryPaths.Key(item.CategoryPath, item.CategoryPath.Count);
            _items[item.Id] = new ItemFacts(leaf, item.Brand, 1);
            if (item.Price is { } price) (byLeaf.TryGetValue(leaf, out var list) ? list : byLeaf[leaf] = []).Add((item.Id, price));
        }
        // The price tier of an item is the third of its leaf's prices it falls in, as the generator chose them.
        foreach (var list in byLeaf.Values)
        {
            list.Sort(static (a, b) => a.Price.CompareTo(b.Price));
            for (var i = 0; i < list.Count; i++) _items[list[i].Id] = _items[list[i].Id] with { Tier = Math.Min(2, 3 * i / list.Count) };
        }
    }

    /// <summary>0 (nothing the shopper cares for) .. about 1.5 (a favourite category, brand and price tier).</summary>
    public double Appeal(DemoTruth shopper, string itemId)
    {
        ArgumentNullException.ThrowIfNull(shopper);
        if (!_items.TryGetValue(itemId, out var item)) return 0;
        var appeal = 0.0;
        var rank = IndexOf(shopper.TopCategories, item.Leaf);
        if (rank >= 0) appeal += 0.4 + 0.6 * (shopper.TopCategoryWeights.Count > rank ? shopper.TopCategoryWeights[rank] / shopper.TopCategoryWeights[0] : 1);
        if (item.Brand is not null && IndexOf(shopper.FavoriteBrands, item.Brand) >= 0) appeal += 0.3 * shopper.BrandLoyalty;
        var tier = shopper.PriceTier switch { "low" => 0, "high" => 2, _ => 1 };
        appeal += item.Tier == tier ? 0.2 : -0.2 * shopper.PriceSensitivity * Math.Abs(item.Tier - tier);
        return Math.Max(0, appeal);
    }

    /// <summary>How much less a lower position is looked at: 1 at the top, 1 / log2(position + 1) below.</summary>
    public static double PositionBias(int position) => 1 / Math.Log2(position + 1);

    public double ClickProbability(DemoTruth shopper, string itemId, int position) =>
        TopClickRate * PositionBias(position) * Sigmoid(Appeal(shopper, itemId));

    public double BuyProbability(DemoTruth shopper, string itemId) => TopBuyRate * Sigmoid(Appeal(shopper, itemId));

    /// <summary>Scaled so that appeal 0 gives about 0.05 and appeal 1.2 about 0.9 of the top rate.</summary>
    private static double Sigmoid(double appeal) => 1 / (1 + Math.Exp(-(4 * appeal - 2.8)));

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
            if (string.Equals(list[i], value, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    private sealed record ItemFacts(string Leaf, string? Brand, int Tier);
}
