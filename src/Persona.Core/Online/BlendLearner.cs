using Persona.Core.Ranking;

namespace Persona.Core.Online;

/// <summary>How one source's shown items did against what their positions predict.</summary>
/// <param name="Source">The source, as results report them.</param>
/// <param name="Shown">Impressions (or served positions) whose strongest source it was.</param>
/// <param name="Clicks">Their clicks.</param>
/// <param name="Expected">Clicks expected from their positions alone (each position group's CTR over every source).</param>
/// <param name="Lift">(clicks + prior) ÷ (expected + prior): above 1, the source's items are clicked more than their places explain.</param>
/// <param name="Factor">What the source's weight is multiplied by: the lift, kept within [<see cref="BlendLearner.MinFactor"/>, <see cref="BlendLearner.MaxFactor"/>].</param>
public sealed record SourceLift(string Source, long Shown, long Clicks, double Expected, double Lift, double Factor);

/// <summary>A blend refitted from attributed clicks: the configured weights, each multiplied by its source's factor.</summary>
public sealed record LearnedBlend(SourceWeights Weights, SourceWeights Configured, IReadOnlyList<SourceLift> Sources, long Shown, DateTimeOffset From, DateTimeOffset FittedAt);

/// <summary>
/// Refits the recommendation blend from the loop (docs/online-loop.md, section 6): each shown position is credited to
/// its strongest source; a source's lift is its clicks against those its positions predict (position bias removed by
/// comparing within each position group), shrunk toward 1 by a prior of <see cref="PriorClicks"/> clicks; its weight
/// is the configured one times the lift, kept within a factor of 4 either way so that no source stops being shown
/// (and learned about).
/// </summary>
public static class BlendLearner
{
    public const double PriorClicks = 20;
    public const double MinFactor = 0.25;
    public const double MaxFactor = 4;

    /// <param name="rows">Counts grouped by source and position (other dimensions summed), of answers served with the blend being learned.</param>
    /// <param name="configured">The configured weights.</param>
    /// <param name="from">The start of the counts' window, for the record.</param>
    /// <param name="now">When the fit is made.</param>
    public static LearnedBlend Fit(IEnumerable<OnlineCountsRow> rows, SourceWeights configured, DateTimeOffset from, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(configured);
        var list = rows.Where(r => r.Source is not null && SourceWeights.Names.Contains(r.Source)).ToList();
        static long Shown(in OnlineCounts c) => c.Impressions > 0 ? c.Impressions : c.Served;
        var byPosition = list.GroupBy(r => r.Position ?? "", StringComparer.Ordinal).ToDictionary(g => g.Key, g =>
        {
            long shown = 0, clicks = 0;
            foreach (var r in g)
            {
                shown += Shown(r.Counts);
                clicks += Math.Min(r.Counts.Clicks, Shown(r.Counts));
            }
            return shown == 0 ? 0 : (double)clicks / shown;
        }, StringComparer.Ordinal);
        var lifts = list.GroupBy(r => r.Source!, StringComparer.Ordinal).Select(g =>
        {
            long shown = 0, clicks = 0;
            var expected = 0.0;
            foreach (var r in g)
            {
                var n = Shown(r.Counts);
                shown += n;
                clicks += Math.Min(r.Counts.Clicks, n);
                expected += n * byPosition[r.Position ?? ""];
            }
            var lift = (clicks + PriorClicks) / (expected + PriorClicks);
            return new SourceLift(g.Key, shown, clicks, Math.Round(expected, 3), Math.Round(lift, 4), Math.Round(Math.Clamp(lift, MinFactor, MaxFactor), 4));
        }).OrderByDescending(l => l.Shown).ThenBy(l => l.Source, StringComparer.Ordinal).ToList();
        double Factor(string source) => lifts.FirstOrDefault(l => l.Source == source)?.Factor ?? 1;
        var weights = new SourceWeights(
            configured.Model * Factor(RecommendationSources.Model),
            configured.CoOccurrence * Factor(RecommendationSources.CoOccurrence),
            configured.Affinity * Factor(RecommendationSources.Affinity),
            configured.Popularity * Factor(RecommendationSources.Popularity),
            configured.Segment * Factor(RecommendationSources.Segment),
            configured.Text * Factor(RecommendationSources.Text));
        return new LearnedBlend(weights, configured, lifts, lifts.Sum(l => l.Shown), from, now);
    }
}
