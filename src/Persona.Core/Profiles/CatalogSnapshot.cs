using System.Diagnostics.CodeAnalysis;
using Persona.Abstractions;

namespace Persona.Core.Profiles;

/// <summary>The part of an item that profiles need. <see cref="CategoryKeys"/>[d] is the key of the path prefix of depth d + 1.</summary>
public sealed record CatalogItem(string Id, IReadOnlyList<string> CategoryKeys, string? Brand, double? Price);

/// <summary>A category node (every prefix of every path) with its bilingual label; <see cref="Level"/> 1 is a root.</summary>
public sealed record CategoryNode(string Key, int Level, string LabelEn, string LabelZh);

/// <summary>
/// An immutable in-memory view of the catalog for profile building: item id → category path, brand and
/// price; sorted prices per category node (every level) and for the whole catalog, so an item's price
/// percentile within its category is a binary search; bilingual labels for category nodes and brands.
/// Immutable, so any number of threads may read it; swap the reference to publish a new one.
/// </summary>
/// <remarks>
/// Labels: a node's English label is its last path segment; its Chinese label is the matching segment of
/// the item attribute <c>category_path_zh</c> (segments joined by <c>" &gt; "</c>, same depth as the path;
/// ignored when the depth differs), and a brand's Chinese label is the attribute <c>brand_zh</c>. Without
/// them both languages show the given name. When items disagree, the first item (in the order given) that
/// supplies a Chinese name wins in <see cref="Create"/>, and the newest one wins in <see cref="With(IEnumerable{Item})"/>.
/// </remarks>
public sealed class CatalogSnapshot
{
    /// <summary>The key of the whole-catalog price list, the last fallback for percentiles.</summary>
    private const string AllKey = "";

    private readonly Dictionary<string, CatalogItem> _items;
    private readonly Dictionary<string, double[]> _prices;
    private readonly Dictionary<string, CategoryNode> _categories;
    private readonly Dictionary<string, string> _brandZh;

    private CatalogSnapshot(
        Dictionary<string, CatalogItem> items, Dictionary<string, double[]> prices,
        Dictionary<string, CategoryNode> categories, Dictionary<string, string> brandZh)
    {
        _items = items;
        _prices = prices;
        _categories = categories;
        _brandZh = brandZh;
    }

    /// <summary>A catalog with no items.</summary>
    public static CatalogSnapshot Empty { get; } = new([], [], [], []);

    /// <summary>Items in the snapshot.</summary>
    public int Count => _items.Count;

    /// <summary>All category nodes, every level.</summary>
    public IReadOnlyCollection<CategoryNode> Categories => _categories.Values;

    private string[]? _brands;

    /// <summary>Every brand of the catalog's items (as spelled on the items), computed once per snapshot.</summary>
    public IReadOnlyList<string> Brands =>
        _brands ??= _items.Values.Select(i => i.Brand).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Builds a snapshot; a later item with the same id replaces an earlier one. O(n log n).</summary>
    public static CatalogSnapshot Create(IEnumerable<Item> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return Empty.With(items);
    }

    /// <summary>A snapshot with one item inserted or replaced; see <see cref="With(IEnumerable{Item})"/> for the cost.</summary>
    public CatalogSnapshot With(Item item) => With([item]);

    /// <summary>
    /// A new snapshot with <paramref name="upserts"/> inserted or replaced (this one is unchanged). Cost: one
    /// copy of the item, category and brand maps (O(catalog)) plus, for every category touched by an old or
    /// new version of an upserted item and for the whole-catalog list, a linear merge of its sorted prices
    /// (O(size + k log k)). Batch upserts into one call rather than calling it per item.
    /// </summary>
    public CatalogSnapshot With(IEnumerable<Item> upserts)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        var items = new Dictionary<string, CatalogItem>(_items, StringComparer.Ordinal);
        var categories = new Dictionary<string, CategoryNode>(_categories, StringComparer.Ordinal);
        var brandZh = new Dictionary<string, string>(_brandZh, StringComparer.Ordinal);
        var removed = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var added = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var fresh = ReferenceEquals(this, Empty);

        // Only the last version of an id within one call counts, so its old price is removed exactly once.
        var latest = new Dictionary<string, Item>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var upsert in upserts)
        {
            ArgumentNullException.ThrowIfNull(upsert);
            if (!latest.ContainsKey(upsert.Id)) order.Add(upsert.Id);
            latest[upsert.Id] = upsert;
        }

        foreach (var id in order)
        {
            var item = latest[id];
            var path = item.CategoryPath ?? [];
            var zhPath = ZhSegments(item, path.Count);
            var keys = new string[path.Count];
            for (var depth = 1; depth <= path.Count; depth++)
            {
                var key = CategoryPaths.Key(path, depth);
                var en = path[depth - 1].Trim();
                var zh = zhPath?[depth - 1];
                if (categories.TryGetValue(key, out var node))
                {
                    key = node.Key;
                    // Create keeps the first Chinese name; later upserts replace it.
                    if (zh is not null && zh != node.LabelZh && (!fresh || node.LabelZh == node.LabelEn))
                        categories[key] = node with { LabelZh = zh };
                }
                else
                {
                    categories[key] = new CategoryNode(key, depth, en, zh ?? en);
                }
                keys[depth - 1] = key;
            }
            var brand = string.IsNullOrWhiteSpace(item.Brand) ? null : item.Brand.Trim();
            if (brand is not null && item.Attributes is not null
                && item.Attributes.TryGetValue("brand_zh", out var bz) && !string.IsNullOrWhiteSpace(bz)
                && (!fresh || !brandZh.ContainsKey(brand)))
            {
                brandZh[brand] = bz.Trim();
            }
            var price = item.Price is { } p && double.IsFinite(p) && p >= 0 ? p : (double?)null;

            if (items.TryGetValue(item.Id, out var old) && old.Price is { } oldPrice)
            {
                Collect(removed, AllKey, oldPrice);
                foreach (var key in old.CategoryKeys) Collect(removed, key, oldPrice);
            }
            if (price is { } newPrice)
            {
                Collect(added, AllKey, newPrice);
                foreach (var key in keys) Collect(added, key, newPrice);
            }
            items[item.Id] = new CatalogItem(item.Id, keys, brand, price);
        }

        var prices = new Dictionary<string, double[]>(_prices, StringComparer.Ordinal);
        foreach (var key in removed.Keys.Union(added.Keys))
        {
            var merged = Merge(
                prices.TryGetValue(key, out var current) ? current : [],
                removed.TryGetValue(key, out var r) ? r : null,
                added.TryGetValue(key, out var a) ? a : null);
            if (merged.Length == 0) prices.Remove(key);
            else prices[key] = merged;
        }
        return new CatalogSnapshot(items, prices, categories, brandZh);
    }

    public bool TryGetItem(string itemId, [NotNullWhen(true)] out CatalogItem? item)
    {
        if (itemId is null)
        {
            item = null;
            return false;
        }
        return _items.TryGetValue(itemId, out item);
    }

    public bool TryGetCategory(string key, [NotNullWhen(true)] out CategoryNode? node) =>
        _categories.TryGetValue(key, out node);

    /// <summary>English and Chinese labels of a category node; the last segment of the key for both when unknown.</summary>
    public (string En, string Zh) CategoryLabel(string key)
    {
        if (_categories.TryGetValue(key, out var node)) return (node.LabelEn, node.LabelZh);
        var index = key.LastIndexOf(CategoryPaths.Separator, StringComparison.Ordinal);
        var last = index < 0 ? key : key[(index + CategoryPaths.Separator.Length)..];
        return (last, last);
    }

    /// <summary>English and Chinese labels of a brand (the brand name for both without <c>brand_zh</c>).</summary>
    public (string En, string Zh) BrandLabel(string brand) =>
        (brand, _brandZh.TryGetValue(brand, out var zh) ? zh : brand);

    /// <summary>Priced items in a category node (any level); <c>""</c> is the whole catalog.</summary>
    public int PricedCount(string categoryKey) =>
        _prices.TryGetValue(categoryKey, out var list) ? list.Length : 0;

    /// <summary>
    /// The mid-rank percentile (0..1) of <paramref name="price"/> among the prices of a category node:
    /// (items cheaper + half the items at the same price) / items. Null when the node has no priced items.
    /// </summary>
    public double? PricePercentileIn(string categoryKey, double price)
    {
        if (!_prices.TryGetValue(categoryKey, out var list) || list.Length == 0) return null;
        var below = LowerBound(list, price);
        var atOrBelow = UpperBound(list, price);
        return (below + 0.5 * (atOrBelow - below)) / list.Length;
    }

    /// <summary>
    /// An item's price percentile within the deepest category of its path that has at least
    /// <paramref name="minPeers"/> priced items, else within the whole catalog. Null for unknown or
    /// unpriced items. O(depth + log n).
    /// </summary>
    public double? PricePercentile(string itemId, int minPeers = ProfileOptions.DefaultMinPeersForPercentile) =>
        TryGetItem(itemId, out var item) ? PricePercentile(item, minPeers) : null;

    /// <inheritdoc cref="PricePercentile(string, int)"/>
    public double? PricePercentile(CatalogItem item, int minPeers = ProfileOptions.DefaultMinPeersForPercentile)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Price is not { } price) return null;
        for (var depth = item.CategoryKeys.Count; depth >= 1; depth--)
        {
            var key = item.CategoryKeys[depth - 1];
            if (PricedCount(key) >= minPeers) return PricePercentileIn(key, price);
        }
        return PricePercentileIn(AllKey, price);
    }

    private static string[]? ZhSegments(Item item, int depth)
    {
        if (depth == 0 || item.Attributes is null
            || !item.Attributes.TryGetValue("category_path_zh", out var zh) || string.IsNullOrWhiteSpace(zh))
            return null;
        var segments = zh.Split(CategoryPaths.Separator);
        if (segments.Length != depth) return null;
        for (var i = 0; i < segments.Length; i++)
        {
            segments[i] = segments[i].Trim();
            if (segments[i].Length == 0) return null;
        }
        return segments;
    }

    private static void Collect(Dictionary<string, List<double>> lists, string key, double price)
    {
        if (!lists.TryGetValue(key, out var list)) lists[key] = list = [];
        list.Add(price);
    }

    /// <summary>(sorted old) minus the multiset <paramref name="removed"/> plus <paramref name="added"/>, sorted; linear after sorting the changes.</summary>
    private static double[] Merge(double[] old, List<double>? removed, List<double>? added)
    {
        removed?.Sort();
        added?.Sort();
        var result = new List<double>(old.Length + (added?.Count ?? 0));
        var r = 0;
        var a = 0;
        foreach (var value in old)
        {
            if (removed is not null)
            {
                while (r < removed.Count && removed[r] < value) r++;
                if (r < removed.Count && removed[r] == value)
                {
                    r++;
                    continue;
                }
            }
            while (added is not null && a < added.Count && added[a] < value) result.Add(added[a++]);
            result.Add(value);
        }
        while (added is not null && a < added.Count) result.Add(added[a++]);
        return [.. result];
    }

    /// <summary>Index of the first element not less than <paramref name="value"/>.</summary>
    private static int LowerBound(double[] list, double value)
    {
        int lo = 0, hi = list.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Index of the first element greater than <paramref name="value"/>.</summary>
    private static int UpperBound(double[] list, double value)
    {
        int lo = 0, hi = list.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
