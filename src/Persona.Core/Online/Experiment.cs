using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Persona.Core.Ingestion;
using Persona.Core.Ranking;

namespace Persona.Core.Online;

/// <summary>Where an experiment is in its life: made, serving its variants, or over (its figures stay).</summary>
public enum ExperimentState
{
    Draft,
    Running,
    Stopped,
}

/// <summary>
/// How a variant answers: data, not code (docs/online-loop.md, section 4). Unset fields keep the server's configuration.
/// </summary>
public sealed record Strategy
{
    /// <summary>Recommendations and similar items: the weight of each candidate source (names as results report them); a source left out weighs 0.</summary>
    public IReadOnlyDictionary<string, double>? Sources { get; init; }
    /// <summary>Recommendations: 0 = relevance order .. 1 = most diverse.</summary>
    public double? Diversity { get; init; }
    /// <summary>False: the answer ignores the shopper (no behaviour, no affinities, no personal re-ranking in search).</summary>
    public bool Personalize { get; init; } = true;
    /// <summary>Search: whether the text encoder's candidates take part.</summary>
    public bool Semantic { get; init; } = true;
    /// <summary>Recommendations: the stored sequence model version that serves the variant (null: the one in service).</summary>
    public string? ModelVersion { get; init; }
    /// <summary>Recommendations without <see cref="Sources"/>: <c>configured</c> (the default) or <c>learned</c> (refitted from clicks, <see cref="BlendLearner"/>).</summary>
    public string? Blend { get; init; }

    public const string ConfiguredBlend = "configured";
    public const string LearnedBlend = "learned";

    /// <summary>Whether the answer uses the learned blend.</summary>
    [JsonIgnore]
    public bool Learned => Blend == LearnedBlend;

    /// <summary>The recommendation blend this strategy asks for, or null for the configured one.</summary>
    [JsonIgnore]
    public SourceWeights? Weights => Sources is null ? null : new SourceWeights(
        Sources.GetValueOrDefault(RecommendationSources.Model),
        Sources.GetValueOrDefault(RecommendationSources.CoOccurrence),
        Sources.GetValueOrDefault(RecommendationSources.Affinity),
        Sources.GetValueOrDefault(RecommendationSources.Popularity),
        Sources.GetValueOrDefault(RecommendationSources.Segment),
        Sources.GetValueOrDefault(RecommendationSources.Text));
}

/// <summary>One arm of an experiment: its name, its share of traffic (0..1] and its strategy.</summary>
public sealed record ExperimentVariant(string Name, double Traffic, Strategy Strategy);

/// <summary>An online experiment on one surface (docs/online-loop.md, section 3).</summary>
public sealed record Experiment
{
    public const int MaxVariants = 10;
    /// <summary>Buckets shoppers are hashed into; traffic shares are cut at whole buckets.</summary>
    public const int Buckets = 10_000;
    private static readonly Regex IdPattern = new("^[a-z0-9][a-z0-9_-]{0,63}$", RegexOptions.CultureInvariant);

    public required string Id { get; init; }
    public required string Name { get; init; }
    public required OnlineSurface Surface { get; init; }
    /// <summary>The first is the control: the others are tested against it.</summary>
    public required IReadOnlyList<ExperimentVariant> Variants { get; init; }
    public ExperimentState State { get; init; } = ExperimentState.Draft;
    /// <summary>Impressions (or served positions) per variant below which figures carry a warning.</summary>
    public int MinSample { get; init; } = 1000;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? StoppedAt { get; init; }

    [JsonIgnore]
    public ExperimentVariant Control => Variants[0];

    /// <summary>How answers of a variant are labelled in the online counters.</summary>
    public string VariantLabel(string variant) => $"{Id}/{variant}";

    /// <summary>The label of answers to shoppers who withdrew personalisation consent: served outside the variants, counted apart.</summary>
    [JsonIgnore]
    public string ExcludedLabel => $"{Id}/(no consent)";

    /// <summary>
    /// The shopper's variant: <see cref="Bucket"/> against the variants' cumulative traffic. The same on every node and
    /// after every restart; nothing is stored per shopper.
    /// </summary>
    public ExperimentVariant Assign(string shopper)
    {
        var bucket = Bucket(Id, shopper);
        var end = 0.0;
        foreach (var variant in Variants)
        {
            end += variant.Traffic * Buckets;
            if (bucket < Math.Round(end)) return variant;
        }
        return Variants[^1];
    }

    /// <summary>The shopper's bucket in 0..9,999 for this experiment: FNV-1a, then a finaliser that spreads its low bits.</summary>
    public static int Bucket(string experimentId, string shopper)
    {
        ArgumentNullException.ThrowIfNull(experimentId);
        ArgumentNullException.ThrowIfNull(shopper);
        var h = (uint)StableHash.Of(string.Concat(experimentId, "\u001f", shopper));
        // MurmurHash3's fmix32: every input bit reaches every output bit, so the remainder is even.
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return (int)(h % Buckets);
    }

    /// <summary>What is wrong with a new experiment, each naming its field; empty when it may be stored.</summary>
    public IReadOnlyList<FieldError> Validate()
    {
        var errors = new List<FieldError>();
        if (Id is null || !IdPattern.IsMatch(Id))
            errors.Add(new FieldError(null, "id", "Use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit."));
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200) errors.Add(new FieldError(null, "name", "A name of 1 to 200 characters is required."));
        if (MinSample is < 1 or > 100_000_000) errors.Add(new FieldError(null, "min_sample", "Must be between 1 and 100000000."));
        if (Variants is null || Variants.Count is < 2 or > MaxVariants)
        {
            errors.Add(new FieldError(null, "variants", $"Give 2 to {MaxVariants} variants."));
            return errors;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Variants.Count; i++)
        {
            var v = Variants[i];
            var at = $"variants[{i}]";
            if (string.IsNullOrWhiteSpace(v.Name) || v.Name.Length > 64 || v.Name.Contains('/', StringComparison.Ordinal))
                errors.Add(new FieldError(null, $"{at}.name", "A name of 1 to 64 characters without '/' is required."));
            else if (!names.Add(v.Name)) errors.Add(new FieldError(null, $"{at}.name", $"'{v.Name}' is used by another variant."));
            if (!(v.Traffic is > 0 and <= 1)) errors.Add(new FieldError(null, $"{at}.traffic", "Must be more than 0 and at most 1."));
            if (v.Strategy.Diversity is { } diversity && !(diversity is >= 0 and <= 1))
                errors.Add(new FieldError(null, $"{at}.strategy.diversity", "Must be between 0 and 1."));
            if (v.Strategy.Blend is { } blend && blend is not (Strategy.ConfiguredBlend or Strategy.LearnedBlend))
                errors.Add(new FieldError(null, $"{at}.strategy.blend", $"Must be '{Strategy.ConfiguredBlend}' or '{Strategy.LearnedBlend}'."));
            else if (v.Strategy.Learned && v.Strategy.Sources is not null)
                errors.Add(new FieldError(null, $"{at}.strategy.blend", "A learned blend learns the sources' weights: leave sources out."));
            if (v.Strategy.ModelVersion is { } version && (string.IsNullOrWhiteSpace(version) || version.Length > 200 || version.Contains('/', StringComparison.Ordinal) || version.Contains('\\', StringComparison.Ordinal)))
                errors.Add(new FieldError(null, $"{at}.strategy.model_version", "Name a stored model version (see GET /v1/admin/models)."));
            if (v.Strategy.Sources is { } sources)
            {
                if (sources.Count == 0) errors.Add(new FieldError(null, $"{at}.strategy.sources", "Name at least one source, or leave sources out for the configured blend."));
                foreach (var (source, weight) in sources)
                {
                    if (!SourceWeights.Names.Contains(source))
                        errors.Add(new FieldError(null, $"{at}.strategy.sources.{source}", $"Not a source; use {string.Join(", ", SourceWeights.Names)}."));
                    else if (!(weight is >= 0 and <= 100)) errors.Add(new FieldError(null, $"{at}.strategy.sources.{source}", "Must be between 0 and 100."));
                }
                if (sources.Count > 0 && sources.Values.All(w => w == 0)) errors.Add(new FieldError(null, $"{at}.strategy.sources", "At least one source must weigh more than 0."));
            }
        }
        var total = Variants.Sum(v => v.Traffic);
        if (errors.Count == 0 && Math.Abs(total - 1) > 1e-6)
            errors.Add(new FieldError(null, "variants", $"The variants' traffic must add up to 1; it adds up to {total:0.######}."));
        return errors;
    }
}
