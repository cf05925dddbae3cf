using Persona.Abstractions;

namespace Persona.Core.Ranking.Sources;

/// <summary>The profile's category and brand shares by key.</summary>
public sealed class AffinityLookup
{
    private readonly Dictionary<string, Affinity> _categories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Affinity> _brands = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Affinity> _ordered;
    // The catalog shares one key list per category path, so a request's candidates mostly hit here.
    private readonly Dictionary<IReadOnlyList<string>, Affinity?> _byPath = new(ReferenceEqualityComparer.Instance);

    public AffinityLookup(Affinities affinities)
    {
        ArgumentNullException.ThrowIfNull(affinities);
        foreach (var c in affinities.Categories) _categories.TryAdd(c.Key, c);
        foreach (var b in affinities.Brands) _brands.TryAdd(b.Key, b);
        var deepest = affinities.Categories.Count == 0 ? 0 : affinities.Categories.Max(c => c.Level);
        // The deepest level is the most telling; a single root (everything is "Beauty") says nothing.
        _ordered = [.. affinities.Categories.Where(c => c.Level == deepest || (c.Level >= 2 && c.Share >= 0.2)).OrderByDescending(c => c.Score)];
    }

    public IEnumerable<string> TopCategoryKeys(int count) => _ordered.Take(count).Select(c => c.Key);

    public (double Value, Affinity? Label) Of(CatalogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var keys = entry.CategoryKeys;
        if (!_byPath.TryGetValue(keys, out var best))
        {
            for (var d = keys.Count > 1 ? 1 : 0; d < keys.Count; d++)
                if (_categories.TryGetValue(keys[d], out var c) && (best is null || c.Share > best.Share)) best = c;
            _byPath[keys] = best;
        }
        Affinity? brand = entry.Item.Brand is { Length: > 0 } name && _brands.TryGetValue(name.Trim(), out var b) ? b : null;
        var categoryShare = best?.Share ?? 0;
        var brandShare = 0.5 * (brand?.Share ?? 0);
        var value = Math.Min(1, categoryShare + brandShare);
        return (value, brandShare > categoryShare ? brand : best);
    }
}
