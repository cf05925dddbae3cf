using Persona.Abstractions;
using Xunit.Sdk;

namespace Persona.Core.Tests.Profiles;

/// <summary>Field-by-field profile comparison with a relative tolerance on floating-point values.</summary>
internal static class ProfileAssert
{
    public static void Equivalent(Profile expected, Profile actual, double tolerance = 1e-9)
    {
        var where = $"user {expected.UserId}";
        Same(expected.UserId, actual.UserId, where, "user_id");
        Same(expected.Version, actual.Version, where, "version");
        Same(expected.UpdatedAt, actual.UpdatedAt, where, "updated_at");
        Same(expected.AsOf, actual.AsOf, where, "as_of");
        Same(expected.EventCount, actual.EventCount, where, "event_count");

        var (e, a) = (expected.Traits, actual.Traits);
        Same(e.FirstSeen, a.FirstSeen, where, "first_seen");
        Same(e.LastSeen, a.LastSeen, where, "last_seen");
        Same(e.LastPurchase, a.LastPurchase, where, "last_purchase");
        Close(e.Rfm.RecencyDays, a.Rfm.RecencyDays, tolerance, where, "rfm.recency_days");
        Same(e.Rfm.Frequency, a.Rfm.Frequency, where, "rfm.frequency");
        Close(e.Rfm.Monetary, a.Rfm.Monetary, tolerance, where, "rfm.monetary");
        Same((e.Rfm.RecencyScore, e.Rfm.FrequencyScore, e.Rfm.MonetaryScore), (a.Rfm.RecencyScore, a.Rfm.FrequencyScore, a.Rfm.MonetaryScore), where, "rfm scores");
        Close(e.EventsPerActiveDay, a.EventsPerActiveDay, tolerance, where, "events_per_active_day");
        Same(e.ActiveDays, a.ActiveDays, where, "active_days");
        Same(e.ActivityLevel, a.ActivityLevel, where, "activity_level");
        Same(e.Lifecycle, a.Lifecycle, where, "lifecycle");
        Same(e.PurchasingPowerTier, a.PurchasingPowerTier, where, "purchasing_power_tier");
        Close(e.PricePercentile, a.PricePercentile, tolerance, where, "price_percentile");
        Close(e.PriceSensitivity, a.PriceSensitivity, tolerance, where, "price_sensitivity");
        Sequence(e.HourHistogram, a.HourHistogram, tolerance, where, "hour_histogram");
        Sequence(e.WeekdayHistogram, a.WeekdayHistogram, tolerance, where, "weekday_histogram");
        Same(string.Join(",", e.ActiveHours), string.Join(",", a.ActiveHours), where, "active_hours");
        Same(string.Join(",", e.ActiveWeekdays), string.Join(",", a.ActiveWeekdays), where, "active_weekdays");
        Same(e.PreferredDevice, a.PreferredDevice, where, "preferred_device");
        Same(e.PreferredChannel, a.PreferredChannel, where, "preferred_channel");
        Same(Render(e.EventTypeCounts), Render(a.EventTypeCounts), where, "event_type_counts");

        Affinities(expected.Affinities.Categories, actual.Affinities.Categories, tolerance, where, "categories");
        Affinities(expected.Affinities.Brands, actual.Affinities.Brands, tolerance, where, "brands");
        Affinities(expected.Affinities.PriceBands, actual.Affinities.PriceBands, tolerance, where, "price_bands");

        Same(string.Join(" | ", expected.Tags.Select(t => t.Key)), string.Join(" | ", actual.Tags.Select(t => t.Key)), where, "tags");
        for (var i = 0; i < expected.Tags.Count; i++)
        {
            var (et, at) = (expected.Tags[i], actual.Tags[i]);
            var field = $"tags[{et.Key}]";
            Same((et.Kind, et.LabelEn, et.LabelZh), (at.Kind, at.LabelEn, at.LabelZh), where, field);
            Close(et.Confidence, at.Confidence, tolerance, where, field + ".confidence");
            Same(string.Join(",", et.EvidenceEventIds), string.Join(",", at.EvidenceEventIds), where, field + ".evidence");
        }
    }

    private static void Affinities(IReadOnlyList<Affinity> expected, IReadOnlyList<Affinity> actual, double tolerance, string where, string kind)
    {
        Same(string.Join(" | ", expected.Select(a => a.Key)), string.Join(" | ", actual.Select(a => a.Key)), where, kind);
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Same((e.LabelEn, e.LabelZh, e.Level), (a.LabelEn, a.LabelZh, a.Level), where, $"{kind}[{e.Key}]");
            Close(e.Score, a.Score, tolerance, where, $"{kind}[{e.Key}].score");
            Close(e.Share, a.Share, tolerance, where, $"{kind}[{e.Key}].share");
        }
    }

    private static string Render(IReadOnlyDictionary<string, long> counts) =>
        string.Join(",", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    private static void Sequence(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tolerance, string where, string field)
    {
        Same(expected.Count, actual.Count, where, field + ".count");
        for (var i = 0; i < expected.Count; i++) Close(expected[i], actual[i], tolerance, where, $"{field}[{i}]");
    }

    private static void Same<T>(T expected, T actual, string where, string field)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new XunitException($"{where}: {field} differs.\nexpected: {expected}\nactual:   {actual}");
    }

    private static void Close(double? expected, double? actual, double tolerance, string where, string field)
    {
        if (expected is null || actual is null)
        {
            Same(expected, actual, where, field);
            return;
        }
        var (x, y) = (expected.Value, actual.Value);
        if (Math.Abs(x - y) > tolerance * Math.Max(Math.Abs(x), Math.Abs(y)) + 1e-12)
            throw new XunitException($"{where}: {field} differs beyond {tolerance:G2} relative.\nexpected: {x:R}\nactual:   {y:R}");
    }
}
