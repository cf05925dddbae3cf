using Persona.Core.Online;
using Persona.Core.Ranking;
using Persona.Hosting.Recommendations;

namespace Persona.Hosting.Online;

/// <summary>
/// The learned recommendation blend (<see cref="BlendLearner"/>), refitted at most every
/// <see cref="OnlineOptions.BlendRefitMinutes"/> from the last <see cref="OnlineOptions.BlendWindowHours"/> of counters.
/// Only answers served by a blend are learned from (outside experiments, and variants without their own source weights
/// that personalise): a variant that shows only popular items says nothing about how the blend's sources compare.
/// </summary>
public sealed class LearnedBlendService(OnlineLoop online, ExperimentService experiments, RecommendationService recommendations, TimeProvider time)
{
    private readonly Lock _fitLock = new();
    private LearnedBlend? _current;

    public LearnedBlend Current
    {
        get
        {
            var now = time.GetUtcNow();
            var current = Volatile.Read(ref _current);
            if (current is not null && now - current.FittedAt < TimeSpan.FromMinutes(online.Options.BlendRefitMinutes)) return current;
            lock (_fitLock)
            {
                if (_current is { } fitted && now - fitted.FittedAt < TimeSpan.FromMinutes(online.Options.BlendRefitMinutes)) return fitted;
                var refit = Fit(now);
                Volatile.Write(ref _current, refit);
                return refit;
            }
        }
    }

    /// <summary>The weights a strategy asks for: its own sources, the learned blend, or null for the configured one.</summary>
    public SourceWeights? WeightsFor(Strategy? strategy) =>
        strategy?.Weights ?? (strategy?.Learned == true || (strategy is null && online.Options.LearnedBlendByDefault) ? Current.Weights : null);

    private LearnedBlend Fit(DateTimeOffset now)
    {
        var from = now.AddHours(-online.Options.BlendWindowHours);
        var blended = new HashSet<string>(StringComparer.Ordinal) { OnlineLedger.DefaultVariant };
        foreach (var experiment in experiments.List())
            foreach (var variant in experiment.Variants)
                if (variant.Strategy.Sources is null && variant.Strategy.Personalize) blended.Add(experiment.VariantLabel(variant.Name));
        var rows = online.Ledger.Query(from, now.AddTicks(1), OnlineDimensions.Surface | OnlineDimensions.Source | OnlineDimensions.Position | OnlineDimensions.Variant)
            .Where(r => r.Surface == OnlineSurface.Recommendations.ToWire() && blended.Contains(r.Variant!));
        return BlendLearner.Fit(rows, SourceWeights.From(recommendations.Options), from, now);
    }
}
