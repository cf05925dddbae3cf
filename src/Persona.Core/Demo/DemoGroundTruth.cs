using Persona.Core.Models.Propensity;

namespace Persona.Core.Demo;

/// <summary>The demo generator's latent state turned into ground truths for the propensity tasks of a test window.</summary>
public static class DemoGroundTruth
{
    public const string ChurnDefinition =
        "demo-truth.jsonl `churned = true`: the generator stopped the user for good (at churned_at) before the end of the test window";

    public const string PurchaseDefinition =
        "likely buyer: the generator's latent purchase rate (purchase_rate_per_day) × the user's active days in the test window gives " +
        "the expected purchases λ; label = P(at least one purchase) = 1 − e^−λ ≥ 0.5. The last column scores 1 − e^−λ itself " +
        "against the purchases that were drawn, the ceiling any model has on realised outcomes";

    /// <summary>Churn and purchase truths for the window [<paramref name="windowStart"/>, <paramref name="windowEnd"/>).</summary>
    public static IReadOnlyList<GroundTruth> For(IEnumerable<DemoTruth> truth, DateTimeOffset windowStart, DateTimeOffset windowEnd)
    {
        var rows = truth.ToDictionary(t => t.UserId, StringComparer.Ordinal);
        double? BuyProbability(string user)
        {
            if (!rows.TryGetValue(user, out var t)) return null;
            var from = t.ActiveFrom > windowStart ? t.ActiveFrom : windowStart;
            var until = t.ChurnedAt is { } churned && churned < windowEnd ? churned : windowEnd;
            var days = Math.Max(0, (until - from).TotalDays);
            return 1 - Math.Exp(-t.PurchaseRatePerDay * days);
        }
        return
        [
            new GroundTruth(PredictionTask.Purchase, PurchaseDefinition, user => BuyProbability(user) is { } p ? p >= 0.5 : null, BuyProbability),
            new GroundTruth(PredictionTask.Churn, ChurnDefinition,
                user => rows.TryGetValue(user, out var t) ? t.Churned && t.ChurnedAt < windowEnd : null),
        ];
    }
}
