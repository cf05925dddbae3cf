using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Core.Profiles;

namespace Persona.Core.Tests.Profiles;

/// <summary>
/// The acceptance property: profiles built incrementally in arrival order (one by one, or in batches)
/// equal the profiles rebuilt from the same stored events in timestamp order or any other order.
/// </summary>
public class ProfileOrderIndependenceTests
{
    private static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly (string[] Path, string? Zh)[] Paths =
    [
        (["Beauty", "Makeup", "Lipstick"], "美妆 > 彩妆 > 口红"),
        (["Beauty", "Makeup", "Eyeliner"], "美妆 > 彩妆 > 眼线"),
        (["Beauty", "Skincare"], "美妆 > 护肤"),
        (["Home", "Kitchen"], null),
        (["Home"], null),
        ([], null),
    ];

    private static readonly string?[] Brands = ["Rouge", "Nova", "Kai", null];
    private static readonly string?[] Devices = ["mobile", "desktop", "ios", "Tablet", null];
    private static readonly string?[] Channels = ["app", "web", null];

    private sealed record ItemSpec(int Path, int Brand, int PriceCents);

    private sealed record EventSpec(
        int User, int Type, int Item, int Minute, int Millis, int Rating, int Value, int Device, int Channel,
        int ExplicitId, int Copies, int Burst, bool NoTimestamp);

    private sealed record Scenario(ItemSpec[] Items, EventSpec[] Events, int[] ArrivalKeys, int[] PermutationKeys, int[] BatchSizes)
    {
        public override string ToString() => $"{Items.Length} items, {Events.Length} event specs";
    }

    private static readonly Gen<ItemSpec> ItemGen =
        from path in Gen.Choose(0, Paths.Length - 1)
        from brand in Gen.Choose(0, Brands.Length - 1)
        from price in Gen.Frequency((9, Gen.Choose(100, 100_000)), (1, Gen.Constant(-1)))
        select new ItemSpec(path, brand, price);

    private static readonly Gen<EventSpec> EventGen =
        from user in Gen.Choose(0, 3)
        from type in Gen.Choose(0, 8)
        from item in Gen.Choose(0, 8)
        from minute in Gen.Frequency((3, Gen.Choose(0, 90 * 24 * 60 - 1)), (1, Gen.Choose(80 * 24 * 60, 90 * 24 * 60 - 1)))
        from millis in Gen.Choose(0, 59_999)
        from rating in Gen.Choose(1, 5)
        from value in Gen.Frequency((1, Gen.Constant(-1)), (2, Gen.Choose(0, 2000)))
        from device in Gen.Choose(0, Devices.Length - 1)
        from channel in Gen.Choose(0, Channels.Length - 1)
        from explicitId in Gen.Frequency((5, Gen.Constant(-1)), (1, Gen.Choose(0, 30)))
        from copies in Gen.Frequency((6, Gen.Constant(1)), (1, Gen.Choose(2, 3)))
        from burst in Gen.Frequency((12, Gen.Constant(0)), (1, Gen.Choose(2, 9)))
        from noTimestamp in Gen.Frequency((30, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new EventSpec(user, type, item, minute, millis, rating, value, device, channel, explicitId, copies, burst, noTimestamp);

    private static readonly Gen<Scenario> ScenarioGen =
        from itemCount in Gen.Choose(3, 8)
        from items in Gen.ArrayOf(ItemGen, itemCount)
        from eventCount in Gen.Choose(1, 150)
        from events in Gen.ArrayOf(EventGen, eventCount)
        from arrival in Gen.ArrayOf(Gen.Choose(0, int.MaxValue - 1), eventCount * 16)
        from permutation in Gen.ArrayOf(Gen.Choose(0, int.MaxValue - 1), eventCount * 16)
        from batches in Gen.ArrayOf(Gen.Choose(1, 40), 64)
        select new Scenario(items, events, arrival, permutation, batches);

    [Fact]
    public void Build_ArrivalOrderVersusRebuild_SameProfiles()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var property = Prop.ForAll(ScenarioGen.ToArbitrary(), scenario => Check(scenario, seen));

        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(120), property);

        // The generator must exercise the interesting parts, or the property proves little.
        foreach (var kind in new[] { "category", "brand", "price", "lifecycle", "time", "device", "burst", "duplicate", "affinity" })
            Assert.True(seen.GetValueOrDefault(kind) > 0, $"no scenario produced any '{kind}'");
    }

    private static void Check(Scenario scenario, Dictionary<string, int> seen)
    {
        var catalog = BuildCatalog(scenario.Items);
        var stored = Ingest(scenario, catalog, seen);
        var options = new ProfileOptions();

        var oneByOne = new ProfileBook(options, catalog);
        foreach (var e in stored) oneByOne.Apply(e, catalog);

        var batched = new ProfileBook(options, catalog);
        var offset = 0;
        for (var b = 0; offset < stored.Count; b++)
        {
            var size = scenario.BatchSizes[b % scenario.BatchSizes.Length];
            batched.Apply(stored.Skip(offset).Take(size).ToList());
            offset += size;
        }

        var rebuild = new ProfileBook(options, catalog);
        rebuild.Apply(stored.OrderBy(e => e.Timestamp).ThenBy(e => e.Sequence).ToList());

        var permuted = new ProfileBook(options, catalog);
        permuted.Apply(stored.Select((e, i) => (e, k: scenario.PermutationKeys[i % scenario.PermutationKeys.Length] ^ i))
            .OrderBy(p => p.k).Select(p => p.e).ToList());

        Assert.Equal(rebuild.Users.Order(StringComparer.Ordinal), oneByOne.Users.Order(StringComparer.Ordinal));
        Assert.Equal(rebuild.DataClock, oneByOne.DataClock);
        foreach (var user in rebuild.Users)
        {
            foreach (var asOf in new[] { rebuild.DataClock!.Value, rebuild.DataClock.Value.AddDays(20) })
            {
                var expected = rebuild.Build(user, asOf)!;
                ProfileAssert.Equivalent(expected, oneByOne.Build(user, asOf)!);
                ProfileAssert.Equivalent(expected, batched.Build(user, asOf)!);
                ProfileAssert.Equivalent(expected, permuted.Build(user, asOf)!);
                foreach (var tag in expected.Tags) Count(seen, tag.Kind);
                if (expected.Affinities.Categories.Count > 0) Count(seen, "affinity");
            }
        }
    }

    /// <summary>
    /// Restart from a checkpoint: states written after a prefix of the log (some shoppers further than the checkpoint,
    /// as when they were written back later), decoded, then the log replayed from the checkpoint, equal a full replay.
    /// </summary>
    [Fact]
    public void Restore_CheckpointPlusTail_EqualsFullReplay()
    {
        var property = Prop.ForAll(ScenarioGen.ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), (scenario, cut) =>
        {
            var catalog = BuildCatalog(scenario.Items);
            var stored = Ingest(scenario, catalog, []);
            var options = new ProfileOptions();
            var full = new ProfileBook(options, catalog);
            full.Apply(stored);

            var written = stored.Count * cut / 1000;
            var checkpoint = written * scenario.BatchSizes[0] / 40;
            var before = new ProfileBook(options, catalog);
            before.Apply(stored.Take(written).ToList());
            var restarted = new ProfileBook(options, catalog);
            foreach (var user in before.Users)
            {
                var record = before.Encode(user)!.Value.Record;
                var state = ProfileState.Decode(record, options);
                Assert.NotNull(state);
                Assert.Equal(record, state.Encode());
                Assert.True(restarted.Restore(user, state));
            }
            restarted.ApplyTail(stored.Skip(checkpoint).ToList(), catalog);

            Assert.Equal(full.Users.Order(StringComparer.Ordinal), restarted.Users.Order(StringComparer.Ordinal));
            Assert.Equal(full.DataClock, restarted.DataClock);
            foreach (var user in full.Users)
            {
                Assert.Equal(full.VersionOf(user), restarted.VersionOf(user));
                // The recent steps travel in the record too and follow the log order on both sides.
                var (steps, seen) = full.RecentSteps(user, withSeen: true);
                var (restartedSteps, restartedSeen) = restarted.RecentSteps(user, withSeen: true);
                Assert.Equal(steps, restartedSteps);
                Assert.True(seen.SetEquals(restartedSeen));
                foreach (var asOf in new[] { full.DataClock!.Value, full.DataClock.Value.AddDays(20) })
                    ProfileAssert.Equivalent(full.Build(user, asOf)!, restarted.Build(user, asOf)!);
            }
        });
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), property);
    }

    [Fact]
    public void Decode_DamagedOrForeignRecord_IsRefusedNotMisread()
    {
        var catalog = BuildCatalog([new ItemSpec(0, 0, 1999), new ItemSpec(2, 1, 5000)]);
        var book = new ProfileBook(new ProfileOptions(), catalog);
        book.Apply([
            new StoredEvent { Id = "e1", Sequence = 1, UserId = "u1", Type = EventType.Purchase, ItemId = "i0", Timestamp = Start, Device = "mobile" },
            new StoredEvent { Id = "e2", Sequence = 2, UserId = "u1", Type = EventType.View, ItemId = "i1", Timestamp = Start.AddHours(3), Channel = "app" },
        ]);
        var record = book.Encode("u1")!.Value.Record;
        var options = new ProfileOptions();
        Assert.NotNull(ProfileState.Decode(record, options));

        for (var i = 0; i < record.Length; i++)
        {
            var flipped = (byte[])record.Clone();
            flipped[i] ^= 0x10;
            Assert.Null(ProfileState.Decode(flipped, options));
        }
        Assert.Null(ProfileState.Decode(record[..^1], options));
        Assert.Null(ProfileState.Decode([], options));
        Assert.Null(ProfileState.Decode(null, options));
        // A record with more evidence than the options allow does not fit them.
        Assert.Null(ProfileState.Decode(record, new ProfileOptions { MaxEvidence = 1 }));
        Assert.NotEqual(ProfileState.OptionsFingerprint(options), ProfileState.OptionsFingerprint(new ProfileOptions { HalfLifeDays = 7 }));
        Assert.Equal(ProfileState.OptionsFingerprint(options), ProfileState.OptionsFingerprint(new ProfileOptions()));
    }

    private static CatalogSnapshot BuildCatalog(ItemSpec[] specs) =>
        CatalogSnapshot.Create(specs.Select((s, i) =>
        {
            var (path, zh) = Paths[s.Path];
            var brand = Brands[s.Brand];
            var attributes = new Dictionary<string, string>();
            if (zh is not null) attributes["category_path_zh"] = zh;
            if (brand == "Rouge") attributes["brand_zh"] = "胭脂";
            return new Item
            {
                Id = "i" + i,
                Title = "item " + i,
                CategoryPath = path,
                Brand = brand,
                Price = s.PriceCents < 0 ? null : s.PriceCents / 100.0,
                Attributes = attributes,
            };
        }));

    /// <summary>Arrival order → normalise → burst detector → idempotent "store" assigning sequences.</summary>
    private static List<StoredEvent> Ingest(Scenario scenario, CatalogSnapshot catalog, Dictionary<string, int> seen)
    {
        var sent = new List<Event>();
        foreach (var s in scenario.Events)
        {
            var type = (EventType)s.Type;
            var t = Start.AddMinutes(s.Minute).AddMilliseconds(s.Millis);
            var e = new Event
            {
                Id = s.ExplicitId < 0 ? null : "x" + s.ExplicitId,
                UserId = "u" + s.User,
                Type = type,
                ItemId = type == EventType.Search ? null : s.Item < catalog.Count ? "i" + s.Item : "ghost",
                Query = type == EventType.Search ? "query " + s.Item : null,
                Value = type == EventType.Rate ? s.Rating : s.Value < 0 ? null : s.Value,
                Timestamp = s.NoTimestamp ? null : t,
                SessionId = "s" + (s.Minute / 30),
                Device = Devices[s.Device],
                Channel = Channels[s.Channel],
            };
            for (var c = 0; c < s.Copies; c++) sent.Add(e);
            // A bot-like burst: many distinct events within the same minute.
            for (var b = 0; b < s.Burst; b++)
                sent.Add(e with { Id = null, Timestamp = t.AddMilliseconds(b), SessionId = "burst" + b });
        }
        var arrival = sent.Select((e, i) => (e, k: scenario.ArrivalKeys[i % scenario.ArrivalKeys.Length] ^ i))
            .OrderBy(p => p.k).Select(p => p.e).ToList();

        var detector = new BurstDetector(4, TimeSpan.FromHours(2));
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var stored = new List<StoredEvent>();
        var received = Start.AddDays(91);
        for (var i = 0; i < arrival.Count; i++)
        {
            var e = detector.Apply(EventNormalizer.Normalize(arrival[i], received.AddSeconds(i)));
            if (!ids.Add(e.Id))
            {
                Count(seen, "duplicate");
                continue;
            }
            if (e.ExcludedReason is not null) Count(seen, "burst");
            stored.Add(e with { Sequence = stored.Count + 1 });
        }
        return stored;
    }

    private static void Count(Dictionary<string, int> seen, string kind) =>
        seen[kind] = seen.GetValueOrDefault(kind) + 1;
}
