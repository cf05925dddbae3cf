using Persona.Abstractions;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>
/// Brand and category names of the catalog, for spotting them in queries. Latin names match as whole analysed
/// word sequences (so "nail polishes" finds "Nail Polish"); names in Chinese match as substrings. Immutable:
/// <see cref="With"/> returns a new vocabulary.
/// </summary>
public sealed class QueryVocabulary
{
    /// <summary>The longest name, in analysed words, that is looked up.</summary>
    private const int MaxWords = 6;

    private readonly Dictionary<string, string> _brands;
    private readonly Dictionary<string, HashSet<string>> _categories;
    private readonly Dictionary<string, string> _cjkBrands;
    private readonly Dictionary<string, HashSet<string>> _cjkCategories;

    private QueryVocabulary(
        Dictionary<string, string> brands, Dictionary<string, HashSet<string>> categories,
        Dictionary<string, string> cjkBrands, Dictionary<string, HashSet<string>> cjkCategories)
    {
        _brands = brands;
        _categories = categories;
        _cjkBrands = cjkBrands;
        _cjkCategories = cjkCategories;
    }

    public static QueryVocabulary Empty { get; } = new([], [], [], []);

    public int BrandCount => _brands.Count + _cjkBrands.Count;

    /// <summary>A vocabulary that also knows the brands and category names of <paramref name="items"/>.</summary>
    public QueryVocabulary With(IEnumerable<Item> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var brands = new Dictionary<string, string>(_brands, StringComparer.Ordinal);
        var categories = _categories.ToDictionary(p => p.Key, p => new HashSet<string>(p.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        var cjkBrands = new Dictionary<string, string>(_cjkBrands, StringComparer.Ordinal);
        var cjkCategories = _cjkCategories.ToDictionary(p => p.Key, p => new HashSet<string>(p.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (!string.IsNullOrWhiteSpace(item.Brand))
            {
                var brand = item.Brand.Trim();
                AddBrand(brand, brand);
                if (SearchFields.Attr(item, "brand_zh") is { } zh) AddBrand(zh, brand);
            }
            var zhPath = SearchFields.Attr(item, "category_path_zh")?.Split(CategoryPaths.Separator);
            for (var d = 1; d <= item.CategoryPath.Count; d++)
            {
                var key = CategoryPaths.Key(item.CategoryPath, d);
                AddCategory(item.CategoryPath[d - 1], key);
                if (zhPath is not null && zhPath.Length == item.CategoryPath.Count) AddCategory(zhPath[d - 1], key);
            }
        }
        return new QueryVocabulary(brands, categories, cjkBrands, cjkCategories);

        void AddBrand(string name, string brand)
        {
            if (HasCjk(name)) cjkBrands.TryAdd(TextNormalizer.Normalize(name.Trim()), brand);
            else if (Key(name) is { } key) brands.TryAdd(key, brand);
        }

        void AddCategory(string name, string key)
        {
            if (HasCjk(name))
            {
                var n = TextNormalizer.Normalize(name.Trim());
                if (n.Length < 2) return;
                if (!cjkCategories.TryGetValue(n, out var set)) cjkCategories[n] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(key);
            }
            else if (Key(name) is { } k)
            {
                if (!categories.TryGetValue(k, out var set)) categories[k] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(key);
            }
        }
    }

    /// <summary>Brands and category keys mentioned in already-normalised query text; category keys deepest first.</summary>
    public (IReadOnlyList<string> Brands, IReadOnlyList<string> Categories) Find(string normalizedText)
    {
        ArgumentNullException.ThrowIfNull(normalizedText);
        var brands = new List<string>();
        var categories = new HashSet<string>(StringComparer.Ordinal);
        var words = TextAnalyzer.Analyze(normalizedText).Where(t => !HasCjk(t)).ToList();
        for (var n = Math.Min(MaxWords, words.Count); n >= 1; n--)
        {
            for (var i = 0; i + n <= words.Count; i++)
            {
                var key = string.Join(' ', words.GetRange(i, n));
                if (_brands.TryGetValue(key, out var brand) && !brands.Contains(brand)) brands.Add(brand);
                if (_categories.TryGetValue(key, out var keys)) categories.UnionWith(keys);
            }
        }
        if (HasCjk(normalizedText))
        {
            foreach (var (name, brand) in _cjkBrands)
                if (normalizedText.Contains(name, StringComparison.Ordinal) && !brands.Contains(brand)) brands.Add(brand);
            foreach (var (name, keys) in _cjkCategories)
                if (normalizedText.Contains(name, StringComparison.Ordinal)) categories.UnionWith(keys);
        }
        var ordered = categories
            .OrderByDescending(k => k.Split(CategoryPaths.Separator).Length)
            .ThenBy(k => k, StringComparer.Ordinal)
            .ToList();
        return (brands, ordered);
    }

    private static string? Key(string name)
    {
        var terms = TextAnalyzer.Analyze(name);
        return terms.Count is 0 or > MaxWords ? null : string.Join(' ', terms);
    }

    private static bool HasCjk(string s)
    {
        foreach (var c in s)
            if (TextAnalyzer.IsCjk(c)) return true;
        return false;
    }
}
