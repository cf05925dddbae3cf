using Persona.Text;

namespace Persona.Core.Search;

/// <summary>Tuning of <see cref="ProductSearchIndex"/>. Defaults were chosen on the Amazon Beauty validation step.</summary>
public sealed class ProductSearchOptions
{
    public const double DefaultTitleWeight = 1.0;
    public const double DefaultBrandWeight = 1.0;
    public const double DefaultCategoryWeight = 1.0;
    public const double DefaultAttributesWeight = 0.5;
    public const int DefaultCandidatePool = 300;
    public const int DefaultRerankDepth = 100;
    public const double DefaultAlpha = 0.7;
    public const double DefaultMinSemanticSimilarity = 0.45;
    public const double DefaultRelevanceFloor = 0.5;
    public const double DefaultPersonalCap = 1.0;
    public const double DefaultLexicalMinShare = 0.01;
    public const int DefaultSemanticExactLimit = Retrieval.VectorIndex.DefaultExactLimit;

    public double K1 { get; init; } = Bm25Options.DefaultK1;
    public double B { get; init; } = Bm25Options.DefaultB;
    public double TitleWeight { get; init; } = DefaultTitleWeight;
    public double BrandWeight { get; init; } = DefaultBrandWeight;
    public double CategoryWeight { get; init; } = DefaultCategoryWeight;
    public double AttributesWeight { get; init; } = DefaultAttributesWeight;
    /// <summary>Candidates taken from each retriever before fusion.</summary>
    public int CandidatePool { get; init; } = DefaultCandidatePool;
    /// <summary>How many fused candidates the profile re-ranks.</summary>
    public int RerankDepth { get; init; } = DefaultRerankDepth;
    public FusionMode Fusion { get; init; } = FusionMode.Blend;
    /// <summary>Share of the lexical score in <see cref="FusionMode.Blend"/>.</summary>
    public double Alpha { get; init; } = DefaultAlpha;
    /// <summary>False: lexical only (no encoder is used even when one is set).</summary>
    public bool Semantic { get; init; } = true;
    /// <summary>Added when an item's brand is named in the query.</summary>
    public double BrandBoost { get; init; } = 0.3;
    /// <summary>Added, scaled by depth, when an item lies in a category named in the query.</summary>
    public double CategoryBoost { get; init; } = 0.2;
    /// <summary>Weight of (1 − price percentile) for "cheap" queries, of the percentile for "premium" ones.</summary>
    public double PricePreferenceBoost { get; init; } = 0.2;
    /// <summary>
    /// Cosine below which the encoder's neighbours of a query are not candidates (and add nothing to lexical ones).
    /// Random letters sit at 0.3–0.4 from every item of the demo shop, typos of a product word at 0.55–0.75; 0 keeps all.
    /// </summary>
    public double MinSemanticSimilarity { get; init; } = DefaultMinSemanticSimilarity;
    /// <summary>
    /// A candidate whose non-personal score is below this share of the best candidate's does not match the query and is
    /// dropped before re-ranking, so personalisation re-orders matches and never brings in what only shares a character
    /// or a vague meaning with the query; 0 keeps all.
    /// </summary>
    public double RelevanceFloor { get; init; } = DefaultRelevanceFloor;
    /// <summary>
    /// The personal part of a score is at most this many times the candidate's own non-personal score (a smooth cap,
    /// cap · base · tanh(raw / (cap · base))), so a candidate matching the query half as well as another can never
    /// overtake it when the cap is 1.
    /// </summary>
    public double PersonalCap { get; init; } = DefaultPersonalCap;
    /// <summary>
    /// How long a query's non-personal candidates are reused while the index is unchanged (any item upsert or a new
    /// encoder starts afresh at once); 0 turns the cache off.
    /// </summary>
    public int CandidateCacheSeconds { get; init; } = 600;
    /// <summary>Distinct queries whose candidates the cache holds at most.</summary>
    public int CandidateCacheQueries { get; init; } = 5_000;
    /// <summary>
    /// Lexical matches scoring below this share of the best lexical match are not candidates, so a word nearly every item
    /// holds (a category prefix, a shop's name) adds to the matches of rarer words instead of filling the pool with the
    /// whole catalog; what it leaves out would add under this share of the lexical weight to a score. 0 keeps all.
    /// </summary>
    public double LexicalMinShare { get; init; } = DefaultLexicalMinShare;
    /// <summary>
    /// Items up to which the semantic leg scores every item's vector; above it, once the vectors are partitioned
    /// (<see cref="ProductSearchIndex.BuildPartition"/>), only the clusters nearest the query.
    /// </summary>
    public int SemanticExactLimit { get; init; } = DefaultSemanticExactLimit;
    /// <summary>Share of the clusters the semantic leg scans above <see cref="SemanticExactLimit"/>.</summary>
    public double SemanticProbeFraction { get; init; } = Retrieval.IvfPartition.ProbeFraction;

    public Bm25Options Bm25 => new() { K1 = K1, B = B, FieldWeights = [TitleWeight, BrandWeight, CategoryWeight, AttributesWeight] };

    public void Validate()
    {
        Bm25.Validate();
        if (CandidatePool is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(CandidatePool), CandidatePool, "CandidatePool must be in 1..100000.");
        if (RerankDepth is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(RerankDepth), RerankDepth, "RerankDepth must be in 1..100000.");
        if (!double.IsFinite(Alpha) || Alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Alpha must be in [0, 1].");
        if (CandidateCacheSeconds is < 0 or > 86_400) throw new ArgumentOutOfRangeException(nameof(CandidateCacheSeconds), CandidateCacheSeconds, "CandidateCacheSeconds must be in 0..86400.");
        if (CandidateCacheQueries is < 2 or > 10_000_000) throw new ArgumentOutOfRangeException(nameof(CandidateCacheQueries), CandidateCacheQueries, "CandidateCacheQueries must be in 2..10000000.");
        if (!double.IsFinite(LexicalMinShare) || LexicalMinShare is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(LexicalMinShare), LexicalMinShare, "LexicalMinShare must be in [0, 1].");
        if (SemanticExactLimit < 1) throw new ArgumentOutOfRangeException(nameof(SemanticExactLimit), SemanticExactLimit, "SemanticExactLimit must be at least 1.");
        if (!double.IsFinite(SemanticProbeFraction) || SemanticProbeFraction is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(SemanticProbeFraction), SemanticProbeFraction, "SemanticProbeFraction must be in (0, 1].");
        if (!double.IsFinite(MinSemanticSimilarity) || MinSemanticSimilarity is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(MinSemanticSimilarity), MinSemanticSimilarity, "MinSemanticSimilarity must be in [0, 1).");
        if (!double.IsFinite(RelevanceFloor) || RelevanceFloor is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(RelevanceFloor), RelevanceFloor, "RelevanceFloor must be in [0, 1].");
        if (!double.IsFinite(PersonalCap) || PersonalCap is <= 0 or > 100) throw new ArgumentOutOfRangeException(nameof(PersonalCap), PersonalCap, "PersonalCap must be in (0, 100].");
        foreach (var (name, value) in new[] { (nameof(BrandBoost), BrandBoost), (nameof(CategoryBoost), CategoryBoost), (nameof(PricePreferenceBoost), PricePreferenceBoost) })
            if (!double.IsFinite(value) || value < 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number ≥ 0.");
    }
}
