using Persona.Abstractions;
using Persona.Core.Profiles;
using static Persona.Core.Tests.Profiles.ProfileTestData;

namespace Persona.Core.Tests.Profiles;

public class ProfileBookTests
{
    private static List<StoredEvent> ManyUsers(int users, int perUser)
    {
        var random = new Random(7);
        var items = Items().Select(i => i.Id).ToArray();
        var events = new List<StoredEvent>();
        for (var i = 0; i < users * perUser; i++)
        {
            var type = (EventType)random.Next(9);
            events.Add(Event(
                "e" + i, type, type == EventType.Search ? null : items[random.Next(items.Length)],
                T0.AddMinutes(random.Next(60 * 24 * 60)), user: "u" + random.Next(users),
                value: type == EventType.Rate ? random.Next(1, 6) : null, device: random.Next(3) == 0 ? "mobile" : "desktop"));
        }
        return events;
    }

    [Fact]
    public void Apply_ParallelBatches_SameProfilesAsSequential()
    {
        var events = ManyUsers(20, 40);
        var catalog = Catalog();
        var sequential = new ProfileBook(catalog: catalog);
        sequential.Apply(events);
        var parallel = new ProfileBook(catalog: catalog);

        Parallel.ForEach(events.Chunk(13), new ParallelOptions { MaxDegreeOfParallelism = 4 }, chunk => parallel.Apply(chunk));

        Assert.Equal(sequential.Count, parallel.Count);
        Assert.Equal(sequential.DataClock, parallel.DataClock);
        foreach (var user in sequential.Users)
            ProfileAssert.Equivalent(sequential.Build(user)!, parallel.Build(user)!);
    }

    [Fact]
    public void Apply_ReturnsTouchedUsersAndAdvancesClockAndVersion()
    {
        var book = new ProfileBook(catalog: Catalog());

        var touched = book.Apply([
            Event("a", EventType.View, "l0", T0.AddDays(2), user: "x"),
            Event("b", EventType.View, "l0", T0, user: "y"),
            Event("c", EventType.View, "l0", T0.AddDays(1), user: "x", excluded: "burst"),
        ]);

        Assert.Equal(["x", "y"], touched);
        Assert.Equal(T0.AddDays(2), book.DataClock);
        Assert.Equal(2, book.VersionOf("x"));
        Assert.Equal(1, book.VersionOf("y"));
        Assert.Equal(0, book.VersionOf("nobody"));
        Assert.Equal(2, book.Build("x")!.Version);
        Assert.Equal(T0.AddDays(2), book.Build("y")!.AsOf);
    }

    [Fact]
    public void TryGetState_ReturnsIndependentCopy()
    {
        var book = new ProfileBook(catalog: Catalog());
        book.Apply([Event("a", EventType.Purchase, "l0", T0)]);

        Assert.True(book.TryGetState("u1", out var copy));
        book.Apply([Event("b", EventType.Purchase, "l1", T0.AddDays(1))]);

        Assert.Equal(1, copy.Purchases);
        Assert.Equal(1, copy.AppliedEvents);
        Assert.Equal(2, book.VersionOf("u1"));
        Assert.False(book.TryGetState("nobody", out _));
    }

    [Fact]
    public void Remove_ForgetsUser()
    {
        var book = new ProfileBook(catalog: Catalog());
        book.Apply([Event("a", EventType.View, "l0", T0), Event("b", EventType.View, "l0", T0, user: "u2")]);

        Assert.True(book.Remove("u1"));
        Assert.False(book.Remove("u1"));

        Assert.Null(book.Build("u1"));
        Assert.Equal(["u2"], book.Users);
    }

    [Fact]
    public void Build_CatalogSwapped_LabelsFollowNewCatalog()
    {
        var book = new ProfileBook(catalog: Catalog());
        book.Apply([Event("a", EventType.View, "k0", T0)]);

        book.Catalog = book.Catalog.With(Item("k1", ["Home", "Kitchen"], "家居 > 厨房", null, null, 31));

        Assert.Equal("厨房", book.Build("u1")!.Affinities.Categories.Single(a => a.Key == "Home > Kitchen").LabelZh);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentException>(() => new ProfileBook(new ProfileOptions { HalfLifeDays = -1 }));
    }
}
