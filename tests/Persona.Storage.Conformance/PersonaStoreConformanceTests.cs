using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using static Persona.Storage.Conformance.StoreTestData;

namespace Persona.Storage.Conformance;

/// <summary>
/// The contract every <see cref="IPersonaStore"/> provider must meet. A provider's test class derives from
/// this and implements <see cref="CreateStoreAsync"/>; xUnit creates one instance per test, so each test gets
/// its own storage.
/// </summary>
public abstract class PersonaStoreConformanceTests : IAsyncLifetime
{
    private readonly List<IPersonaStore> _opened = [];

    /// <summary>
    /// Opens an initialised store on this test's storage. Called again after the first store is disposed, it
    /// must open the same data (that is how persistence is tested).
    /// </summary>
    protected abstract Task<IPersonaStore> CreateStoreAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _opened) await store.DisposeAsync();
    }

    protected async Task<IPersonaStore> OpenAsync()
    {
        var store = await CreateStoreAsync();
        _opened.Add(store);
        return store;
    }

    // ---------------------------------------------------------------- append and read back

    [Fact]
    public async Task AppendEvents_NewEvents_ReadBackWithAllFieldsInUtcMilliseconds()
    {
        var store = await OpenAsync();
        var local = new DateTimeOffset(2025, 5, 20, 21, 30, 15, 250, TimeSpan.FromHours(8)).AddTicks(9_999);
        var full = new StoredEvent
        {
            Id = "evt-full",
            UserId = "user-张",
            Type = EventType.Purchase,
            ItemId = "sku-1",
            Query = "红色 dress",
            Value = 2.75,
            Timestamp = local,
            ReceivedAt = local.AddSeconds(1),
            SessionId = "sess-1",
            Device = "desktop",
            Channel = "web",
            ExcludedReason = "burst",
            RequestId = "rq_01JF0000000000000000000000",
            Position = 3,
        };
        var sparse = new StoredEvent
        {
            Id = "evt-sparse", UserId = "u2", Type = EventType.Search, Query = "sneakers", Timestamp = BaseTime,
        };

        var result = await store.AppendEventsAsync([full, sparse]);

        Assert.Equal(0, result.Duplicates);
        Assert.Equal(2, result.Stored.Count);
        var read = await ToListAsync(store.ReadEventsAsync());
        Assert.Equal(result.Stored, read);

        var back = read[0];
        var expectedUtc = new DateTimeOffset(2025, 5, 20, 13, 30, 15, 250, TimeSpan.Zero);
        Assert.Equal(expectedUtc, back.Timestamp);
        Assert.Equal(TimeSpan.Zero, back.Timestamp.Offset);
        Assert.Equal(expectedUtc.Ticks, back.Timestamp.UtcTicks);
        Assert.Equal(expectedUtc.AddSeconds(1), back.ReceivedAt);
        Assert.Equal(TimeSpan.Zero, back.ReceivedAt.Offset);
        Assert.Equal(full with { Sequence = back.Sequence, Timestamp = back.Timestamp, ReceivedAt = back.ReceivedAt }, back);

        var second = read[1];
        Assert.Equal(EventType.Search, second.Type);
        Assert.Null(second.ItemId);
        Assert.Null(second.Value);
        Assert.Null(second.SessionId);
        Assert.Null(second.Device);
        Assert.Null(second.Channel);
        Assert.Null(second.ExcludedReason);
        Assert.Null(second.RequestId);
        Assert.Null(second.Position);
        // An event without a receive time gets the store's clock, so it never reads back as year 1.
        Assert.True(second.ReceivedAt > new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task AppendEvents_EveryEventType_RoundTripsWireName()
    {
        var store = await OpenAsync();
        var events = Enum.GetValues<EventType>().Select((t, i) => Event($"t{i}", type: t)).ToList();

        await store.AppendEventsAsync(events);

        var read = await ToListAsync(store.ReadEventsAsync());
        Assert.Equal(events.Select(e => e.Type), read.Select(e => e.Type));
    }

    [Fact]
    public async Task AppendEvents_SeveralBatches_SequencesStrictlyIncreaseInBatchOrder()
    {
        var store = await OpenAsync();
        var sequences = new List<long>();
        for (var b = 0; b < 4; b++)
        {
            var result = await store.AppendEventsAsync(Events($"b{b}", 9));
            Assert.Equal(Events($"b{b}", 9).Select(e => e.Id), result.Stored.Select(e => e.Id));
            sequences.AddRange(result.Stored.Select(e => e.Sequence));
        }

        Assert.True(sequences[0] > 0);
        Assert.All(sequences.Zip(sequences.Skip(1)), pair => Assert.True(pair.Second > pair.First));
        Assert.Equal(sequences[^1], await store.GetLastSequenceAsync());
        Assert.Equal(sequences, (await ToListAsync(store.ReadEventsAsync())).Select(e => e.Sequence));
    }

    [Fact]
    public async Task EraseUser_OfTheNewestEvents_TheirSequencesAreNeverGivenAgain()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("keep", 3));
        var newest = await store.AppendEventsAsync(Events("gone", 4, userId: "u-gone"));
        var highest = newest.Stored[^1].Sequence;

        await store.EraseUserAsync("u-gone", []);
        // A checkpoint written before the erasure covers sequences up to `highest`: later events must come after it.
        Assert.Equal(highest, await store.GetLastSequenceAsync());
        var later = await store.AppendEventsAsync(Events("later", 2));
        var bulk = await store.AppendEventsBulkAsync(Events("bulk", 2));

        Assert.All(later.Stored.Concat(bulk.Stored), e => Assert.True(e.Sequence > highest, $"sequence {e.Sequence} given again"));
        Assert.Equal(bulk.Stored[^1].Sequence, await store.GetLastSequenceAsync());
    }

    [Fact]
    public async Task AppendEvents_SameBatchRetried_StoresNothingTwiceAndReportsDuplicates()
    {
        var store = await OpenAsync();
        var batch = Events("retry", 25);
        var first = await store.AppendEventsAsync(batch);
        var lastSequence = await store.GetLastSequenceAsync();

        var retry = await store.AppendEventsAsync(batch);

        Assert.Equal(25, first.Stored.Count);
        Assert.Empty(retry.Stored);
        Assert.Equal(25, retry.Duplicates);
        Assert.Equal(25, await store.CountEventsAsync());
        Assert.Equal(lastSequence, await store.GetLastSequenceAsync());
    }

    [Fact]
    public async Task AppendEventsBulk_ARerunChunkPartlyStored_StoresOnlyNewOnesDenselyInBatchOrder()
    {
        var store = await OpenAsync();
        var chunk = Enumerable.Range(0, 60).Select(i => Event($"bulk-{(i * 37) % 60:00}", $"u{i % 5}", minute: i)).ToList();
        await store.AppendEventsBulkAsync(chunk.Take(25).ToList());
        var before = await store.GetLastSequenceAsync();

        // The interrupted import runs again over the same chunk, one id repeated inside it.
        var rerun = await store.AppendEventsBulkAsync([.. chunk, chunk[40]]);

        Assert.Equal(chunk.Skip(25).Select(e => e.Id), rerun.Stored.Select(e => e.Id));
        Assert.Equal(Enumerable.Range(1, 35).Select(i => before + i), rerun.Stored.Select(e => e.Sequence));
        Assert.Equal(26, rerun.Duplicates);
        Assert.Equal(60, await store.CountEventsAsync());
        Assert.Equal(rerun.Stored, (await ToListAsync(store.ReadEventsAsync(before))));
    }

    [Fact]
    public async Task AppendEvents_PartlyKnownBatch_StoresOnlyNewOnesInBatchOrder()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync([Event("a"), Event("c")]);

        var result = await store.AppendEventsAsync([Event("a"), Event("b"), Event("c"), Event("d")]);

        Assert.Equal(["b", "d"], result.Stored.Select(e => e.Id));
        Assert.Equal(2, result.Duplicates);
        Assert.Equal(4, await store.CountEventsAsync());
    }

    [Fact]
    public async Task AppendEvents_DuplicateIdInsideOneBatch_StoredOnceAndCountedAsDuplicate()
    {
        var store = await OpenAsync();
        var original = Event("dup", minute: 1);
        var copy = Event("dup", minute: 2);

        var result = await store.AppendEventsAsync([original, Event("other"), copy]);

        Assert.Equal(["dup", "other"], result.Stored.Select(e => e.Id));
        Assert.Equal(1, result.Duplicates);
        var stored = Assert.Single(await store.GetEventsAsync(["dup"]));
        Assert.Equal(original.Timestamp, stored.Timestamp); // the first one wins
        Assert.Equal(2, await store.CountEventsAsync());
    }

    [Fact]
    public async Task AppendEvents_EmptyBatch_StoresNothing()
    {
        var store = await OpenAsync();

        var result = await store.AppendEventsAsync([]);

        Assert.Empty(result.Stored);
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(0, await store.GetLastSequenceAsync());
    }

    [Fact]
    public async Task AppendEvents_EventViolatesNotNullMidBatch_StoresNothingOfTheBatch()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("before", 3));
        var batch = Events("bad", 10);
        batch[6] = batch[6] with { UserId = null! };

        await Assert.ThrowsAnyAsync<Exception>(() => store.AppendEventsAsync(batch));

        Assert.Equal(3, await store.CountEventsAsync());
        Assert.Empty(await store.GetEventsAsync(batch.Select(e => e.Id).ToList()));
        // The store stays usable and the rolled-back ids are free again.
        var retry = await store.AppendEventsAsync(Events("bad", 10));
        Assert.Equal(10, retry.Stored.Count);
        Assert.Equal(13, await store.CountEventsAsync());
    }

    [Fact]
    public async Task AppendEvents_CancelledMidBatch_StoresNothingOfTheBatch()
    {
        var store = await OpenAsync();
        using var cancellation = new CancellationTokenSource();
        var batch = new CancelOnAccessList(Events("cancel", 40), cancelAt: 20, cancellation);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.AppendEventsAsync(batch, cancellation.Token));

        Assert.True(batch.MaxIndexRead >= 20, "the store should have been part-way through the batch");
        Assert.Equal(0, await store.CountEventsAsync());
        Assert.Equal(0, await store.GetLastSequenceAsync());
    }

    [Fact]
    public async Task AppendEvents_CancelledBeforeStart_ThrowsAndStoresNothing()
    {
        var store = await OpenAsync();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => store.AppendEventsAsync(Events("x", 5), cancellation.Token));

        Assert.Equal(0, await store.CountEventsAsync());
    }

    // ---------------------------------------------------------------- queries

    [Fact]
    public async Task GetUserEvents_InterleavedUsers_ReturnsOnlyThatUserInSequenceOrder()
    {
        var store = await OpenAsync();
        var batch = Enumerable.Range(0, 30).Select(i => Event($"e{i}", $"user{i % 3}", minute: 30 - i)).ToList();
        await store.AppendEventsAsync(batch.Take(15).ToList());
        await store.AppendEventsAsync(batch.Skip(15).ToList());

        var events = await store.GetUserEventsAsync("user1");

        Assert.Equal(batch.Where(e => e.UserId == "user1").Select(e => e.Id), events.Select(e => e.Id));
        Assert.All(events.Zip(events.Skip(1)), pair => Assert.True(pair.Second.Sequence > pair.First.Sequence));
        Assert.Empty(await store.GetUserEventsAsync("nobody"));
    }

    [Fact]
    public async Task GetEvents_ByIds_ReturnsKnownOnesInSequenceOrderAndSkipsMissing()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("g", 20));

        var events = await store.GetEventsAsync(["g-17", "missing", "g-3", "g-9", "g-3"]);

        Assert.Equal(["g-3", "g-9", "g-17"], events.Select(e => e.Id));
        Assert.Empty(await store.GetEventsAsync([]));
        Assert.Empty(await store.GetEventsAsync(["nope"]));
    }

    [Fact]
    public async Task CountAndLastSequence_EmptyStore_AreZero()
    {
        var store = await OpenAsync();

        Assert.Equal(0, await store.CountEventsAsync());
        Assert.Equal(0, await store.GetLastSequenceAsync());
        Assert.Equal(0, await store.CountItemsAsync());
        Assert.Equal(0, await store.CountUsersAsync());
        Assert.Equal(0, await store.CountProfilesAsync());
        Assert.Empty(await ToListAsync(store.ReadEventsAsync()));
        Assert.Empty(await ToListAsync(store.ReadItemsAsync()));
        Assert.Empty(await ToListAsync(store.ReadUsersAsync()));
        Assert.Empty(await ToListAsync(store.ReadProfilesAsync()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(14)]
    [InlineData(20)]
    [InlineData(49)]
    public async Task ReadEvents_AfterSequence_StreamsEveryLaterEventOnceInOrder(int skip)
    {
        var store = await OpenAsync();
        var stored = new List<StoredEvent>();
        for (var b = 0; b < 5; b++) stored.AddRange((await store.AppendEventsAsync(Events($"r{b}", 10))).Stored);
        var after = skip == 0 ? 0 : stored[skip - 1].Sequence;

        var read = await ToListAsync(store.ReadEventsAsync(after));

        Assert.Equal(stored.Skip(skip), read);
    }

    [Fact]
    public async Task ReadEvents_AppendWhileStreaming_FinishesWithoutError()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("s", 30));
        var seen = new List<string>();

        await foreach (var e in store.ReadEventsAsync())
        {
            seen.Add(e.Id);
            if (seen.Count == 1) await store.AppendEventsAsync(Events("late", 5));
        }

        Assert.Equal(Events("s", 30).Select(e => e.Id), seen.Take(30));
        Assert.Equal(35, await store.CountEventsAsync());
    }

    // ---------------------------------------------------------------- items and users

    [Fact]
    public async Task UpsertItems_NewItems_RoundTripEveryField()
    {
        var store = await OpenAsync();
        var item = Item("sku-1");
        var minimal = new Item { Id = "sku-2" };

        await store.UpsertItemsAsync([item, minimal]);

        var back = await store.GetItemAsync("sku-1");
        Assert.NotNull(back);
        Assert.Equal(Json(item), Json(back));
        Assert.Equal(item.CategoryPath, back.CategoryPath);
        Assert.Equal(item.Attributes.OrderBy(a => a.Key), back.Attributes.OrderBy(a => a.Key));
        Assert.Equal(item.CreatedAt, back.CreatedAt);
        Assert.Equal(item.CreatedAt!.Value.Offset, back.CreatedAt!.Value.Offset);
        Assert.False(back.Available);
        Assert.Equal(Json(minimal), Json(await store.GetItemAsync("sku-2")));
        Assert.Null(await store.GetItemAsync("sku-404"));
        Assert.Equal(2, await store.CountItemsAsync());
    }

    [Fact]
    public async Task UpsertItems_ExistingId_ReplacesWholeRecord()
    {
        var store = await OpenAsync();
        await store.UpsertItemsAsync([Item("sku-1", price: 10), Item("sku-2")]);
        var replacement = new Item { Id = "sku-1", Title = "Renamed", Price = 12.5, Available = true };

        await store.UpsertItemsAsync([replacement]);

        Assert.Equal(Json(replacement), Json(await store.GetItemAsync("sku-1")));
        Assert.Equal(2, await store.CountItemsAsync());
    }

    [Fact]
    public async Task ReadItems_ManyItems_StreamsEachOnce()
    {
        var store = await OpenAsync();
        var items = Enumerable.Range(0, 33).Select(i => Item($"sku-{i}", i)).ToList();
        await store.UpsertItemsAsync(items);
        await store.UpsertItemsAsync([Item("sku-5", 999)]);

        var read = await ToListAsync(store.ReadItemsAsync());

        Assert.Equal(items.Select(i => i.Id).Order(), read.Select(i => i.Id).Order());
        Assert.Equal(999, read.Single(i => i.Id == "sku-5").Price);
    }

    [Fact]
    public async Task UpsertUsers_NewAndReplaced_RoundTripAttributesAndConsent()
    {
        var store = await OpenAsync();
        var user = User("u1", marketing: false);
        await store.UpsertUsersAsync([user, User("u2")]);

        var back = await store.GetUserAsync("u1");
        Assert.NotNull(back);
        Assert.Equal(Json(user), Json(back));
        Assert.True(back.Consent.Personalization);
        Assert.False(back.Consent.Marketing);
        Assert.Equal("gold", back.Attributes["vip"]);

        var revoked = user with { Consent = new Consent { Personalization = false, Marketing = false }, Region = null };
        await store.UpsertUsersAsync([revoked]);

        var replaced = await store.GetUserAsync("u1");
        Assert.NotNull(replaced);
        Assert.False(replaced.Consent.Personalization);
        Assert.Null(replaced.Region);
        Assert.Equal(Json(revoked), Json(replaced));
        Assert.Null(await store.GetUserAsync("u404"));
        Assert.Equal(2, await store.CountUsersAsync());
        Assert.Equal(["u1", "u2"], (await ToListAsync(store.ReadUsersAsync())).Select(u => u.Id).Order());
    }

    // ---------------------------------------------------------------- profiles

    [Fact]
    public async Task SaveProfiles_NewProfile_RoundTripsEveryField()
    {
        var store = await OpenAsync();
        var profile = Profile("u1", version: 3);

        await store.SaveProfilesAsync([profile]);

        var back = await store.GetProfileAsync("u1");
        Assert.NotNull(back);
        Assert.Equal(Json(profile), Json(back));
        Assert.Equal(profile.Embedding, back.Embedding);
        Assert.Equal(profile.Traits.ActiveWeekdays, back.Traits.ActiveWeekdays);
        Assert.Null(await store.GetProfileAsync("u2"));
    }

    [Fact]
    public async Task SaveProfiles_OlderOrSameVersion_IsIgnored()
    {
        var store = await OpenAsync();
        await store.SaveProfilesAsync([Profile("u1", 5, LifecycleStages.Active)]);

        await store.SaveProfilesAsync([Profile("u1", 4, LifecycleStages.Churned)]);
        await store.SaveProfilesAsync([Profile("u1", 5, LifecycleStages.AtRisk)]);

        var back = await store.GetProfileAsync("u1");
        Assert.Equal(5, back!.Version);
        Assert.Equal(LifecycleStages.Active, back.Traits.Lifecycle);
    }

    [Fact]
    public async Task SaveProfiles_NewerVersion_Replaces()
    {
        var store = await OpenAsync();
        await store.SaveProfilesAsync([Profile("u1", 5), Profile("u2", 1)]);

        await store.SaveProfilesAsync([Profile("u1", 6, LifecycleStages.AtRisk), Profile("u2", 0, LifecycleStages.Churned)]);

        Assert.Equal(LifecycleStages.AtRisk, (await store.GetProfileAsync("u1"))!.Traits.Lifecycle);
        Assert.Equal(6, (await store.GetProfileAsync("u1"))!.Version);
        Assert.Equal(1, (await store.GetProfileAsync("u2"))!.Version);
        Assert.Equal(2, await store.CountProfilesAsync());
    }

    [Fact]
    public async Task SaveProfiles_SameUserTwiceInOneCall_HighestVersionWins()
    {
        var store = await OpenAsync();

        await store.SaveProfilesAsync([Profile("u1", 8, LifecycleStages.AtRisk), Profile("u1", 7, LifecycleStages.Churned)]);

        var back = await store.GetProfileAsync("u1");
        Assert.Equal(8, back!.Version);
        Assert.Equal(LifecycleStages.AtRisk, back.Traits.Lifecycle);
    }

    [Fact]
    public async Task ReadProfiles_ManyUsers_StreamsLatestOfEach()
    {
        var store = await OpenAsync();
        await store.SaveProfilesAsync(Enumerable.Range(0, 17).Select(i => Profile($"u{i}", 1)).ToList());
        await store.SaveProfilesAsync([Profile("u3", 2, LifecycleStages.Churned)]);

        var read = await ToListAsync(store.ReadProfilesAsync());

        Assert.Equal(17, read.Count);
        Assert.Equal(17, read.Select(p => p.UserId).Distinct().Count());
        Assert.Equal(LifecycleStages.Churned, read.Single(p => p.UserId == "u3").Traits.Lifecycle);
        Assert.Equal(17, await store.CountProfilesAsync());
    }

    // ---------------------------------------------------------------- documents

    [Fact]
    public async Task PutDocument_PutGetReplaceList_KeysPerKindSorted()
    {
        var store = await OpenAsync();
        await store.PutDocumentAsync("model", "seq-v2", """{"epochs":3}""");
        await store.PutDocumentAsync("model", "seq-v1", """{"epochs":1}""");
        await store.PutDocumentAsync("report", "seq-v1", """{"recall":0.2}""");

        await store.PutDocumentAsync("model", "seq-v2", """{"epochs":4,"名称":"序列"}""");

        Assert.Equal("""{"epochs":4,"名称":"序列"}""", await store.GetDocumentAsync("model", "seq-v2"));
        Assert.Equal("""{"recall":0.2}""", await store.GetDocumentAsync("report", "seq-v1"));
        Assert.Null(await store.GetDocumentAsync("model", "seq-v9"));
        Assert.Null(await store.GetDocumentAsync("settings", "seq-v1"));
        Assert.Equal(["seq-v1", "seq-v2"], await store.ListDocumentKeysAsync("model"));
        Assert.Equal(["seq-v1"], await store.ListDocumentKeysAsync("report"));
        Assert.Empty(await store.ListDocumentKeysAsync("settings"));
    }

    [Fact]
    public async Task PutDocument_InvalidJson_ThrowsAndWritesNothing()
    {
        var store = await OpenAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutDocumentAsync("model", "bad", "{not json"));

        Assert.Null(await store.GetDocumentAsync("model", "bad"));
    }

    // ---------------------------------------------------------------- files

    [Fact]
    public async Task Files_WrittenTogether_ReadListedReplacedAndDeletedByPrefix()
    {
        var store = await OpenAsync();
        var weights = new byte[40_000];
        new Random(3).NextBytes(weights);

        await store.WriteFilesAsync(
        [
            new StoredFile("models/sequence/seq-1/model.safetensors", weights),
            new StoredFile("models/sequence/seq-1/manifest.json", "{\"version\":\"seq-1\"}"u8.ToArray()),
            new StoredFile("models/sequence/seq-2/manifest.json", []),
            new StoredFile("models/search/enc-1/table.bin", [1, 2, 3]),
        ]);
        await store.WriteFilesAsync([new StoredFile("models/search/enc-1/table.bin", [9])]);

        Assert.Equal(weights, await store.ReadFileAsync("models/sequence/seq-1/model.safetensors"));
        Assert.Equal(Array.Empty<byte>(), await store.ReadFileAsync("models/sequence/seq-2/manifest.json"));
        Assert.Equal(new byte[] { 9 }, await store.ReadFileAsync("models/search/enc-1/table.bin"));
        Assert.Null(await store.ReadFileAsync("models/sequence/seq-3/manifest.json"));
        Assert.Equal(
            ["models/sequence/seq-1/manifest.json", "models/sequence/seq-1/model.safetensors", "models/sequence/seq-2/manifest.json"],
            await store.ListFilesAsync("models/sequence/"));
        Assert.Equal(4, (await store.ListFilesAsync("")).Count);

        Assert.Equal(2, await store.DeleteFilesAsync("models/sequence/seq-1/"));
        Assert.Equal(["models/sequence/seq-2/manifest.json"], await store.ListFilesAsync("models/sequence/"));
        Assert.Equal(0, await store.DeleteFilesAsync("nothing/"));
    }

    [Fact]
    public async Task Files_ABadOne_WritesNoneOfThem()
    {
        var store = await OpenAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteFilesAsync([new StoredFile("a", [1]), new StoredFile("", [2])]));

        Assert.Empty(await store.ListFilesAsync(""));
    }

    // ---------------------------------------------------------------- lifetime

    [Fact]
    public async Task Store_DisposedAndReopened_KeepsEverythingAndContinuesSequences()
    {
        var first = await OpenAsync();
        var appended = await first.AppendEventsAsync(Events("p", 12));
        await first.UpsertItemsAsync([Item("sku-1")]);
        await first.UpsertUsersAsync([User("u1")]);
        await first.SaveProfilesAsync([Profile("u1", 2)]);
        await first.PutDocumentAsync("model", "m1", """{"ok":true}""");
        await first.DisposeAsync();

        var reopened = await OpenAsync();

        Assert.Equal(appended.Stored, await ToListAsync(reopened.ReadEventsAsync()));
        Assert.Equal(appended.Stored[^1].Sequence, await reopened.GetLastSequenceAsync());
        Assert.Equal(Json(Item("sku-1")), Json(await reopened.GetItemAsync("sku-1")));
        Assert.Equal(Json(User("u1")), Json(await reopened.GetUserAsync("u1")));
        Assert.Equal(Json(Profile("u1", 2)), Json(await reopened.GetProfileAsync("u1")));
        Assert.Equal("""{"ok":true}""", await reopened.GetDocumentAsync("model", "m1"));

        var retry = await reopened.AppendEventsAsync(Events("p", 12));
        Assert.Equal(12, retry.Duplicates);
        var more = await reopened.AppendEventsAsync([Event("after-reopen")]);
        Assert.True(more.Stored[0].Sequence > appended.Stored[^1].Sequence);
    }

    [Fact]
    public async Task Initialize_CalledAgain_IsHarmless()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("i", 3));

        await store.InitializeAsync();

        Assert.Equal(3, await store.CountEventsAsync());
    }

    [Fact]
    public async Task Dispose_CalledTwice_IsHarmless()
    {
        var store = await OpenAsync();

        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountEventsAsync());
    }

    // ---------------------------------------------------------------- concurrency and properties

    [Fact]
    public async Task AppendEvents_ConcurrentWriters_UniqueSequencesAndNoLostEvents()
    {
        var store = await OpenAsync();
        const int Writers = 6, Batches = 8, BatchSize = 40;
        // Every writer also resends one shared batch, so writers race on the same ids too.
        var shared = Events("shared", BatchSize);

        var results = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var mine = new List<AppendResult>();
            for (var b = 0; b < Batches; b++)
            {
                mine.Add(await store.AppendEventsAsync(Events($"w{w}-b{b}", BatchSize, $"user{w}")));
                if (b == Batches / 2) mine.Add(await store.AppendEventsAsync(shared));
            }

            return mine;
        })));

        var all = results.SelectMany(r => r).ToList();
        var stored = all.SelectMany(r => r.Stored).ToList();
        var distinct = Writers * Batches * BatchSize + BatchSize;
        Assert.Equal(distinct, stored.Count);
        Assert.Equal(distinct, stored.Select(e => e.Sequence).Distinct().Count());
        Assert.Equal(distinct, stored.Select(e => e.Id).Distinct().Count());
        Assert.Equal((Writers - 1) * BatchSize, all.Sum(r => r.Duplicates));
        Assert.Equal(distinct, await store.CountEventsAsync());
        Assert.Equal(stored.Max(e => e.Sequence), await store.GetLastSequenceAsync());
        var read = await ToListAsync(store.ReadEventsAsync());
        Assert.Equal(stored.Select(e => e.Sequence).Order(), read.Select(e => e.Sequence));
        // Each batch got a contiguous run in its own order: writes were serialised, not interleaved.
        Assert.All(all.Where(r => r.Stored.Count > 1), r =>
            Assert.All(r.Stored.Zip(r.Stored.Skip(1)), p => Assert.True(p.Second.Sequence > p.First.Sequence)));
    }

    [Fact]
    public async Task AppendEvents_RandomBatchesWithDuplicateIds_StoresExactlyTheDistinctIds()
    {
        var store = await OpenAsync();
        var caseNumber = 0;
        // Ids drawn from a small pool so duplicates within and across batches are common.
        var batchGen = Gen.Choose(0, 40).SelectMany(length => Gen.Choose(0, 24).ArrayOf(length));
        var casesGen = Gen.Choose(1, 5).SelectMany(count => batchGen.ArrayOf(count));

        var property = Prop.ForAll(casesGen.ToArbitrary(), batches =>
        {
            // One store serves every case; a per-case prefix keeps cases apart.
            var prefix = $"case{Interlocked.Increment(ref caseNumber)}";
            return Task.Run(async () =>
            {
                var countBefore = await store.CountEventsAsync();
                var stored = new List<StoredEvent>();
                var duplicates = 0;
                foreach (var batch in batches)
                {
                    var result = await store.AppendEventsAsync(batch.Select(n => Event($"{prefix}-{n}")).ToList());
                    stored.AddRange(result.Stored);
                    duplicates += result.Duplicates;
                }

                var expected = batches.SelectMany(b => b).Distinct().Select(n => $"{prefix}-{n}").Order().ToList();
                var found = await store.GetEventsAsync(expected);
                return stored.Select(e => e.Id).Order().SequenceEqual(expected)
                    && found.Select(e => e.Id).Order().SequenceEqual(expected)
                    && duplicates == batches.Sum(b => b.Length) - expected.Count
                    && await store.CountEventsAsync() - countBefore == expected.Count
                    && stored.Select(e => e.Sequence).Distinct().Count() == stored.Count;
            }).GetAwaiter().GetResult();
        });

        await Task.Run(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), property));
    }

    // ---------------------------------------------------------------- derived state checkpoints

    [Fact]
    public async Task ShopperStateHeads_CarryTheNewestTime_AndTheRecordOnlyWhereItIsNotKept()
    {
        var store = await OpenAsync();
        await store.WriteShopperStatesAsync([new ShopperStateRecord("u1", 4, [1, 2, 3], LatestTicks: 77), new ShopperStateRecord("u2", 7, [9])], checkpoint: null);

        var heads = (await ToListAsync(store.ReadShopperStateHeadsAsync())).OrderBy(h => h.UserId, StringComparer.Ordinal).ToList();
        Assert.Equal(("u1", 4L, (long?)77L), (heads[0].UserId, heads[0].ThroughSequence, heads[0].LatestTicks));
        Assert.Null(heads[0].State);
        Assert.Equal(("u2", 7L, (long?)null), (heads[1].UserId, heads[1].ThroughSequence, heads[1].LatestTicks));
        Assert.Equal([9], heads[1].State);
        Assert.Equal(77, (await store.GetShopperStateAsync("u1"))!.LatestTicks);

        // A rewrite without the time forgets it rather than keeping a stale one.
        await store.WriteShopperStatesAsync([new ShopperStateRecord("u1", 8, [4])], checkpoint: null);
        Assert.Null((await store.GetShopperStateAsync("u1"))!.LatestTicks);
    }

    [Fact]
    public async Task ShopperStates_WrittenWithCheckpoint_ReadBackReplacedClearedAndErasedWithTheShopper()
    {
        var store = await OpenAsync();
        Assert.Null(await store.GetStateCheckpointAsync("shopper-states"));
        await store.WriteShopperStatesAsync([new ShopperStateRecord("u1", 4, [1, 2, 3]), new ShopperStateRecord("u2", 7, [9])],
            new StateCheckpoint("shopper-states", "fp", 5, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), [42]));
        await store.WriteShopperStatesAsync([new ShopperStateRecord("u1", 9, [4, 5])], checkpoint: null);

        var u1 = await store.GetShopperStateAsync("u1");
        Assert.Equal(9, u1!.ThroughSequence);
        Assert.Equal([4, 5], u1.State);
        Assert.Equal(["u1", "u2"], (await ToListAsync(store.ReadShopperStatesAsync())).Select(r => r.UserId).Order());
        var checkpoint = await store.GetStateCheckpointAsync("shopper-states");
        Assert.Equal(("fp", 5L, 1_700_000_000_000L), (checkpoint!.Fingerprint, checkpoint.Sequence, checkpoint.WrittenAt.ToUnixTimeMilliseconds()));
        Assert.Equal([42], checkpoint.Data);

        await store.EraseUserAsync("u2", []);
        Assert.Null(await store.GetShopperStateAsync("u2"));
        Assert.NotNull(await store.GetShopperStateAsync("u1"));

        await store.ClearShopperStatesAsync();
        Assert.Empty(await ToListAsync(store.ReadShopperStatesAsync()));
        Assert.Null(await store.GetStateCheckpointAsync("shopper-states"));
    }

    [Fact]
    public async Task StateParts_WrittenWhole_ReadBackReplacedAndDroppedByAnyErasure()
    {
        var store = await OpenAsync();
        Assert.Null(await store.ReadStatePartAsync("recommendations"));
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        await store.WriteStatePartAsync(new StatePart("recommendations", "fp1", 10, at, [1, 2, 3]));
        await store.WriteStatePartAsync(new StatePart("search", "fp2", 11, at, []));
        await store.WriteStatePartAsync(new StatePart("recommendations", "fp3", 12, at, [7]));

        var part = await store.ReadStatePartAsync("recommendations");
        Assert.Equal(("fp3", 12L, 1_700_000_000_000L), (part!.Fingerprint, part.Sequence, part.WrittenAt.ToUnixTimeMilliseconds()));
        Assert.Equal([7], part.Data);
        Assert.Empty((await store.ReadStatePartAsync("search"))!.Data);
        // Shopper checkpoints are a separate kind of state: clearing them leaves the parts.
        await store.ClearShopperStatesAsync();
        Assert.NotNull(await store.ReadStatePartAsync("search"));

        await store.EraseUserAsync("anyone", []);
        Assert.Null(await store.ReadStatePartAsync("recommendations"));
        Assert.Null(await store.ReadStatePartAsync("search"));
    }

    [Fact]
    public async Task ShopperResults_ReplacedWholeWithTheirDocuments_AndOneRowGoesWithItsShopper()
    {
        var store = await OpenAsync();
        Assert.Empty(await ToListAsync(store.ReadShopperResultsAsync()));
        await store.ReplaceShopperResultsAsync([new("u1", [1]), new("u2", [2]), new("u3", [3])], [new DocumentUpdate("models", "results", "{\"v\":1}")]);
        await store.ReplaceShopperResultsAsync([new("u2", [20]), new("u3", [30]), new("u4", [40])],
            [new DocumentUpdate("models", "results", "{\"v\":2}"), new DocumentUpdate("models", "old", null)]);

        var rows = await ToListAsync(store.ReadShopperResultsAsync());
        Assert.Equal([("u2", 20), ("u3", 30), ("u4", 40)], rows.Select(r => (r.UserId, (int)r.Data.Single())).OrderBy(r => r.UserId));
        Assert.Equal("{\"v\":2}", await store.GetDocumentAsync("models", "results"));

        await store.EraseUserAsync("u3", []);
        Assert.Equal(["u2", "u4"], (await ToListAsync(store.ReadShopperResultsAsync())).Select(r => r.UserId).Order());
    }

    [Fact]
    public async Task ShopperResults_ABadRow_WritesNothing()
    {
        var store = await OpenAsync();
        await store.ReplaceShopperResultsAsync([new("u1", [1])], [new DocumentUpdate("models", "results", "{\"v\":1}")]);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.ReplaceShopperResultsAsync([new("u2", [2]), new("", [3])], [new DocumentUpdate("models", "results", "{\"v\":2}")]));

        Assert.Contains("row 1", error.Message);
        Assert.Equal(["u1"], (await ToListAsync(store.ReadShopperResultsAsync())).Select(r => r.UserId));
        Assert.Equal("{\"v\":1}", await store.GetDocumentAsync("models", "results"));
    }

    // ---------------------------------------------------------------- erasure and audit

    [Fact]
    public async Task EraseUser_RemovesTheirEventsProfileAndRecord_LeavesOthersAndRewritesDocuments()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync([.. Events("gone", 3, "u-gone"), .. Events("kept", 2, "u-kept")]);
        await store.UpsertUsersAsync([User("u-gone"), User("u-kept")]);
        await store.SaveProfilesAsync([Profile("u-gone", 1), Profile("u-kept", 1)]);
        await store.PutDocumentAsync("audience", "a1", "{\"members\":[\"u-gone\",\"u-kept\"]}");
        await store.PutDocumentAsync("models", "old", "{\"u-gone\":1}");

        var erased = await store.EraseUserAsync("u-gone",
            [new DocumentUpdate("audience", "a1", "{\"members\":[\"u-kept\"]}"), new DocumentUpdate("models", "old", null)]);

        Assert.Equal(new StoreErasure(3, Profile: true, User: true, DocumentsRewritten: 2), erased);
        Assert.Empty(await store.GetUserEventsAsync("u-gone"));
        Assert.Null(await store.GetProfileAsync("u-gone"));
        Assert.Null(await store.GetUserAsync("u-gone"));
        Assert.Equal(2, (await store.GetUserEventsAsync("u-kept")).Count);
        Assert.NotNull(await store.GetProfileAsync("u-kept"));
        Assert.Equal("{\"members\":[\"u-kept\"]}", await store.GetDocumentAsync("audience", "a1"));
        Assert.Null(await store.GetDocumentAsync("models", "old"));
        Assert.DoesNotContain(await ToListAsync(store.ReadEventsAsync()), e => e.UserId == "u-gone");
    }

    [Fact]
    public async Task EraseUser_Unknown_RemovesNothing()
    {
        var store = await OpenAsync();
        await store.AppendEventsAsync(Events("e", 2, "u1"));

        Assert.Equal(new StoreErasure(0, false, false, 0), await store.EraseUserAsync("nobody", []));
        Assert.Equal(2, await store.CountEventsAsync());
    }

    [Fact]
    public async Task Audit_AppendedEntries_ReadNewestFirstAndSurviveReopen()
    {
        var store = await OpenAsync();
        await store.AppendAuditAsync(new AuditEntry(BaseTime, "key:ops", "forget_user", "u1", "3 events"));
        await store.AppendAuditAsync(new AuditEntry(BaseTime.AddMinutes(1), "key:ops", "export_audience", "aud-1"));
        await store.DisposeAsync();
        var reopened = await OpenAsync();

        var entries = await reopened.ReadAuditAsync(10);

        Assert.Equal(["export_audience", "forget_user"], entries.Select(e => e.Action));
        Assert.Equal("3 events", entries[1].Detail);
        Assert.Equal(BaseTime, entries[1].At);
        Assert.True(entries[0].Sequence > entries[1].Sequence);
        Assert.Single(await reopened.ReadAuditAsync(1));
    }

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source) list.Add(item);
        return list;
    }

    /// <summary>A batch that cancels its token when the store reads a given element: a real mid-batch cancellation.</summary>
    private sealed class CancelOnAccessList(List<StoredEvent> inner, int cancelAt, CancellationTokenSource cancellation)
        : IReadOnlyList<StoredEvent>
    {
        public int MaxIndexRead { get; private set; } = -1;

        public StoredEvent this[int index]
        {
            get
            {
                MaxIndexRead = Math.Max(MaxIndexRead, index);
                if (index == cancelAt) cancellation.Cancel();
                return inner[index];
            }
        }

        public int Count => inner.Count;

        public IEnumerator<StoredEvent> GetEnumerator()
        {
            for (var i = 0; i < Count; i++) yield return this[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
