using Persona.Abstractions;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Search;

/// <summary>A search as the API and CLI ask it.</summary>
public sealed record SearchRequest
{
    public required string Query { get; init; }
    /// <summary>Results wanted (1..100).</summary>
    public int Limit { get; init; } = 20;
    /// <summary>Category filter: a key (<c>Makeup &gt; Nails</c>) or a category name at any level.</summary>
    public string? Category { get; init; }
    public double? PriceMax { get; init; }
    public double? PriceMin { get; init; }
    /// <summary>False: the non-personal order even when a user is given.</summary>
    public bool Personalize { get; init; } = true;
    /// <summary>Use the text encoder's candidates; false gives the lexical order alone (to compare in the playground).</summary>
    public bool Semantic { get; init; } = true;
    /// <summary>The experiment variant the answer is served for (its counters' label); null outside experiments.</summary>
    public string? Variant { get; init; }
    /// <summary>
    /// The query as understood elsewhere (a model's rewrite, docs/generative.md); null: the index parses <see cref="Query"/> itself.
    /// </summary>
    public ParsedQuery? Understood { get; init; }
}

/// <summary>
/// What the re-ranker may know about the person searching: the live profile (affinities), their recent items (newest
/// last) and the sequence model in service. Every part is optional.
/// </summary>
public sealed record SearchUser
{
    public required string UserId { get; init; }
    public Profile? Profile { get; init; }
    public IReadOnlyList<string> RecentItems { get; init; } = [];
    /// <summary>The user's vector from the sequence model (or the profile's embedding); used with <see cref="Model"/>.</summary>
    public float[]? Embedding { get; init; }
    public ISequenceModel? Model { get; init; }
}

/// <summary>How much each part contributed to <see cref="SearchHit.Score"/> (they add up to it).</summary>
public sealed record ScoreBreakdown(double Lexical, double Semantic, double Intent, double Personal);

/// <summary>Why an item is where it is, in English and Chinese.</summary>
public sealed record SearchReason(string En, string Zh);

public sealed record SearchHit(Item Item, double Score, ScoreBreakdown Breakdown, SearchReason Reason);

public sealed record SearchResult
{
    public required ParsedQuery Query { get; init; }
    public required IReadOnlyList<SearchHit> Hits { get; init; }
    /// <summary>Whether a profile re-ranked the results.</summary>
    public bool Personalized { get; init; }
    /// <summary>Candidates fused from both retrievers before the cut to the limit.</summary>
    public int Candidates { get; init; }
    /// <summary>The text encoder whose candidates took part; null when the search was lexical only.</summary>
    public SearchEncoder? Encoder { get; init; }
    /// <summary>This answer's id, for impressions, clicks and purchases to point back to; set where it is served.</summary>
    public string? RequestId { get; init; }
    /// <summary>The experiment variant that answered; null outside experiments.</summary>
    public string? Variant { get; init; }
}

/// <summary>Which text encoder served a search: its kind (<c>in-domain</c>, <c>minilm</c>, <c>minilm+lora</c>, ...) and version.</summary>
public sealed record SearchEncoder(string Kind, string Version);

/// <summary>How lexical and semantic candidates are merged.</summary>
public enum FusionMode
{
    /// <summary>α · BM25/max(BM25) + (1 − α) · cosine.</summary>
    Blend,
    /// <summary>Reciprocal rank fusion: Σ 1/(60 + rank) over both lists, scaled to [0, 1].</summary>
    Rrf,
}
