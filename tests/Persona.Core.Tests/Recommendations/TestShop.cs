using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Ranking;
using Persona.Core.Retrieval;

namespace Persona.Core.Tests.Recommendations;

/// <summary>
/// A small shop wired the way the service wires it: four leaf categories of five items each (Chinese names on
/// the lipsticks), and users whose sequences make "nail polish after lipstick" a habit.
/// </summary>
internal sealed class TestShop
{
    public static readonly string[] Leaves = ["Lipstick", "Nail Polish", "Moisturizer", "Shampoo"];
    private static readonly string[][] Paths =
        [["Beauty", "Makeup", "Lipstick"], ["Beauty", "Makeup", "Nail Polish"], ["Beauty", "Skin Care", "Moisturizer"], ["Beauty", "Hair", "Shampoo"]];

    public static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    public ItemCatalog Catalog { get; } = new();
    public ItemPairs CoOccurrence { get; } = new(window: 3);
    public PopularityIndex Popularity { get; } = new(halfLifeDays: 30);
    private readonly Dictionary<string, ShopperSteps> _recent = new(StringComparer.Ordinal);
    public RecommendationOptions Options { get; } = new() { CandidatesPerSource = 50 };
    public Recommender Recommender { get; }
    private DateTimeOffset _clock = Start;

    public TestShop()
    {
        var items = new List<Item>();
        for (var c = 0; c < Paths.Length; c++)
        {
            for (var i = 0; i < 5; i++)
            {
                var attributes = new Dictionary<string, string>();
                if (c == 0)
                {
                    attributes["title_zh"] = $"口红{i}";
                    attributes["category_path_zh"] = "美妆 > 彩妆 > 口红";
                }
                items.Add(new Item
                {
                    Id = $"{Leaves[c].Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant()}-{i}",
                    Title = $"{Leaves[c]} {i}",
                    CategoryPath = Paths[c],
                    Brand = i % 2 == 0 ? "Acme" : "Zenith",
                    Price = 10 + i,
                    Attributes = attributes,
                });
            }
        }
        Catalog.Upsert(items);
        Recommender = new Recommender(Options, Catalog, () => CoOccurrence, Popularity);
    }

    public IEnumerable<CatalogEntry> Items => Catalog.Entries;

    /// <summary>Records an event exactly as the service does: the shopper's steps, the item pairs and popularity.</summary>
    public void Event(string userId, string itemId, EventType type = EventType.View)
    {
        _clock = _clock.AddMinutes(1);
        (_recent.TryGetValue(userId, out var steps) ? steps : _recent[userId] = new ShopperSteps(maxSteps: 20, maxSeen: 100)).Add(itemId, type, _clock);
        CoOccurrence.Observe(userId, itemId);
        var keys = Catalog.TryGet(itemId, out var entry) ? entry.CategoryKeys : [];
        Popularity.Add(itemId, keys, type == EventType.Purchase ? 3 : 1, _clock);
    }

    /// <summary>Twenty users who buy a lipstick then a nail polish; shampoo-0 is the overall best seller.</summary>
    public TestShop WithHabits()
    {
        for (var u = 0; u < 20; u++)
        {
            Event($"habit-{u}", $"lipstick-{u % 5}", EventType.Purchase);
            Event($"habit-{u}", $"nailpolish-{u % 5}", EventType.Purchase);
        }
        for (var u = 0; u < 30; u++) Event($"shampoo-fan-{u}", "shampoo-0", EventType.Purchase);
        return this;
    }

    public UserContext User(string userId, Affinities? affinities = null) =>
        _recent.TryGetValue(userId, out var steps)
            ? new(userId, steps.Recent(), steps.Seen(), affinities, Personalized: true)
            : new(userId, [], new HashSet<string>(), affinities, Personalized: true);

    public ModelView Model(CategoryTestModel? model = null)
    {
        model ??= new CategoryTestModel(Leaves);
        var index = new VectorIndex(model.Dimension);
        foreach (var e in Catalog.Entries)
            if (model.ItemVector(e.Item) is { } v) index.Upsert(e.Item.Id, v);
        return new ModelView(model, index);
    }
}
