using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Features;
using Persona.Core.Ingestion;
using Persona.Core.Profiles;

namespace Persona.Core.Tests.Models;

/// <summary>A small demo shop (1,000 users) cut into a 14-day time split once for the model tests.</summary>
public sealed class SmallShopFixture
{
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(14);

    public SmallShopFixture()
    {
        Shop = new DemoShopGenerator(new DemoOptions { Users = 1000, Items = 1500 }).Generate();
        Catalog = CatalogSnapshot.Create(Shop.Items);
        var received = Shop.Options.End;
        Events = [.. Shop.Events.Select((e, i) => EventNormalizer.Normalize(e, received) with { Sequence = i + 1 })];
        End = Events.Max(e => e.Timestamp);
        var builder = new TimeSplitBuilder(Catalog, new ProfileOptions(), [End - 2 * Horizon, End - Horizon], Horizon);
        foreach (var e in Events) builder.Add(e);
        var splits = builder.Build();
        Train = splits[0];
        Test = splits[1];
        var all = new ProfileBook(catalog: Catalog);
        all.Apply(Events);
        Current = [.. all.Users.Order(StringComparer.Ordinal).Select(u => all.Build(u)!)];
    }

    public DemoShop Shop { get; }
    public CatalogSnapshot Catalog { get; }
    public IReadOnlyList<StoredEvent> Events { get; }
    public DateTimeOffset End { get; }
    public SplitSnapshot Train { get; }
    public SplitSnapshot Test { get; }
    /// <summary>Profiles built from every event.</summary>
    public IReadOnlyList<Profile> Current { get; }
}

[CollectionDefinition(Name)]
public sealed class SmallShopCollection : ICollectionFixture<SmallShopFixture>
{
    public const string Name = "Small demo shop";
}
