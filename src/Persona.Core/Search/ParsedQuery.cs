namespace Persona.Core.Search;

/// <summary>Whether the shopper asked for cheap or premium products without naming a number.</summary>
public enum PricePreference
{
    None,
    Low,
    High,
}

/// <summary>
/// What query understanding found: the text left for matching once price phrases are taken out, price bounds,
/// a price preference, and the brands and categories the text mentions (they become boosts).
/// </summary>
public sealed record ParsedQuery
{
    public required string Raw { get; init; }
    /// <summary>The query without its price phrases; what the lexical and semantic retrievers read.</summary>
    public required string Text { get; init; }
    public double? PriceMin { get; init; }
    public double? PriceMax { get; init; }
    public PricePreference PricePreference { get; init; }
    /// <summary>Brand names (as the catalog spells them) mentioned in the query.</summary>
    public IReadOnlyList<string> Brands { get; init; } = [];
    /// <summary>Category keys (<c>Beauty &gt; Makeup</c>) whose name the query mentions, deepest first.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];
}
