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
    /// <summary>Popular among shoppers who share the user's attributes (age band, gender, region).</summary>
    public const string Segment = "segment";
    /// <summary>Near by the meaning of its text (similar items; how new items are found before anyone touched them).</summary>
    public const string Text = "text";
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
    /// <summary>Show one item per product group (<see cref="ProductGroups"/>); null: <see cref="RecommendationOptions.CollapseVariants"/>.</summary>
    public bool? CollapseVariants { get; init; }
    /// <summary>The blend's weights; null: <see cref="RecommendationOptions"/>' (an experiment's variant sets them).</summary>
    public SourceWeights? Weights { get; init; }
    /// <summary>The stored sequence model version to answer with (an experiment's variant); null: the one in service.</summary>
    public string? ModelVersion { get; init; }
    /// <summary>False: the answer ignores the shopper, as for one who withdrew consent (an experiment's non-personal variant).</summary>
    public bool Personalize { get; init; } = true;
    /// <summary>The experiment variant the answer is served for (its counters' label); null outside experiments.</summary>
    public string? Variant { get; init; }
}

/// <summary>
/// What is known about the user at request time. <see cref="Personalized"/> false (consent withdrawn) means
/// behaviour and affinities are not used at all; only <see cref="RecommendationQuery.ExcludeSeen"/> reads
/// <see cref="Seen"/>, and then only when personalised.
/// </summary>
public sealed record UserContext(string UserId, IReadOnlyList<BehaviorStep> Recent, IReadOnlySet<string> Seen, Affinities? Affinities, bool Personalized)
{
    /// <summary>The user's attribute groups (<see cref="UserSegments.Of"/>); empty when none are known.</summary>
    public IReadOnlyList<UserSegment> Segments { get; init; } = [];

    /// <summary>A user about whom nothing may be used.</summary>
    public static UserContext Anonymous(string userId) => new(userId, [], new HashSet<string>(), null, Personalized: false);
}

/// <summary>A sequence model with the index of its item vectors (built for that model).</summary>
public sealed record ModelView(ISequenceModel Model, VectorIndex Index);

/// <summary>One attribute group a user belongs to: its popularity key and its label in both languages.</summary>
public sealed record UserSegment(string Key, string LabelEn, string LabelZh);

/// <summary>The attribute groups of a user record that popularity is counted within: age band, gender and region.</summary>
public static class UserSegments
{
    /// <summary>Popularity keys start with this, so they never collide with category keys.</summary>
    public const string Prefix = "segment:";

    public static IReadOnlyList<UserSegment> Of(User user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var segments = new List<UserSegment>(3);
        Add("age_band", user.AgeBand, "age", "年龄段");
        Add("gender", user.Gender, "gender", "性别");
        Add("region", user.Region, "region", "地区");
        return segments;

        void Add(string attribute, string? value, string en, string zh)
        {
            if (string.IsNullOrWhiteSpace(value)) return;
            var v = value.Trim();
            segments.Add(new UserSegment($"{Prefix}{attribute}={v.ToLowerInvariant()}", $"{en} {v}", $"{zh}{v}"));
        }
    }
}
