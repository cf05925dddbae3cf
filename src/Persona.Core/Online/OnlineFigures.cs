namespace Persona.Core.Online;

/// <summary>
/// The rates of one group of counts with their 95 % intervals. Rates are shares of impressions; a group without any
/// impression events (a shop that does not send them) uses its served positions instead, and <see cref="Basis"/> says so.
/// </summary>
public sealed record OnlineFigures(string Basis, long Shown, Interval Ctr, Interval AddToCartRate, Interval Conversion, Interval RevenuePerThousand)
{
    public const string ImpressionsBasis = "impressions";
    public const string ServedBasis = "served";

    public static OnlineFigures Of(in OnlineCounts counts)
    {
        var basis = counts.Impressions > 0 ? ImpressionsBasis : ServedBasis;
        var shown = counts.Impressions > 0 ? counts.Impressions : counts.Served;
        var perImpression = Significance.MeanInterval(shown, counts.Revenue, counts.RevenueSquares);
        return new OnlineFigures(basis, shown, Rate(counts.Clicks, shown), Rate(counts.Carts, shown), Rate(counts.Purchases, shown),
            new Interval(perImpression.Estimate * 1000, perImpression.Low * 1000, perImpression.High * 1000));
    }

    /// <summary>Successes beyond the shown count (clicks on positions whose impressions were not all sent) are capped at it.</summary>
    private static Interval Rate(long successes, long shown) => Significance.Wilson(Math.Min(successes, shown), shown);
}
