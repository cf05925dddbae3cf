using Persona.Abstractions;
using Persona.Core.Profiles;

namespace Persona.Core.Tests.Profiles;

/// <summary>A small bilingual catalog and an event factory for hand-checked profile tests.</summary>
internal static class ProfileTestData
{
    public static readonly DateTimeOffset T0 = new(2024, 3, 4, 12, 0, 0, TimeSpan.Zero); // a Monday

    private static int _sequence;

    /// <summary>
    /// Lipsticks l0..l5 (50..300), eyeliners e0..e1, bags b1..b10 (100..1000, brand Kai), pans k0..k1 (no
    /// Chinese names), a gadget g0 without category.
    /// </summary>
    public static CatalogSnapshot Catalog() => CatalogSnapshot.Create(Items());

    public static IEnumerable<Item> Items()
    {
        for (var i = 0; i < 6; i++)
            yield return Item("l" + i, ["Beauty", "Makeup", "Lipstick"], "美妆 > 彩妆 > 口红", "Rouge", "胭脂", 50 + 50 * i);
        for (var i = 0; i < 2; i++)
            yield return Item("e" + i, ["Beauty", "Makeup", "Eyeliner"], "美妆 > 彩妆 > 眼线", "Nova", null, 80 + 10 * i);
        for (var i = 1; i <= 10; i++)
            yield return Item("b" + i, ["Fashion", "Bags"], "服饰 > 箱包", "Kai", null, 100 * i);
        for (var i = 0; i < 2; i++)
            yield return Item("k" + i, ["Home", "Kitchen"], null, null, null, 30 + i);
        yield return Item("g0", [], null, null, null, 20);
    }

    public static Item Item(string id, string[] path, string? zh, string? brand, string? brandZh, double? price)
    {
        var attributes = new Dictionary<string, string>();
        if (zh is not null) attributes["category_path_zh"] = zh;
        if (brandZh is not null) attributes["brand_zh"] = brandZh;
        return new Item { Id = id, Title = id, CategoryPath = path, Brand = brand, Price = price, Attributes = attributes };
    }

    public static StoredEvent Event(
        string id, EventType type, string? item, DateTimeOffset at, string user = "u1", double? value = null,
        string? device = null, string? channel = null, string? excluded = null)
    {
        return new StoredEvent
        {
            Sequence = Interlocked.Increment(ref _sequence),
            Id = id,
            UserId = user,
            Type = type,
            ItemId = item,
            Query = type == EventType.Search ? "query" : null,
            Value = value,
            Timestamp = at,
            ReceivedAt = at.AddSeconds(1),
            Device = device,
            Channel = channel,
            ExcludedReason = excluded,
        };
    }

    public static Profile Build(IEnumerable<StoredEvent> events, DateTimeOffset asOf, ProfileOptions? options = null, CatalogSnapshot? catalog = null)
    {
        var book = new ProfileBook(options ?? new ProfileOptions(), catalog ?? Catalog());
        var list = events.ToList();
        book.Apply(list);
        return book.Build(list[0].UserId, asOf)!;
    }
}
