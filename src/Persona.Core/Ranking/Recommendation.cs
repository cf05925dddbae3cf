using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Core.Retrieval;

namespace Persona.Core.Ranking;

/// <summary>Names of the candidate sources, as results report them.</summary>
public static class RecommendationSources
{
    public const string Model = "model";
    public const string CoOccurrence = "co_occurrence";
    public const string Affinity = "affinity";
    public const string Popularity = "popularity";
}

/// <summary>Why an item is shown, in English and Chinese.</summary>
public sealed record Reason(string En, string Zh);

/// <summary>One recommended item: its blended score, the sources that contributed (strongest first) and the reason.</summary>
public sealed record Recommendation(string ItemId, string Title, double Score, IReadOnlyList<string> Sources, Reason Reason);

/// <summary>What a caller asks for.</summary>
public sealed record RecommendationQuery
{
    public int Count { get; init; } = RecommendationOptions.DefaultCount;
    /// <summary>Only items under this category: a path prefix key or a segment name (English or Chinese).</summary>
    public string? Category { get; init; }
    public IReadOnlySet<string> Exclude { get; init; } = new HashSet<string>();
    /// <summary>Leave out items the user recently interacted with.</summary>
    public bool ExcludeSeen { get; init; }
    /// <summary>0 = pure relevance order .. 1 = most diverse (MMR trade-off).</summary>
    public double Diversity { get; init; }
}

/// <summary>
/// What is known about the user at request time. <see cref="Personalized"/> false (consent withdrawn) means
/// behaviour and affinities are not used at all; only <see cref="RecommendationQuery.ExcludeSeen"/> reads
/// <see cref="Seen"/>, and then only when personalised.
/// </summary>
public sealed record UserContext(string UserId, IReadOnlyList<BehaviorStep> Recent, IReadOnlySet<string> Seen, Affinities? Affinities, bool Personalized)
{
    /// <summary>A user about whom nothing may be used.</summary>
    public static UserContext Anonymous(string userId) => new(userId, [], new HashSet<string>(), null, Personalized: false);
}

/// <summary>A sequence model with the index of its item vectors (built for that model).</summary>
public sealed record ModelView(ISequenceModel Model, VectorIndex Index);
