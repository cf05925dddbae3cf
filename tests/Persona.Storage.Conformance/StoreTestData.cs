using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Storage.Conformance;

/// <summary>Builders for store tests: every optional field filled so round trips check all of them.</summary>
public static class StoreTestData
{
    public static readonly DateTimeOffset BaseTime = new(2025, 3, 14, 9, 26, 53, 589, TimeSpan.Zero);

    public static StoredEvent Event(string id, string userId = "u1", int minute = 0, EventType type = EventType.View) => new()
    {
        Id = id,
        UserId = userId,
        Type = type,
        ItemId = type == EventType.Search ? null : $"item-{id}",
        Query = type == EventType.Search ? $"口红 lipstick {id}" : null,
        Value = type == EventType.Purchase ? 199.5 : null,
        Timestamp = BaseTime.AddMinutes(minute),
        ReceivedAt = BaseTime.AddMinutes(minute).AddSeconds(2),
        SessionId = $"s-{userId}",
        Device = "mobile",
        Channel = "app",
    };

    public static List<StoredEvent> Events(string prefix, int count, string userId = "u1") =>
        Enumerable.Range(0, count).Select(i => Event($"{prefix}-{i}", userId, i)).ToList();

    public static Item Item(string id, double price = 129.0) => new()
    {
        Id = id,
        Title = $"Silk lipstick {id}",
        Description = "Long-lasting matte finish, 丝绒哑光",
        CategoryPath = ["Beauty", "Makeup", "Lipstick"],
        Brand = "Rouge",
        Price = price,
        Currency = "CNY",
        Attributes = new Dictionary<string, string>
        {
            ["title_zh"] = $"丝绒口红 {id}",
            ["category_path_zh"] = "美妆 > 彩妆 > 口红",
            ["color"] = "ruby",
        },
        Available = false,
        CreatedAt = new DateTimeOffset(2024, 11, 1, 8, 0, 0, 123, TimeSpan.FromHours(8)).AddTicks(4567),
        UpdatedAt = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(-5)),
    };

    public static User User(string id, bool marketing = false) => new()
    {
        Id = id,
        AgeBand = "25-34",
        Gender = "f",
        Region = "上海",
        SignupAt = new DateTimeOffset(2023, 6, 7, 10, 11, 12, 13, TimeSpan.FromHours(8)),
        Attributes = new Dictionary<string, string> { ["vip"] = "gold", ["城市"] = "上海" },
        Consent = new Consent { Personalization = true, Marketing = marketing },
    };

    public static Profile Profile(string userId, long version, string lifecycle = LifecycleStages.Active) => new()
    {
        UserId = userId,
        Version = version,
        UpdatedAt = BaseTime.AddHours(version),
        AsOf = BaseTime,
        EventCount = 42 + version,
        Traits = new Traits
        {
            FirstSeen = BaseTime.AddDays(-90),
            LastSeen = BaseTime.AddDays(-1),
            LastPurchase = BaseTime.AddDays(-3),
            Rfm = new Rfm(3.25, 4, 812.4, 5, 3, 4),
            EventsPerActiveDay = 6.5,
            ActiveDays = 12,
            ActivityLevel = Tiers.High,
            Lifecycle = lifecycle,
            PurchasingPowerTier = Tiers.Mid,
            PricePercentile = 0.55,
            PriceSensitivity = 0.1,
            HourHistogram = Enumerable.Range(0, 24).Select(h => h / 276.0).ToArray(),
            WeekdayHistogram = [0.1, 0.2, 0.1, 0.1, 0.2, 0.2, 0.1],
            ActiveHours = [21, 22, 12],
            ActiveWeekdays = [DayOfWeek.Friday, DayOfWeek.Saturday],
            PreferredDevice = "mobile",
            PreferredChannel = "app",
            EventTypeCounts = new Dictionary<string, long> { ["view"] = 30, ["purchase"] = 4 },
        },
        Affinities = new Affinities
        {
            Categories = [new Affinity("Beauty", "Beauty", "美妆", 1, 7.5, 0.8)],
            Brands = [new Affinity("Rouge", "Rouge", "Rouge", 1, 3.0, 1.0)],
            PriceBands = [new Affinity("100-200", "CNY 100-200", "100-200元", 1, 2.0, 1.0)],
        },
        Tags =
        [
            new Tag
            {
                Key = "category:Beauty", Kind = "category", LabelEn = "Beauty lover", LabelZh = "美妆达人",
                Confidence = 0.9, EvidenceEventIds = ["e1", "e2"],
            },
        ],
        Embedding = [0.125f, -1.5f, 3.1415927f, float.Epsilon],
        EmbeddingModelVersion = "seq-v3",
        Predictions = new Predictions
        {
            ModelVersion = "prop-v1",
            ComputedAt = BaseTime,
            PurchasePropensity = 0.37,
            ChurnRisk = 0.12,
            CategoryPropensity = new Dictionary<string, double> { ["Beauty"] = 0.6 },
            NextCategories = [new ScoredKey("Beauty > Makeup", 0.4)],
        },
        Segment = new SegmentMembership("seg-2", "Night-owl beauty buyers", "夜猫子美妆买家", 0.73),
    };

    /// <summary>The canonical JSON of a record: equal JSON means every serialised field round-tripped.</summary>
    public static string Json<T>(T value) => JsonSerializer.Serialize(value, PersonaJson.Options);
}
