using Persona.Abstractions;
using Persona.Core.Profiles;
using static Persona.Core.Tests.Profiles.ProfileTestData;

namespace Persona.Core.Tests.Profiles;

/// <summary>
/// The shop clock (issue 13, item 2): a history that ends on one day, then one live event weeks later. The live event
/// may change its own shopper's traits and nobody else's, and removing that shopper puts the clock back.
/// </summary>
public class ShopClockTests
{
    private static readonly DateTimeOffset HistoryEnd = T0.AddDays(90);

    /// <summary>60 shoppers: 40 active up to the last hours of the history, 20 silent for its last 45 days.</summary>
    private static List<StoredEvent> History()
    {
        var random = new Random(3);
        var events = new List<StoredEvent>();
        for (var u = 0; u < 60; u++)
        {
            var last = u < 40 ? HistoryEnd.AddHours(-1 - random.Next(48)) : HistoryEnd.AddDays(-45 - random.Next(10));
            for (var d = 0; d < 40; d += 2)
                events.Add(Event($"h{u}-{d}", d % 6 == 0 ? EventType.Purchase : EventType.View, "l" + (u % 6), last.AddDays(-d), user: $"s{u:00}"));
        }
        return events;
    }

    private static Dictionary<string, (string Lifecycle, string Activity, string Tags)> Traits(ProfileBook book) =>
        book.Users.Where(u => u != "live").ToDictionary(u => u, u =>
        {
            var p = book.Build(u)!;
            return (p.Traits.Lifecycle, p.Traits.ActivityLevel, string.Join(",", p.Tags.Select(t => t.Key).Order(StringComparer.Ordinal)));
        }, StringComparer.Ordinal);

    [Fact]
    public void Apply_OneEventFarAfterTheHistory_ChangesOnlyItsOwnShoppersTraits()
    {
        var book = new ProfileBook(catalog: Catalog());
        book.Apply(History());
        var before = Traits(book);
        var clockBefore = book.DataClock!.Value;
        Assert.Equal(20, before.Values.Count(t => t.Lifecycle == LifecycleStages.Churned));

        // A live event 35 days after the history, for a shopper who had churned.
        var live = HistoryEnd.AddDays(35);
        book.Apply([Event("live-1", EventType.View, "l0", live, user: "s50")]);

        var after = Traits(book);
        foreach (var (user, traits) in before.Where(b => b.Key != "s50"))
            Assert.Equal(traits, after[user]);
        Assert.Equal(19, after.Values.Count(t => t.Lifecycle == LifecycleStages.Churned));
        // The clock stays where the other shoppers are; the live shopper is evaluated as of their own event.
        Assert.InRange(book.DataClock!.Value, clockBefore, HistoryEnd);
        var own = book.Build("s50")!;
        Assert.Equal(live, own.AsOf);
        Assert.Equal(live, own.Traits.LastSeen);
        Assert.NotEqual(LifecycleStages.Churned, own.Traits.Lifecycle);
    }

    [Fact]
    public void Apply_NewShopperWithOneEventFarAfterTheHistory_OthersKeepTheirTraits()
    {
        var book = new ProfileBook(catalog: Catalog());
        book.Apply(History());
        var before = Traits(book);

        book.Apply([Event("live-2", EventType.View, "l1", HistoryEnd.AddDays(35), user: "live")]);

        Assert.Equal(before, Traits(book));
        Assert.Equal(HistoryEnd.AddDays(35), book.Build("live")!.AsOf);
    }

    [Fact]
    public void Remove_ShopperWhoMovedTheClock_PutsTheClockBack()
    {
        // Three shoppers: the quorum is one shopper, so the newest event sets the clock.
        var book = new ProfileBook(catalog: Catalog());
        book.Apply([
            Event("a", EventType.View, "l0", T0, user: "x"),
            Event("b", EventType.View, "l0", T0.AddDays(1), user: "y"),
            Event("c", EventType.View, "l0", T0.AddDays(2), user: "z"),
        ]);
        book.Apply([Event("d", EventType.View, "l0", T0.AddDays(60), user: "late")]);
        Assert.Equal(T0.AddDays(60), book.DataClock);

        book.Remove("late");

        Assert.Equal(T0.AddDays(2), book.DataClock);
        Assert.Equal(LifecycleStages.New, book.Build("x")!.Traits.Lifecycle);
    }

    [Fact]
    public void DataClock_IsTheQuorumthNewestShopperTime_AndIndependentOfOrder()
    {
        var events = History();
        var book = new ProfileBook(new ProfileOptions { ClockQuorum = 5 }, Catalog());
        book.Apply(events);
        var shuffled = new ProfileBook(new ProfileOptions { ClockQuorum = 5 }, Catalog());
        foreach (var chunk in events.OrderBy(e => e.Id.GetHashCode(StringComparison.Ordinal)).Chunk(7)) shuffled.Apply(chunk);

        var expected = events.GroupBy(e => e.UserId).Select(g => g.Max(e => e.Timestamp)).OrderDescending().ElementAt(4);
        Assert.Equal(expected, book.DataClock);
        Assert.Equal(expected, shuffled.DataClock);
    }
}
