namespace Persona.Core.Ranking;

/// <summary>The weight of each candidate source in the blend (<see cref="RecommendationOptions"/>' by default; a strategy's when it names them).</summary>
public sealed record SourceWeights(double Model, double CoOccurrence, double Affinity, double Popularity, double Segment, double Text)
{
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

    /// <summary>A stable text of the weights, for cache keys.</summary>
    public string Key => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Model:R},{CoOccurrence:R},{Affinity:R},{Popularity:R},{Segment:R},{Text:R}");
}
