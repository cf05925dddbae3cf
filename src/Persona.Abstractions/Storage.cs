namespace Persona.Abstractions;

/// <summary>Append-only, idempotent event log.</summary>
public interface IEventStore
{
    /// <summary>
    /// Appends a batch in one transaction: all of it or nothing. Events whose id is already stored are
    /// skipped (idempotent retries). Returns once the batch is durable.
    /// </summary>
    Task<AppendResult> AppendEventsAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="AppendEventsAsync"/> (one durable transaction, ids already stored skipped, sequence numbers in
    /// batch order), for the large batches of a history import; a store may insert them in whatever order suits its
    /// indexes. The default is <see cref="AppendEventsAsync"/>.
    /// </summary>
    Task<AppendResult> AppendEventsBulkAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken = default) =>
        AppendEventsAsync(events, cancellationToken);

    /// <summary>Events with <see cref="StoredEvent.Sequence"/> greater than <paramref name="afterSequence"/>, in sequence order.</summary>
    IAsyncEnumerable<StoredEvent> ReadEventsAsync(long afterSequence = 0, CancellationToken cancellationToken = default);

    /// <summary>One user's events in sequence order.</summary>
    Task<IReadOnlyList<StoredEvent>> GetUserEventsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>One user's events after <paramref name="afterSequence"/>, in sequence order (a cluster node catching a shopper up).</summary>
    async Task<IReadOnlyList<StoredEvent>> GetUserEventsAfterAsync(string userId, long afterSequence, CancellationToken cancellationToken = default) =>
        [.. (await GetUserEventsAsync(userId, cancellationToken).ConfigureAwait(false)).Where(e => e.Sequence > afterSequence)];

    /// <summary>
    /// Several users' events, each user's after its own sequence in <paramref name="after"/>, in sequence order: one read
    /// for many shoppers catching up at once.
    /// </summary>
    async Task<IReadOnlyList<StoredEvent>> GetUsersEventsAfterAsync(IReadOnlyDictionary<string, long> after, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(after);
        var events = new List<StoredEvent>();
        foreach (var (userId, sequence) in after) events.AddRange(await GetUserEventsAfterAsync(userId, sequence, cancellationToken).ConfigureAwait(false));
        events.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return events;
    }

    /// <summary>Events by id (missing ids are left out).</summary>
    Task<IReadOnlyList<StoredEvent>> GetEventsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default);

    Task<long> CountEventsAsync(CancellationToken cancellationToken = default);

    /// <summary>The greatest assigned sequence number, 0 when empty.</summary>
    Task<long> GetLastSequenceAsync(CancellationToken cancellationToken = default);
}

/// <param name="Stored">Events newly written, with their assigned sequence numbers, in batch order.</param>
/// <param name="Duplicates">How many events of the batch were already stored (same id) and skipped.</param>
public sealed record AppendResult(IReadOnlyList<StoredEvent> Stored, int Duplicates);

public interface IItemStore
{
    /// <summary>Inserts or replaces items, in one transaction.</summary>
    Task UpsertItemsAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken = default);
    Task<Item?> GetItemAsync(string id, CancellationToken cancellationToken = default);
    IAsyncEnumerable<Item> ReadItemsAsync(CancellationToken cancellationToken = default);
    Task<long> CountItemsAsync(CancellationToken cancellationToken = default);
}

public interface IUserStore
{
    /// <summary>Inserts or replaces users, in one transaction.</summary>
    Task UpsertUsersAsync(IReadOnlyList<User> users, CancellationToken cancellationToken = default);
    Task<User?> GetUserAsync(string id, CancellationToken cancellationToken = default);
    IAsyncEnumerable<User> ReadUsersAsync(CancellationToken cancellationToken = default);
    Task<long> CountUsersAsync(CancellationToken cancellationToken = default);
}

/// <summary>Latest profile per user, written only when its version is newer than the stored one.</summary>
public interface IProfileStore
{
    /// <summary>Saves profiles in one transaction; a profile whose version is not newer than the stored one is ignored.</summary>
    Task SaveProfilesAsync(IReadOnlyList<Profile> profiles, CancellationToken cancellationToken = default);
    Task<Profile?> GetProfileAsync(string userId, CancellationToken cancellationToken = default);
    IAsyncEnumerable<Profile> ReadProfilesAsync(CancellationToken cancellationToken = default);
    Task<long> CountProfilesAsync(CancellationToken cancellationToken = default);
}

/// <summary>Small named documents: model manifests, evaluation reports, settings.</summary>
public interface IDocumentStore
{
    Task PutDocumentAsync(string kind, string key, string json, CancellationToken cancellationToken = default);
    Task<string?> GetDocumentAsync(string kind, string key, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<string>> ListDocumentKeysAsync(string kind, CancellationToken cancellationToken = default);
}

/// <summary>
/// Checkpoints of derived state (see docs/state.md): one record per shopper, each with the highest log sequence
/// it reflects, and per state part a checkpoint row saying up to which sequence every written record is complete.
/// </summary>
public interface IStateStore
{
    /// <summary>Writes (replaces) shopper records and, when given, the checkpoint row after them, in one transaction.</summary>
    Task WriteShopperStatesAsync(IReadOnlyList<ShopperStateRecord> states, StateCheckpoint? checkpoint, CancellationToken cancellationToken = default);

    Task<ShopperStateRecord?> GetShopperStateAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="GetShopperStateAsync"/>, for callers that await it outside any lock (a cluster node taking over a
    /// shopper): a store whose <see cref="GetShopperStateAsync"/> blocks inside reads asynchronously here.
    /// </summary>
    Task<ShopperStateRecord?> ReadShopperStateAsync(string userId, CancellationToken cancellationToken = default) => GetShopperStateAsync(userId, cancellationToken);

    IAsyncEnumerable<ShopperStateRecord> ReadShopperStatesAsync(CancellationToken cancellationToken = default);

    /// <summary>Every shopper record's head (see <see cref="ShopperStateHead"/>), without the record where its newest time is kept.</summary>
    IAsyncEnumerable<ShopperStateHead> ReadShopperStateHeadsAsync(CancellationToken cancellationToken = default);

    Task<StateCheckpoint?> GetStateCheckpointAsync(string part, CancellationToken cancellationToken = default);

    /// <summary>Deletes every shopper record and checkpoint row (derived state built under other options), in one transaction.</summary>
    Task ClearShopperStatesAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes (replaces) a state part whole, in one transaction.</summary>
    Task WriteStatePartAsync(StatePart part, CancellationToken cancellationToken = default);

    /// <summary>The part as last written; null when none is stored (never written, or dropped by an erasure).</summary>
    Task<StatePart?> ReadStatePartAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces every shopper's result row with <paramref name="results"/> and applies <paramref name="documents"/>
    /// (the refresh's own documents, which the rows refer to), in one transaction; <paramref name="results"/> is read
    /// once, inside it, and a bad row (no user id or data) rolls the whole of it back.
    /// </summary>
    Task ReplaceShopperResultsAsync(IEnumerable<ShopperResultRecord> results, IReadOnlyList<DocumentUpdate> documents, CancellationToken cancellationToken = default);

    /// <summary>Every shopper's result row as last replaced, less the erased shoppers'.</summary>
    IAsyncEnumerable<ShopperResultRecord> ReadShopperResultsAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// One shopper's results of the last model refresh (predictions, segment, map point), one row per shopper so an
/// erasure deletes it alone; <paramref name="Data"/> is encoded by its owner and opaque to the store.
/// </summary>
public sealed record ShopperResultRecord(string UserId, byte[] Data);

/// <summary>One shopper's derived state as a checkpoint stores it; <paramref name="ThroughSequence"/> is the highest log sequence it reflects.</summary>
/// <param name="UserId">The stored user id.</param>
/// <param name="ThroughSequence">The highest log sequence applied to the state.</param>
/// <param name="State">The encoded state (format byte, body, checksum), opaque to the store.</param>
/// <param name="LatestTicks">The state's newest event time (UTC ticks), kept beside the record so a start can leave the
/// shopper in the store without reading the record; null when not known.</param>
public sealed record ShopperStateRecord(string UserId, long ThroughSequence, byte[] State, long? LatestTicks = null);

/// <summary>What a start needs of a shopper it leaves in the store: no record, unless its newest time is not kept beside it.</summary>
/// <param name="UserId">The stored user id.</param>
/// <param name="ThroughSequence">The highest log sequence the record reflects.</param>
/// <param name="LatestTicks">The record's newest event time; null for records written before it was kept.</param>
/// <param name="State">The record itself, only when <paramref name="LatestTicks"/> is null.</param>
public sealed record ShopperStateHead(string UserId, long ThroughSequence, long? LatestTicks, byte[]? State);

/// <summary>
/// Every event up to <paramref name="Sequence"/> is reflected in the part's written records, which were built under
/// options with <paramref name="Fingerprint"/>; <paramref name="Data"/> holds the part's own small global state.
/// </summary>
public sealed record StateCheckpoint(string Part, string Fingerprint, long Sequence, DateTimeOffset WrittenAt, byte[]? Data = null);

/// <summary>
/// Derived state that mixes many shoppers (the item pairs, with the few last items per shopper they follow;
/// recommendations' popularity; search's query clicks, with each searcher's pending search), stored whole: every event up
/// to <paramref name="Sequence"/> is in <paramref name="Data"/>, built under options with <paramref name="Fingerprint"/>. Because a part cannot drop one
/// shopper, erasing any shopper deletes every part in the erasure's transaction; the next start rebuilds it from the log.
/// </summary>
public sealed record StatePart(string Name, string Fingerprint, long Sequence, DateTimeOffset WrittenAt, byte[] Data);

/// <summary>
/// Named binary files kept in the store, such as the versions of a trained model, so every node that shares the store
/// can serve them (docs/cluster.md). Names are paths with <c>/</c> (<c>models/sequence/seq-…/model.safetensors</c>).
/// </summary>
public interface IFileStore
{
    /// <summary>Writes (replaces) files, all in one transaction: a reader sees all of them or none.</summary>
    Task WriteFilesAsync(IReadOnlyList<StoredFile> files, CancellationToken cancellationToken = default);

    /// <summary>A file's content; null when there is no file of that name.</summary>
    Task<byte[]?> ReadFileAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The names of the files whose name starts with <paramref name="prefix"/>, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListFilesAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the files whose name starts with <paramref name="prefix"/>, in one transaction; returns how many.</summary>
    Task<int> DeleteFilesAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>A file to store: its name (a path with <c>/</c>) and content.</summary>
public sealed record StoredFile(string Name, byte[] Content);

/// <summary>Append-only record of administrative actions: who did what to which target, when.</summary>
public interface IAuditStore
{
    Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>The newest entries first.</summary>
    Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(int limit, CancellationToken cancellationToken = default);
}

public sealed record AuditEntry(DateTimeOffset At, string Actor, string Action, string Target, string? Detail = null)
{
    /// <summary>Assigned by the store, increasing.</summary>
    public long Sequence { get; init; }
}

/// <summary>A document to write (or, with a null <see cref="Json"/>, delete) in the same transaction as an erasure.</summary>
public sealed record DocumentUpdate(string Kind, string Key, string? Json);

/// <summary>What an erasure removed from the store.</summary>
public sealed record StoreErasure(int Events, bool Profile, bool User, int DocumentsRewritten);

/// <summary>Everything the product persists. One implementation per storage provider.</summary>
public interface IPersonaStore : IEventStore, IItemStore, IUserStore, IProfileStore, IDocumentStore, IAuditStore, IStateStore, IFileStore, IAsyncDisposable
{
    /// <summary>Creates the schema if needed. Safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases a user in one transaction: their events, stored profile, shopper state record, result row and user record, and applies
    /// <paramref name="documents"/> (documents that mentioned the user, rewritten without them).
    /// </summary>
    Task<StoreErasure> EraseUserAsync(string userId, IReadOnlyList<DocumentUpdate> documents, CancellationToken cancellationToken = default);
}
