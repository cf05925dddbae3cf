using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Audiences;

/// <summary>An inclusive range; either end may be open.</summary>
public sealed record Threshold
{
    public double? Min { get; init; }
    public double? Max { get; init; }

    public bool Contains(double? value) => value is { } v && (Min is not { } lo || v >= lo) && (Max is not { } hi || v <= hi);
}

/// <summary>
/// Who belongs to an audience: every condition given must hold (an empty rule matches every profile).
/// Publication settings travel with the rule: <see cref="MinCount"/> (k) and the optional Laplace
/// <see cref="Epsilon"/>.
/// </summary>
public sealed record AudienceRule
{
    public const int DefaultMinCount = 10;
    public const string PurchasePropensity = "purchase_propensity";
    public const string ChurnRisk = "churn_risk";
    public const string CategoryPrefix = "category:";

    public string? Name { get; init; }
    /// <summary>Segment ids; the user's segment must be one of them.</summary>
    public IReadOnlyList<string> Segments { get; init; } = [];
    /// <summary>Tag keys the user must all have.</summary>
    public IReadOnlyList<string> TagsAll { get; init; } = [];
    /// <summary>Tag keys of which the user must have at least one.</summary>
    public IReadOnlyList<string> TagsAny { get; init; } = [];
    /// <summary>Lifecycle stages (<see cref="LifecycleStages"/>); the user's must be one of them.</summary>
    public IReadOnlyList<string> Lifecycle { get; init; } = [];
    /// <summary>Category key (any level, e.g. <c>Beauty &gt; Makeup</c>) → minimum affinity share (0..1).</summary>
    public IReadOnlyDictionary<string, double> Affinities { get; init; } = new Dictionary<string, double>();
    /// <summary>
    /// <c>purchase_propensity</c>, <c>churn_risk</c> or <c>category:KEY</c> (a top-level category's purchase
    /// propensity) → range. A user without that prediction does not match.
    /// </summary>
    public IReadOnlyDictionary<string, Threshold> Predictions { get; init; } = new Dictionary<string, Threshold>();
    /// <summary>k: published counts below it are suppressed. Null: the server's default.</summary>
    public int? MinCount { get; init; }
    /// <summary>When set, published counts get Laplace noise of scale 1/ε (a count has sensitivity 1).</summary>
    public double? Epsilon { get; init; }

    /// <summary>Field errors, keyed by the JSON name (<c>predictions.churn_risk.max</c>); empty when valid.</summary>
    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        var stages = new[] { LifecycleStages.New, LifecycleStages.Active, LifecycleStages.AtRisk, LifecycleStages.Churned };
        for (var i = 0; i < Lifecycle.Count; i++)
            if (!stages.Contains(Lifecycle[i]))
                errors.Add(new FieldError(null, $"lifecycle[{i}]", $"Unknown lifecycle stage '{Lifecycle[i]}'; expected one of {string.Join(", ", stages)}."));
        CheckKeys(errors, "segments", Segments);
        CheckKeys(errors, "tags_all", TagsAll);
        CheckKeys(errors, "tags_any", TagsAny);
        foreach (var (key, share) in Affinities)
        {
            if (string.IsNullOrWhiteSpace(key)) errors.Add(new FieldError(null, "affinities", "Category keys must not be empty."));
            if (share is < 0 or > 1 || double.IsNaN(share)) errors.Add(new FieldError(null, $"affinities.{key}", "The minimum share must be between 0 and 1."));
        }
        foreach (var (key, range) in Predictions)
        {
            var field = $"predictions.{key}";
            if (key is not (PurchasePropensity or ChurnRisk) && !(key.StartsWith(CategoryPrefix, StringComparison.Ordinal) && key.Length > CategoryPrefix.Length))
                errors.Add(new FieldError(null, field, $"Unknown prediction; expected {PurchasePropensity}, {ChurnRisk} or {CategoryPrefix}KEY."));
            if (range is null || (range.Min is null && range.Max is null))
            {
                errors.Add(new FieldError(null, field, "Give min, max or both."));
                continue;
            }
            if (range.Min is { } lo && (lo is < 0 or > 1 || double.IsNaN(lo))) errors.Add(new FieldError(null, field + ".min", "Must be between 0 and 1."));
            if (range.Max is { } hi && (hi is < 0 or > 1 || double.IsNaN(hi))) errors.Add(new FieldError(null, field + ".max", "Must be between 0 and 1."));
            if (range is { Min: { } a, Max: { } b } && a > b) errors.Add(new FieldError(null, field, "min must not exceed max."));
        }
        if (MinCount is < 1 or > 1_000_000) errors.Add(new FieldError(null, "min_count", "Must be between 1 and 1,000,000."));
        if (Epsilon is { } e && (e <= 0 || e > 10 || double.IsNaN(e))) errors.Add(new FieldError(null, "epsilon", "Must be greater than 0 and at most 10."));
        return errors;
    }

    private static void CheckKeys(List<FieldError> errors, string field, IReadOnlyList<string> keys)
    {
        for (var i = 0; i < keys.Count; i++)
            if (string.IsNullOrWhiteSpace(keys[i])) errors.Add(new FieldError(null, $"{field}[{i}]", "Must not be empty."));
    }

    /// <summary>Whether the profile satisfies every condition. Consent is the caller's business (see <see cref="AudienceBuilder"/>).</summary>
    public bool Matches(Profile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (Segments.Count > 0 && (profile.Segment is not { } segment || !Segments.Contains(segment.SegmentId))) return false;
        if (Lifecycle.Count > 0 && !Lifecycle.Contains(profile.Traits.Lifecycle)) return false;
        if (TagsAll.Count > 0 || TagsAny.Count > 0)
        {
            var tags = profile.Tags.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
            if (!TagsAll.All(tags.Contains)) return false;
            if (TagsAny.Count > 0 && !TagsAny.Any(tags.Contains)) return false;
        }
        foreach (var (key, share) in Affinities)
        {
            var found = profile.Affinities.Categories.FirstOrDefault(a => a.Key == key);
            if (found is null || found.Share < share) return false;
        }
        foreach (var (key, range) in Predictions)
        {
            var p = profile.Predictions;
            double? value = key switch
            {
                PurchasePropensity => p?.PurchasePropensity,
                ChurnRisk => p?.ChurnRisk,
                _ => p is not null && p.CategoryPropensity.TryGetValue(key[CategoryPrefix.Length..], out var v) ? v : null,
            };
            if (!range.Contains(value)) return false;
        }
        return true;
    }
}
