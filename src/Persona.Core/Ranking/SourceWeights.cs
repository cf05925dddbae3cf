namespace Persona.Core.Ranking;

/// <summary>The weight of each candidate source in the blend (<see cref="RecommendationOptions"/>' by default; a strategy's when it names them).</summary>
public sealed record SourceWeights(double Model, double CoOccurrence, double Affinity, double Popularity, double Segment, double Text)
{
    /// <summary>Weights of sources beyond the built-in six (a shop's own, added to <see cref="Sources.CandidateSources"/>), by name.</summary>
    public IReadOnlyDictionary<string, double>? Others { get; init; }

    /// <summary>The sources a strategy may weigh, as results report them.</summary>
    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        RecommendationSources.Model, RecommendationSources.CoOccurrence, RecommendationSources.Affinity,
        RecommendationSources.Popularity, RecommendationSources.Segment, RecommendationSources.Text,
    };

    public static SourceWeights From(RecommendationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options.ModelWeight, options.CoOccurrenceWeight, options.AffinityWeight, options.PopularityWeight, options.SegmentWeight, options.TextWeight);
    }

    /// <summary>The weight of a source by the name results report (0 for a name the blend does not weigh).</summary>
    public double Of(string source) => source switch
    {
        RecommendationSources.Model => Model,
        RecommendationSources.CoOccurrence => CoOccurrence,
        RecommendationSources.Affinity => Affinity,
        RecommendationSources.Popularity => Popularity,
        RecommendationSources.Segment => Segment,
        RecommendationSources.Text => Text,
        _ => Others?.GetValueOrDefault(source) ?? 0,
    };

    /// <summary>A stable text of the weights, for cache keys.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Key => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Model:R},{CoOccurrence:R},{Affinity:R},{Popularity:R},{Segment:R},{Text:R}{(Others is null ? "" : string.Concat(Others.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $",{o.Key}={o.Value:R}")))}");
}
