using Persona.Abstractions;
using Persona.Core.Profiles;
using static Persona.Core.Tests.Profiles.ProfileTestData;

namespace Persona.Core.Tests.Profiles;

public class ProfileBuilderTests
{
    [Fact]
    public void Build_FiveLipstickPurchases_LipstickTagWithThoseEventsAndAllLevels()
    {
        var events = Enumerable.Range(1, 5)
            .Select(d => Event("p" + d, EventType.Purchase, "l" + (d % 3), T0.AddDays(d)))
            .Append(Event("v1", EventType.View, "k0", T0.AddDays(2)))
            .ToList();

        var profile = Build(events, T0.AddDays(6));

        var tag = Assert.Single(profile.Tags, t => t.Kind == "category");
        Assert.Equal("category:Beauty > Makeup > Lipstick", tag.Key);
        Assert.Equal("Likes Lipstick", tag.LabelEn);
        Assert.Equal("偏好 口红", tag.LabelZh);
        Assert.Equal(["p5", "p4", "p3", "p2", "p1"], tag.EvidenceEventIds);
        Assert.True(tag.Confidence > 0.9, $"confidence {tag.Confidence}");

        var categories = profile.Affinities.Categories.ToDictionary(a => a.Key);
        var lipstick = categories["Beauty > Makeup > Lipstick"];
        Assert.Equal(3, lipstick.Level);
        Assert.Equal(1, lipstick.Share, 12);
        Assert.Equal(lipstick.Score, categories["Beauty > Makeup"].Score, 12);
        Assert.Equal(lipstick.Score, categories["Beauty"].Score, 12);
        Assert.Equal(("Beauty", "美妆", 1), (categories["Beauty"].LabelEn, categories["Beauty"].LabelZh, categories["Beauty"].Level));
        Assert.Equal(("Makeup", "彩妆"), (categories["Beauty > Makeup"].LabelEn, categories["Beauty > Makeup"].LabelZh));
        Assert.True(categories["Beauty"].Share > 0.95);
        Assert.Equal("Beauty", profile.Affinities.Categories[0].Key);

        var brand = Assert.Single(profile.Tags, t => t.Kind == "brand");
        Assert.Equal(("brand:Rouge", "Loyal to Rouge", "忠于 胭脂"), (brand.Key, brand.LabelEn, brand.LabelZh));
        Assert.Equal(5, profile.Traits.Rfm.Frequency);
        Assert.Equal(6, profile.EventCount);
    }

    [Fact]
    public void Build_OneHalfLifeLater_ScoreHalves()
    {
        var events = new[] { Event("v", EventType.View, "k0", T0) };

        var fresh = Build(events, T0);
        var later = Build(events, T0.AddDays(ProfileOptions.DefaultHalfLifeDays));
        var twoLater = Build(events, T0.AddDays(2 * ProfileOptions.DefaultHalfLifeDays));

        Assert.Equal(1.0, fresh.Affinities.Categories[0].Score, 12);
        Assert.Equal(0.5, later.Affinities.Categories[0].Score, 12);
        Assert.Equal(0.25, twoLater.Affinities.Categories[0].Score, 12);
    }

    [Fact]
    public void Build_EventsAcrossTime_DecayedSumOfWeights()
    {
        // A purchase (8) a half-life before a view (1), seen from the view's time: 8/2 + 1.
        var events = new[] { Event("v", EventType.View, "k0", T0.AddDays(30)), Event("p", EventType.Purchase, "k1", T0) };

        var profile = Build(events, T0.AddDays(30));

        Assert.Equal(5.0, profile.Affinities.Categories.Single(a => a.Key == "Home").Score, 12);
    }

    [Fact]
    public void Build_RatingAdjustsWeight()
    {
        var five = Build([Event("r", EventType.Rate, "k0", T0, value: 5)], T0);
        var three = Build([Event("r", EventType.Rate, "k0", T0, value: 3)], T0);
        var one = Build([Event("r", EventType.Rate, "k0", T0, value: 1)], T0);

        Assert.Equal(6.0, five.Affinities.Categories[0].Score, 12);
        Assert.Equal(3.0, three.Affinities.Categories[0].Score, 12);
        Assert.Empty(one.Affinities.Categories);
    }

    [Theory]
    [InlineData(14, -1, LifecycleStages.Active)]
    [InlineData(14, 0, LifecycleStages.AtRisk)]
    [InlineData(30, -1, LifecycleStages.AtRisk)]
    [InlineData(30, 0, LifecycleStages.Churned)]
    public void Build_DaysSinceLastActivityAtBoundary_Stage(int days, int offsetMs, string stage)
    {
        // Too few events for the rate-drop rule, old enough not to be new.
        var events = new[] { 0, 10, 20 }.Select(d => Event("v" + d, EventType.View, "k0", T0.AddDays(d))).ToList();

        var profile = Build(events, T0.AddDays(20 + days).AddMilliseconds(offsetMs));

        Assert.Equal(stage, profile.Traits.Lifecycle);
    }

    [Theory]
    [InlineData(-1, 1, LifecycleStages.New)]
    [InlineData(0, 1, LifecycleStages.Active)]
    [InlineData(-1, 2, LifecycleStages.Active)]
    public void Build_FirstSeenNearNewCustomerBoundary_Stage(int offsetMs, int purchases, string stage)
    {
        var events = new List<StoredEvent> { Event("v0", EventType.View, "k0", T0), Event("v1", EventType.View, "k0", T0.AddDays(10)) };
        for (var p = 0; p < purchases; p++) events.Add(Event("p" + p, EventType.Purchase, "k1", T0.AddDays(5 + p)));

        var profile = Build(events, T0.AddDays(14).AddMilliseconds(offsetMs));

        Assert.Equal(stage, profile.Traits.Lifecycle);
        Assert.Equal(stage == LifecycleStages.New, profile.Tags.Any(t => t.Key == "lifecycle:new"));
    }

    [Theory]
    [InlineData(2, LifecycleStages.AtRisk)]
    [InlineData(6, LifecycleStages.Active)]
    public void Build_ActivityDropAgainstPriorRate_Stage(int recentEvents, string stage)
    {
        // One view a day for 50 days, then only a few in the last 14 days.
        var events = Enumerable.Range(0, 50).Select(d => Event("d" + d, EventType.View, "k0", T0.AddDays(d))).ToList();
        for (var i = 0; i < recentEvents; i++) events.Add(Event("r" + i, EventType.View, "k0", T0.AddDays(63 - 2 * i)));

        var profile = Build(events, T0.AddDays(63).AddHours(1));

        Assert.Equal(stage, profile.Traits.Lifecycle);
    }

    [Fact]
    public void Build_ChurnedUser_TagWithRecentEvidence()
    {
        var events = Enumerable.Range(0, 8).Select(d => Event("v" + d, EventType.View, "k0", T0.AddDays(d))).ToList();

        var profile = Build(events, T0.AddDays(60));

        var tag = Assert.Single(profile.Tags, t => t.Key == "lifecycle:churned");
        Assert.Equal(("Churned", "已流失"), (tag.LabelEn, tag.LabelZh));
        Assert.Equal(["v7", "v6", "v5", "v4", "v3"], tag.EvidenceEventIds);
    }

    [Fact]
    public void Build_BuysDearestBags_HighTierFromPurchases()
    {
        var events = new[]
        {
            Event("p1", EventType.Purchase, "b9", T0),
            Event("p2", EventType.Purchase, "b10", T0),
            Event("v1", EventType.View, "b1", T0),
        };

        var profile = Build(events, T0);

        Assert.Equal(Tiers.High, profile.Traits.PurchasingPowerTier);
        Assert.Equal(0.9, profile.Traits.PricePercentile!.Value, 12);
        var tag = Assert.Single(profile.Tags, t => t.Key == "price:high_power");
        Assert.Equal(("High purchasing power", "高消费力"), (tag.LabelEn, tag.LabelZh));
        Assert.Equal(["p2", "p1"], tag.EvidenceEventIds);
        Assert.Equal(1900, profile.Traits.Rfm.Monetary, 9);
        var bands = profile.Affinities.PriceBands.ToDictionary(a => a.Key);
        Assert.Equal(16.0, bands[Tiers.High].Score, 9);
        Assert.Equal(("High price", "高价位"), (bands[Tiers.High].LabelEn, bands[Tiers.High].LabelZh));
        Assert.Equal(1.0, bands[Tiers.Low].Score, 9);
    }

    [Fact]
    public void Build_ViewsCheapBagsOnly_LowTierFromViewsWithLowerConfidence()
    {
        var events = new[] { "b1", "b2", "b3" }.Select((b, i) => Event("v" + i, EventType.View, b, T0.AddHours(i))).ToList();

        var profile = Build(events, T0.AddDays(1));

        Assert.Equal(Tiers.Low, profile.Traits.PurchasingPowerTier);
        Assert.Equal(0.15, profile.Traits.PricePercentile!.Value, 12);
        var tag = Assert.Single(profile.Tags, t => t.Key == "price:budget");
        Assert.InRange(tag.Confidence, 0.2, 0.4);
        Assert.Null(profile.Traits.PriceSensitivity);
    }

    [Fact]
    public void Build_BrowsesDearBuysCheap_PriceSensitive()
    {
        var events = new List<StoredEvent>
        {
            Event("v8", EventType.View, "b8", T0),
            Event("v9", EventType.View, "b9", T0.AddHours(1)),
            Event("v10", EventType.View, "b10", T0.AddHours(2)),
            Event("p2", EventType.Purchase, "b2", T0.AddHours(3)),
            Event("p3", EventType.Purchase, "b3", T0.AddHours(4)),
            Event("p4", EventType.Purchase, "b4", T0.AddHours(5)),
        };

        var profile = Build(events, T0.AddDays(1));

        Assert.Equal(Tiers.Low, profile.Traits.PurchasingPowerTier);
        Assert.Equal(1.0, profile.Traits.PriceSensitivity!.Value, 12); // 2 × (0.85 − 0.25), clamped
        var tag = Assert.Single(profile.Tags, t => t.Key == "price:sensitive");
        Assert.Equal(("Price sensitive", "价格敏感"), (tag.LabelEn, tag.LabelZh));
        Assert.Equal(1.0, tag.Confidence, 12);
        Assert.Equal(["p4", "p3", "p2"], tag.EvidenceEventIds);
    }

    [Fact]
    public void Build_LoyalFrequentSpender_RfmScoresAndHighValueTag()
    {
        var events = Enumerable.Range(0, 4)
            .Select(i => Event("p" + i, EventType.Purchase, "b5", T0.AddDays(i * 5), value: 300))
            .ToList();

        var profile = Build(events, T0.AddDays(18));

        var rfm = profile.Traits.Rfm;
        Assert.Equal((3.0, 4L, 1200.0), (rfm.RecencyDays, rfm.Frequency, rfm.Monetary));
        Assert.Equal((5, 4, 4), (rfm.RecencyScore, rfm.FrequencyScore, rfm.MonetaryScore));
        var tag = Assert.Single(profile.Tags, t => t.Key == "value:high");
        Assert.Equal(("High value", "高价值"), (tag.LabelEn, tag.LabelZh));
        Assert.Equal(13 / 15.0, tag.Confidence, 12);
    }

    [Fact]
    public void Build_NightlyMobileUserInShopTimeZone_TimeAndDeviceTags()
    {
        // 15:30 UTC is 23:30 in UTC+8; weekdays only.
        var midnight = new DateTimeOffset(T0.UtcDateTime.Date, TimeSpan.Zero);
        var events = Enumerable.Range(0, 12)
            .Select(i => Event("n" + i, EventType.View, "k0", midnight.AddDays(i % 5).AddHours(15.5).AddMinutes(i), device: i < 11 ? "mobile" : "desktop", channel: "app"))
            .ToList();
        var options = new ProfileOptions { UtcOffset = TimeSpan.FromHours(8) };

        var profile = Build(events, T0.AddDays(6), options);

        Assert.Contains(profile.Tags, t => t.Key == "time:night_owl" && t.LabelZh == "夜猫子");
        Assert.DoesNotContain(profile.Tags, t => t.Key == "time:weekend");
        var mobile = Assert.Single(profile.Tags, t => t.Key == "device:mobile");
        Assert.Equal(("Mostly mobile", "移动端为主"), (mobile.LabelEn, mobile.LabelZh));
        Assert.Equal([15], profile.Traits.ActiveHours);
        Assert.Equal(1.0, profile.Traits.HourHistogram[15], 12);
        Assert.Equal(24, profile.Traits.HourHistogram.Count);
        Assert.Equal(7, profile.Traits.WeekdayHistogram.Count);
        Assert.Equal("mobile", profile.Traits.PreferredDevice);
        Assert.Equal("app", profile.Traits.PreferredChannel);
        Assert.Equal(5, profile.Traits.ActiveDays);

        var utc = Build(events, T0.AddDays(6));
        Assert.DoesNotContain(utc.Tags, t => t.Key == "time:night_owl");
    }

    [Fact]
    public void Build_ExcludedAndImpressionEvents_CountOnlyWhereTheyShould()
    {
        var events = new[]
        {
            Event("v", EventType.View, "k0", T0),
            Event("b", EventType.View, "l0", T0.AddMinutes(1), excluded: "burst"),
            Event("i", EventType.Impression, "l1", T0.AddMinutes(2)),
            Event("s", EventType.Search, null, T0.AddMinutes(3)),
        };

        var book = new ProfileBook(new ProfileOptions(), Catalog());
        book.Apply(events);
        var profile = book.Build("u1")!;

        Assert.Equal(4, profile.Version);
        Assert.Equal(3, profile.EventCount);
        Assert.Equal(T0.AddMinutes(3), profile.AsOf);
        Assert.Equal(new Dictionary<string, long> { ["view"] = 1, ["impression"] = 1, ["search"] = 1 }, profile.Traits.EventTypeCounts);
        Assert.Equal(["Home", "Home > Kitchen"], profile.Affinities.Categories.Select(a => a.Key));
        Assert.Equal(T0.AddMinutes(3), profile.Traits.LastSeen);
        Assert.Equal(2.0, profile.Traits.EventsPerActiveDay, 12);
    }

    [Fact]
    public void Build_SameEventsTwice_EqualProfiles()
    {
        var events = Enumerable.Range(0, 20).Select(i => Event("e" + i, (EventType)(i % 9), i % 9 == 2 ? null : "l" + (i % 6), T0.AddHours(i * 7))).ToList();

        var a = Build(events, T0.AddDays(10));
        var b = Build(events.AsEnumerable().Reverse(), T0.AddDays(10));

        ProfileAssert.Equivalent(a, b);
        Assert.Equal(a.UpdatedAt, events.Max(e => e.ReceivedAt));
    }

    [Fact]
    public void Build_DaysOutOfOrderOverLongSpan_ActiveDaysExact()
    {
        var days = new[] { 100, 0, 200, 0, 150, 100, 399, 3 };
        var events = days.Select((d, i) => Event("d" + i, EventType.View, "k0", T0.AddDays(d).AddHours(i))).ToList();

        var profile = Build(events, T0.AddDays(400));

        Assert.Equal(6, profile.Traits.ActiveDays); // 0, 3, 100, 150, 200, 399
        Assert.Equal(T0.AddHours(1), profile.Traits.FirstSeen);
        Assert.Equal(8 / 6.0, profile.Traits.EventsPerActiveDay, 12);
    }

    [Fact]
    public void Build_Profile_RoundTripsThroughPersonaJson()
    {
        var events = Enumerable.Range(0, 30)
            .Select(i => Event("e" + i, (EventType)(i % 9), i % 9 == 2 ? null : "b" + (1 + i % 10), T0.AddHours(i * 5), value: i % 9 == 6 ? 4 : null, device: "mobile"))
            .ToList();
        var profile = Build(events, T0.AddDays(7));

        var json = System.Text.Json.JsonSerializer.Serialize(profile, PersonaJson.Options);
        var back = System.Text.Json.JsonSerializer.Deserialize<Profile>(json, PersonaJson.Options)!;

        Assert.Contains("\"purchasing_power_tier\"", json);
        ProfileAssert.Equivalent(profile, back, 0);
    }

    [Fact]
    public void Options_Defaults_AreValid()
    {
        Assert.Empty(new ProfileOptions().Validate());
    }

    [Fact]
    public void Options_BrokenValues_ReportEachProblem()
    {
        var options = new ProfileOptions
        {
            HalfLifeDays = 0,
            EventWeights = new Dictionary<string, double> { ["teleport"] = 1, ["view"] = -1 },
            MonetaryThresholds = [5, 1, 2, 3],
        };

        Assert.Equal(4, options.Validate().Count);
    }
}
