using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using static Persona.Core.Tests.Profiles.ProfileTestData;

namespace Persona.Core.Tests.Profiles;

/// <summary>
/// Hot and cold shoppers in <see cref="ProfileBook"/> (docs/state.md): a state stored as it is may leave memory under the
/// budget, and reading it back through the loader gives exactly what the hot state gives.
/// </summary>
public class ProfileBookColdTests
{
    /// <summary>The store's shopper records, in memory: what the engine's loader reads from SQLite.</summary>
    private sealed class RecordShelf(ProfileOptions options) : IColdStateLoader
    {
        private readonly ConcurrentDictionary<string, byte[]> _records = new(StringComparer.Ordinal);

        public int Loads;

        public ProfileState Load(string userId, out bool stored)
        {
            Interlocked.Increment(ref Loads);
            stored = true;
            return ProfileState.Decode(_records[userId], options) ?? throw new InvalidOperationException("damaged record");
        }

        public byte[] this[string userId] => _records[userId];

        /// <summary>What a checkpoint does: every hot state written, then marked stored.</summary>
        public void StoreAll(ProfileBook book)
        {
            foreach (var user in book.Users)
            {
                if (book.Encode(user) is not { } encoded) continue;
                _records[user] = encoded.Record;
                book.MarkStored(user, encoded.Version);
            }
        }
    }

    private static List<StoredEvent> History(int seed, int users, int count, string idPrefix = "e")
    {
        var random = new Random(seed);
        var items = Items().Select(i => i.Id).ToArray();
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var type = (EventType)random.Next(9);
            return Event(
                $"{idPrefix}{seed}-{i}", type, type == EventType.Search ? null : items[random.Next(items.Length)],
                T0.AddMinutes(random.Next(60 * 24 * 90)), user: "u" + random.Next(users),
                value: type == EventType.Rate ? random.Next(1, 6) : null, device: random.Next(3) == 0 ? "mobile" : "desktop") with { Sequence = i + 1 };
        })];
    }

    private static string Describe(ProfileBook book, string user) =>
        Json(book.Build(user)) + "/" + book.VersionOf(user);

    private static string Json(Profile? profile) => System.Text.Json.JsonSerializer.Serialize(profile, PersonaJson.Options);

    [Fact]
    public void RandomHistories_ReadThroughTheColdPath_EqualAnAllHotBook()
    {
        var evictions = 0L;
        var loads = 0L;
        var prop = Prop.ForAll(Arb.From(Gen.Choose(1, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            var catalog = Catalog();
            var options = new ProfileOptions();
            var shelf = new RecordShelf(options);
            // Room for about three small states: most shoppers go cold once stored.
            var cold = new ProfileBook(options, catalog, shelf, hotBudgetBytes: 8_000);
            var hot = new ProfileBook(options, catalog);
            var events = History(seed, users: 3 + random.Next(12), count: 20 + random.Next(200));
            foreach (var batch in events.Chunk(1 + random.Next(40)))
            {
                cold.Apply(batch);
                hot.Apply(batch);
                if (random.Next(2) == 0)
                {
                    shelf.StoreAll(cold);
                    cold.Trim();
                }
                // A read between batches, of anyone: cold ones load and the budget pushes others out.
                var someone = "u" + random.Next(16);
                if (Describe(cold, someone) != Describe(hot, someone)) return false;
            }
            shelf.StoreAll(cold);
            cold.Trim();
            evictions += cold.ColdTraffic.Evictions;
            loads += cold.ColdTraffic.Loads;
            return cold.Count == hot.Count && cold.DataClock == hot.DataClock
                && hot.Users.Order(StringComparer.Ordinal).All(user => Describe(cold, user) == Describe(hot, user));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), prop);
        Assert.True(evictions > 100 && loads > 100, $"the cold path was hardly used: {evictions} evictions, {loads} loads");
    }

    [Fact]
    public void ChangedStates_AreNeverDropped_OnlyStoredOnes()
    {
        var options = new ProfileOptions();
        var shelf = new RecordShelf(options);
        var book = new ProfileBook(options, Catalog(), shelf, hotBudgetBytes: 4_000);
        book.Apply(History(5, users: 10, count: 200));

        book.Trim();
        Assert.Equal(0, book.ColdTraffic.Evictions);
        Assert.True(book.OverBudget);

        shelf.StoreAll(book);
        book.Trim();
        Assert.True(book.ColdTraffic.Evictions >= 8, $"{book.ColdTraffic.Evictions} evictions");
        Assert.True(book.HotBytes <= 4_000, $"{book.HotBytes} hot bytes");
        Assert.Equal(10, book.Count);
    }

    [Fact]
    public void Reads_NeverEvict_AColdShopperReadWhenTheBudgetIsFullIsAnsweredFromACopy_AndAWriteStillHoldsIt()
    {
        var options = new ProfileOptions();
        var shelf = new RecordShelf(options);
        var book = new ProfileBook(options, Catalog(), shelf, hotBudgetBytes: 6_000);
        var everyone = new ProfileBook(options, Catalog());
        var events = History(7, users: 12, count: 300);
        book.Apply(events);
        everyone.Apply(events);
        shelf.StoreAll(book);
        book.Trim();
        var (loads, evictions) = book.ColdTraffic;
        Assert.True(evictions >= 6, $"{evictions} evictions: too few shoppers went cold to test reads of them");

        for (var round = 0; round < 3; round++)
            foreach (var user in everyone.Users)
                Assert.Equal(Describe(everyone, user), Describe(book, user));
        Assert.Equal(evictions, book.ColdTraffic.Evictions);
        Assert.True(book.HotBytes <= 6_000 / 10 * 9, $"{book.HotBytes} hot bytes");
        // The cold ones were read back every round: nothing was held for them.
        var perRound = (book.ColdTraffic.Loads - loads) / 3;
        Assert.True(perRound >= 4, $"{perRound} loads a round");

        // A write to a cold shopper holds its state: the reads after it load nothing.
        var coldUser = everyone.Users.First(user => { var before = book.ColdTraffic.Loads; book.VersionOf(user); return book.ColdTraffic.Loads > before; });
        book.Apply([Event("late", EventType.View, "l0", T0.AddDays(100), user: coldUser) with { Sequence = events.Count + 1 }]);
        var afterWrite = book.ColdTraffic.Loads;
        book.Build(coldUser);
        book.VersionOf(coldUser);
        Assert.Equal(afterWrite, book.ColdTraffic.Loads);
    }

    [Fact]
    public void BuildWithSteps_EqualsBuildAndRecentSteps_AndLoadsAColdShopperOnce()
    {
        var options = new ProfileOptions();
        var shelf = new RecordShelf(options);
        var book = new ProfileBook(options, Catalog(), shelf, hotBudgetBytes: 6_000);
        var events = History(11, users: 12, count: 300);
        book.Apply(events);
        shelf.StoreAll(book);
        book.Trim();
        var stepsOf = (BehaviorStep s) => (s.ItemId, s.Type, s.Timestamp);

        foreach (var user in book.Users.Order(StringComparer.Ordinal))
        {
            var loads = book.ColdTraffic.Loads;
            var (profile, steps, seen) = book.BuildWithSteps(user, maxSteps: 20, withSeen: true);
            var once = book.ColdTraffic.Loads - loads;
            Assert.InRange(once, 0, 1);
            Assert.Equal(Json(book.Build(user)), Json(profile));
            var (expectedSteps, expectedSeen) = book.RecentSteps(user, 20, withSeen: true);
            Assert.Equal(expectedSteps.Select(stepsOf), steps.Select(stepsOf));
            Assert.Equal(expectedSeen.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        }
        var (none, noSteps, noneSeen) = book.BuildWithSteps("nobody", 5, withSeen: true);
        Assert.Null(none);
        Assert.Empty(noSteps);
        Assert.Empty(noneSeen);
    }

    [Fact]
    public void RestoreCold_LoadsOnFirstTouch_AndRemoveForgetsItsClockTime()
    {
        var options = new ProfileOptions();
        var catalog = Catalog();
        var source = new ProfileBook(options, catalog);
        source.Apply([
            Event("a", EventType.View, "l0", T0.AddDays(3), user: "x") with { Sequence = 1 },
            Event("b", EventType.Purchase, "l1", T0, user: "y") with { Sequence = 2 },
        ]);
        var shelf = new RecordShelf(options);
        shelf.StoreAll(source);
        var book = new ProfileBook(options, catalog, shelf, hotBudgetBytes: 1 << 20);

        Assert.True(ProfileState.TryPeek(shelf["x"], out var through, out var latest));
        Assert.Equal(1, through);
        Assert.True(book.RestoreCold("x", latest));
        Assert.True(ProfileState.TryPeek(shelf["y"], out _, out latest));
        Assert.True(book.RestoreCold("y", latest));
        Assert.False(book.RestoreCold("y", latest));

        Assert.Equal(T0.AddDays(3), book.DataClock);
        Assert.Equal(0, shelf.Loads);
        Assert.Equal(Json(source.Build("y")), Json(book.Build("y")));
        Assert.Equal(1, shelf.Loads);
        Assert.True(book.Remove("x"));
        Assert.Equal(1, shelf.Loads);
        Assert.Equal(T0, book.DataClock);
    }

    [Fact]
    public void TryPeek_RefusesADamagedRecord()
    {
        var book = new ProfileBook(catalog: Catalog());
        book.Apply([Event("a", EventType.View, "l0", T0, user: "x") with { Sequence = 4 }]);
        var record = book.Encode("x")!.Value.Record;
        record[^12] ^= 0x40;
        Assert.False(ProfileState.TryPeek(record, out _, out _));
    }

    /// <summary>
    /// The budget counts <see cref="ProfileState.EstimatedBytes"/>: it must track what a state really holds, short event ids or
    /// long, and not fall below it (an id shared by several evidence lists is counted in each, so it may lie above).
    /// </summary>
    [Theory]
    [InlineData("e")]
    [InlineData("tb-4829131-2200153-pv-1511544070-")]
    public void EstimatedBytes_TracksTheHeapOfDecodedStates(string idPrefix)
    {
        var options = new ProfileOptions();
        var book = new ProfileBook(options, Catalog());
        book.Apply(History(11, users: 150, count: 12_000, idPrefix));
        var records = book.Users.Select(u => book.Encode(u)!.Value.Record).ToList();
        long estimated = 0, allocated = 0;
        foreach (var record in records)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var state = ProfileState.Decode(record, options)!;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            estimated += state.EstimatedBytes();
        }
        var ratio = (double)estimated / allocated;
        Assert.True(ratio is > 0.9 and < 1.5, $"estimated {estimated / records.Count} bytes per state, decoding allocated {allocated / records.Count}");
    }
}
