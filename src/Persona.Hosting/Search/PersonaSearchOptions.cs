using Microsoft.Extensions.Options;
using Persona.Core.Search;
using Persona.Text;

namespace Persona.Hosting;

/// <summary>Product search; bound from <c>Persona:Search</c>. Ranking defaults come from <see cref="ProductSearchOptions"/>.</summary>
public sealed class PersonaSearchOptions
{
    public const string SectionName = "Persona:Search";
    public const int DefaultRecentItems = 10;
    public const int DefaultClickWindowMinutes = 30;
    public const int DefaultMaxClickPairs = 100_000;
    public const int DefaultMinClickPairs = 200;
    public const int DefaultUserCacheSeconds = 300;

    public double K1 { get; set; } = Bm25Options.DefaultK1;
    public double B { get; set; } = Bm25Options.DefaultB;
    public double TitleWeight { get; set; } = ProductSearchOptions.DefaultTitleWeight;
    public double BrandWeight { get; set; } = ProductSearchOptions.DefaultBrandWeight;
    public double CategoryWeight { get; set; } = ProductSearchOptions.DefaultCategoryWeight;
    public double AttributesWeight { get; set; } = ProductSearchOptions.DefaultAttributesWeight;
    public int CandidatePool { get; set; } = ProductSearchOptions.DefaultCandidatePool;
    public int RerankDepth { get; set; } = ProductSearchOptions.DefaultRerankDepth;
    public FusionMode Fusion { get; set; } = FusionMode.Blend;
    public double Alpha { get; set; } = ProductSearchOptions.DefaultAlpha;
    /// <summary>Cosine below which the encoder's neighbours of a query are not candidates; 0 keeps all.</summary>
    public double MinSemanticSimilarity { get; set; } = ProductSearchOptions.DefaultMinSemanticSimilarity;
    /// <summary>Candidates scoring below this share of the best one (before personalisation) do not match and are dropped; 0 keeps all.</summary>
    public double RelevanceFloor { get; set; } = ProductSearchOptions.DefaultRelevanceFloor;
    /// <summary>The personal part of a score is at most this many times the item's own query-match score.</summary>
    public double PersonalCap { get; set; } = ProductSearchOptions.DefaultPersonalCap;
    /// <summary>Train the text encoder at start (in the background) and use semantic candidates.</summary>
    public bool Semantic { get; set; } = true;
    public int EncoderEpochs { get; set; } = 8;
    /// <summary>
    /// Store each trained encoder in <c>DATA/models/search/&lt;version&gt;/</c> and, at start (server and CLI), load the
    /// newest one that fits the catalog instead of training again.
    /// </summary>
    public bool PersistEncoder { get; set; } = true;
    /// <summary>Minutes between checks that retrain the encoder and re-ranker when the catalog grew by a tenth; 0 never.</summary>
    public int RetrainIntervalMinutes { get; set; } = 30;
    /// <summary>The newest of a shopper's recent steps the re-ranker reads (at most <c>Persona:Profiles:RecentSteps</c> are kept).</summary>
    public int RecentItems { get; set; } = DefaultRecentItems;
    /// <summary>An item event this soon after a user's search counts as a click on that search's results.</summary>
    public int ClickWindowMinutes { get; set; } = DefaultClickWindowMinutes;
    public int MaxClickPairs { get; set; } = DefaultMaxClickPairs;
    /// <summary>Below this many logged (query, click) pairs the re-ranker keeps its default weights.</summary>
    public int MinClickPairs { get; set; } = DefaultMinClickPairs;
    /// <summary>Seconds a query's non-personal candidates are reused while the index is unchanged; 0 off.</summary>
    public int CandidateCacheSeconds { get; set; } = new ProductSearchOptions().CandidateCacheSeconds;
    public int CandidateCacheQueries { get; set; } = new ProductSearchOptions().CandidateCacheQueries;
    /// <summary>Lexical matches below this share of the best lexical match are not candidates; 0 keeps all.</summary>
    public double LexicalMinShare { get; set; } = ProductSearchOptions.DefaultLexicalMinShare;
    /// <summary>Items up to which semantic candidates score every item's vector; above it only the clusters nearest the query (partitioned in the background).</summary>
    public int SemanticExactLimit { get; set; } = ProductSearchOptions.DefaultSemanticExactLimit;
    /// <summary>Share of the clusters semantic candidates are drawn from above <see cref="SemanticExactLimit"/>.</summary>
    public double SemanticProbeFraction { get; set; } = new ProductSearchOptions().SemanticProbeFraction;
    /// <summary>
    /// Seconds a searcher's prepared profile signals (affinities, sequence embedding) are reused while their own
    /// behaviour is unchanged; 0 off. Bounds how late a profile's slow drift (decay with time) shows.
    /// </summary>
    public int UserCacheSeconds { get; set; } = DefaultUserCacheSeconds;
    /// <summary>Searchers whose prepared signals the cache holds at most.</summary>
    public int UserCacheUsers { get; set; } = 50_000;
    /// <summary>After load, the signals of this many of the most recently active users are prepared in the background (0: off).</summary>
    public int WarmUsers { get; set; } = 20_000;

    public ProductSearchOptions ToIndexOptions() => new()
    {
        K1 = K1,
        B = B,
        TitleWeight = TitleWeight,
        BrandWeight = BrandWeight,
        CategoryWeight = CategoryWeight,
        AttributesWeight = AttributesWeight,
        CandidatePool = CandidatePool,
        RerankDepth = RerankDepth,
        Fusion = Fusion,
        Alpha = Alpha,
        Semantic = Semantic,
        MinSemanticSimilarity = MinSemanticSimilarity,
        RelevanceFloor = RelevanceFloor,
        PersonalCap = PersonalCap,
        CandidateCacheSeconds = CandidateCacheSeconds,
        CandidateCacheQueries = CandidateCacheQueries,
        LexicalMinShare = LexicalMinShare,
        SemanticExactLimit = SemanticExactLimit,
        SemanticProbeFraction = SemanticProbeFraction,
    };
}

public sealed class PersonaSearchOptionsValidator : IValidateOptions<PersonaSearchOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonaSearchOptions options)
    {
        var failures = new List<string>();
        try
        {
            options.ToIndexOptions().Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            failures.Add($"Persona:Search:{ex.ParamName}: {ex.Message}");
        }
        if (options.EncoderEpochs is < 0 or > 200) failures.Add("Persona:Search:EncoderEpochs must be between 0 and 200.");
        if (options.RetrainIntervalMinutes is < 0 or > 10_080) failures.Add("Persona:Search:RetrainIntervalMinutes must be between 0 and 10080.");
        if (options.RecentItems is < 0 or > 200) failures.Add("Persona:Search:RecentItems must be between 0 and 200.");
        if (options.ClickWindowMinutes is < 1 or > 1440) failures.Add("Persona:Search:ClickWindowMinutes must be between 1 and 1440.");
        if (options.MaxClickPairs is < 0 or > 10_000_000) failures.Add("Persona:Search:MaxClickPairs must be between 0 and 10000000.");
        if (options.MinClickPairs < 1) failures.Add("Persona:Search:MinClickPairs must be at least 1.");
        if (options.UserCacheSeconds is < 0 or > 3600) failures.Add("Persona:Search:UserCacheSeconds must be between 0 and 3600.");
        if (options.UserCacheUsers is < 2 or > 10_000_000) failures.Add("Persona:Search:UserCacheUsers must be between 2 and 10000000.");
        if (options.WarmUsers < 0 || options.WarmUsers > options.UserCacheUsers) failures.Add("Persona:Search:WarmUsers must be between 0 and UserCacheUsers.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
