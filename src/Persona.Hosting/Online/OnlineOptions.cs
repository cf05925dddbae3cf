namespace Persona.Hosting.Online;

/// <summary>The online loop (<c>Persona:Online</c>): attribution and experiments. See docs/online-loop.md.</summary>
public sealed class OnlineOptions
{
    public const string SectionName = "Persona:Online";

    /// <summary>How long after an answer a cart or purchase without a request id is attributed to it (last touch).</summary>
    public int AttributionWindowMinutes { get; set; } = 1440;

    /// <summary>
    /// Most served answers held for attribution; the oldest go first. An answer of 10 items takes about 350 bytes with
    /// its share of the per-shopper index, shopper ids apart (bench/README.md, "The online loop"), so the default holds about 90 MB.
    /// </summary>
    public int MaxServedAnswers { get; set; } = 250_000;

    /// <summary>Impressions (or served positions) per variant below which an experiment's figures carry a warning.</summary>
    public int MinSample { get; set; } = 1000;

    /// <summary>How often the learned recommendation blend is refitted from the counters (docs/online-loop.md, section 6).</summary>
    public int BlendRefitMinutes { get; set; } = 10;

    /// <summary>Hours of counters the learned blend is fitted on.</summary>
    public int BlendWindowHours { get; set; } = 24;

    /// <summary>Recommendations outside experiments use the learned blend instead of the configured weights.</summary>
    public bool LearnedBlendByDefault { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (AttributionWindowMinutes is < 1 or > 43_200) problems.Add("AttributionWindowMinutes must be between 1 and 43200 (30 days).");
        if (MaxServedAnswers is < 1000 or > 100_000_000) problems.Add("MaxServedAnswers must be between 1000 and 100000000.");
        if (MinSample is < 1 or > 100_000_000) problems.Add("MinSample must be between 1 and 100000000.");
        if (BlendRefitMinutes is < 1 or > 10_080) problems.Add("BlendRefitMinutes must be between 1 and 10080 (a week).");
        if (BlendWindowHours is < 1 or > 2_160) problems.Add("BlendWindowHours must be between 1 and 2160 (90 days).");
        return problems;
    }
}
