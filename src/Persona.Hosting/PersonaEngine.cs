using System.Diagnostics;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using Persona.Hosting.Cluster;
using Persona.Hosting.Privacy;

namespace Persona.Hosting;

/// <summary>
/// The one path every write and profile read takes, whether it comes from HTTP, the CLI or an import:
/// validate → normalise → flag bursts → durable append → incremental profile update.
/// Catalog, consent flags and profile states live in memory; the store is the system of record.
/// </summary>
public sealed partial class PersonaEngine : IAsyncDisposable
{
    private readonly IPersonaStore _store;
    private readonly PersonaOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<PersonaEngine> _logger;
    private readonly EventValidator _eventValidator;
    private readonly ItemValidator _itemValidator;
    private readonly UserValidator _userValidator;
    private readonly BurstDetector _bursts;
    private readonly ProfileBook _profiles;
    private readonly ProfileBuilder _builder;
    private readonly UserIdProtector _userIds;
    private readonly ConcurrentDictionary<string, Consent> _consents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _dirtyProfiles = new(StringComparer.Ordinal);
    // One writer at a time: burst flags, the append and catalog swaps see one order.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly Channel<PendingAppend> _appends = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writeLoop;
    /// <summary>Upper bound of events in one grouped transaction.</summary>
    private const int MaxGroupEvents = 16_000;
    private volatile bool _started;
    // Events in the store, counted once at start and kept as batches are stored and shoppers erased: SQLite counts
    // 50M rows in about 1.7 s, too slow for /health, which load balancers probe.
    private long _storedEvents;

    /// <summary>An engine over <paramref name="store"/>; <paramref name="cluster"/>: the other nodes when this engine is one node of a cluster (docs/cluster.md), null on a single node.</summary>
    public PersonaEngine(IPersonaStore store, IOptions<PersonaOptions> options, TimeProvider time, ILogger<PersonaEngine> logger, IClusterPeers? cluster = null)
    {
        _store = store;
        _cluster = cluster;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _eventValidator = new EventValidator(_options.Ingestion);
        _itemValidator = new ItemValidator(_options.Ingestion);
        _userValidator = new UserValidator(_options.Ingestion);
        _bursts = new BurstDetector(_options.Ingestion);
        _profiles = new ProfileBook(_options.Profiles, catalog: null, new StoredShopperStates(this), _options.State.MemoryBudgetBytes);
        _builder = new ProfileBuilder(_options.Profiles);
        _userIds = UserIdProtector.Create(_options.Privacy);
        if (cluster is not null)
        {
            _logClock = new LogClockPart(_options.Profiles.ClockQuorum);
            _observers = [_logClock];
        }
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    public IPersonaStore Store => _store;
    public PersonaOptions Options => _options;

    /// <summary>The long jobs running beside requests (training, warming), as <c>/health</c> lists them.</summary>
    public BackgroundWork Background { get; } = new();
    public CatalogSnapshot Catalog => _profiles.Catalog;

    /// <summary>
    /// How user ids are stored (identity unless pseudonymisation is configured). Ingestion and user upserts protect
    /// ids themselves; every other member that takes a user id expects the stored id, so callers holding a raw id
    /// (an API route, a CLI argument) pass it through <see cref="UserIdProtector.ToStored"/> first.
    /// </summary>
    public UserIdProtector UserIds => _userIds;

    /// <summary>Creates the schema and loads catalog, consent and profile states from the store. Idempotent.</summary>
    public async Task StartAsync(IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        await _startGate.WaitAsync(cancellationToken);
        try
        {
            if (_started) return;
            await _store.InitializeAsync(cancellationToken);
            await PseudonymStoreGuard.CheckAsync(_store, _userIds, _time, cancellationToken);
            var clock = Stopwatch.StartNew();
            var counting = Task.Run(() => _store.CountEventsAsync(cancellationToken), cancellationToken);
            var items = new List<Item>();
            await foreach (var item in _store.ReadItemsAsync(cancellationToken)) items.Add(item);
            // Numbered before the records and parts decode: the item numbering then holds the catalog's id strings, and
            // what keeps item ids as strings shares them (KeyInterner.Shared) instead of keeping its own decoded copies.
            foreach (var item in items) ShopperSteps.Items.Intern(item.Id);
            _profiles.Catalog = CatalogSnapshot.Create(items);
            var users = new List<User>();
            await foreach (var user in _store.ReadUsersAsync(cancellationToken))
            {
                RememberUser(user);
                users.Add(user);
            }

            var catalogSeconds = clock.Elapsed.TotalSeconds;
            // The shopper records and each part decode side by side (SQLite reads block, hence the thread-pool tasks).
            // In a cluster every shopper starts cold: each is loaded by the node its grain activates on.
            var restoringShoppers = _cluster is null ? Task.Run(() => RestoreStateAsync(progress, cancellationToken), cancellationToken) : Task.FromResult(long.MaxValue);
            var restoringParts = Task.Run(() => RestorePartsAsync(items, users, cancellationToken), cancellationToken);
            var after = await restoringShoppers;
            var parts = await restoringParts;
            var restoreSeconds = clock.Elapsed.TotalSeconds - catalogSeconds;
            users.Clear();
            // One pass over the log feeds the shopper states and every part from where each left off.
            var from = parts.Aggregate(after, (min, part) => Math.Min(min, part.From));
            var lastAtStart = await _store.GetLastSequenceAsync(cancellationToken);
            var total = Math.Max(0, lastAtStart - Math.Min(from, lastAtStart));
            var done = 0L;
            var lastRead = 0L;
            var batch = new List<StoredEvent>(4096);
            await foreach (var e in _store.ReadEventsAsync(from, cancellationToken))
            {
                batch.Add(e);
                lastRead = e.Sequence;
                if (batch.Count == batch.Capacity)
                {
                    done += batch.Count;
                    ReplayPass(batch, after, parts);
                    await SpillWhenOverBudgetAsync(cancellationToken);
                    progress?.Report(new WorkProgress("Loading events", Math.Min(done, total), total));
                }
            }
            ReplayPass(batch, after, parts);
            foreach (var part in parts) part.Observer.CompleteStart();
            progress?.Report(new WorkProgress("Loading events", total, total));
            Interlocked.Add(ref _storedEvents, await counting);
            StartFollowing(Math.Max(lastRead, lastAtStart));
            _started = true;
            if (_logger.IsEnabled(LogLevel.Information))
                _logger.LogInformation("Persona loaded {Items} items and {Users} shoppers: {Restored} from the checkpoint at sequence {Checkpoint}, then {Tail} events replayed; state parts from sequence {Parts} (0: rebuilt from the log); catalog {CatalogSeconds:0.0} s, records and parts {RestoreSeconds:0.0} s, log pass {PassSeconds:0.0} s",
                    items.Count, _profiles.Count, LastRestore?.Shoppers, after, LastRestore?.TailEvents,
                    string.Join(", ", LastPartRestores.Select(p => $"{p.Key} {p.Value}")),
                    catalogSeconds, restoreSeconds, clock.Elapsed.TotalSeconds - catalogSeconds - restoreSeconds);
        }
        finally
        {
            _startGate.Release();
        }
    }

    /// <summary>Checks events whose type is still text (as the API reads them) and parses them when valid.</summary>
    public RawEventValidation ValidateRawEvents(IReadOnlyList<RawEvent> events)
    {
        var checkedBatch = _eventValidator.ValidateRaw(events, _time.GetUtcNow());
        if (!_userIds.Enabled) return checkedBatch;
        var shapes = PseudonymShapedIds(events.Count, i => events[i]?.UserId, "user_id");
        return shapes.Count == 0 ? checkedBatch : new RawEventValidation(checkedBatch.Events, [.. checkedBatch.Errors, .. shapes]);
    }

    public IReadOnlyList<FieldError> ValidateEvents(IReadOnlyList<Event> events) =>
        WithPseudonymShapes(_eventValidator.Validate(events, _time.GetUtcNow()), events.Count, i => events[i]?.UserId, "user_id");

    public IReadOnlyList<FieldError> ValidateItems(IReadOnlyList<Item> items) => _itemValidator.Validate(items);

    public IReadOnlyList<FieldError> ValidateUsers(IReadOnlyList<User> users) =>
        WithPseudonymShapes(_userValidator.Validate(users, _time.GetUtcNow()), users.Count, i => users[i]?.Id, "id");

    private IReadOnlyList<FieldError> WithPseudonymShapes(IReadOnlyList<FieldError> errors, int count, Func<int, string?> userId, string field)
    {
        if (!_userIds.Enabled) return errors;
        var shapes = PseudonymShapedIds(count, userId, field);
        return shapes.Count == 0 ? errors : [.. errors, .. shapes];
    }

    /// <summary>
    /// With pseudonymisation on, readers may name a user by their pseudonym, so a raw id of that very shape would be
    /// ambiguous: it is refused at the door rather than stored under an id nobody can read back.
    /// </summary>
    private static List<FieldError> PseudonymShapedIds(int count, Func<int, string?> userId, string field)
    {
        var errors = new List<FieldError>();
        for (var i = 0; i < count; i++)
            if (userId(i) is { } id && UserIdProtector.IsPseudonym(id.AsSpan().Trim()))
                errors.Add(new FieldError(i, field, $"has the shape of a stored pseudonym ({UserIdProtector.Prefix} and 32 hex digits); with pseudonymised ids a raw id must not look like one."));
        return errors;
    }

    /// <summary>
    /// Validates the whole batch first; stores all of it or, on any error, nothing. Returns once the batch is
    /// durable and applied to the profiles.
    /// </summary>
    public async Task<IngestOutcome> IngestEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var errors = ValidateEvents(events);
        return errors.Count > 0 ? IngestOutcome.Invalid(errors) : await AppendValidatedAsync(events, cancellationToken);
    }

    /// <summary>
    /// As <see cref="IngestEventsAsync"/> for events whose type is still text (the API's view of a request), so
    /// an unknown type is reported with the other field errors of the batch.
    /// </summary>
    public async Task<IngestOutcome> IngestRawEventsAsync(IReadOnlyList<RawEvent> events, CancellationToken cancellationToken)
    {
        var checkedBatch = ValidateRawEvents(events);
        return checkedBatch.IsValid ? await AppendValidatedAsync(checkedBatch.Events, cancellationToken) : IngestOutcome.Invalid(checkedBatch.Errors);
    }

    private async Task<IngestOutcome> AppendValidatedAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        if (!_started) throw new InvalidOperationException("Call StartAsync before ingesting.");
        var now = _time.GetUtcNow();
        var normalized = new StoredEvent[events.Count];
        for (var i = 0; i < events.Count; i++) normalized[i] = Normalize(events[i], now);
        var outcome = _cluster is null
            ? await AppendNormalizedAsync(normalized, cancellationToken)
            : await _cluster.AppendOnOwnersAsync(normalized, cancellationToken) with { EventIds = Array.ConvertAll(normalized, e => e.Id) };
        return outcome.Duplicates == 0 ? outcome : outcome with { Conflicts = await FindConflictsAsync(events, normalized, cancellationToken) };
    }

    /// <summary>Queues normalised events for the group commit; completes once they are durable and applied.</summary>
    private async Task<IngestOutcome> AppendNormalizedAsync(StoredEvent[] normalized, CancellationToken cancellationToken)
    {
        var pending = new PendingAppend(normalized);
        await _appends.Writer.WriteAsync(pending, cancellationToken);
        // Once queued the batch is written even if this caller goes away; it just stops waiting.
        return await pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The batch's events whose id the store holds with other content (a re-used id, not a retry). Read after the
    /// append, so only batches with duplicates pay for it, and concurrent senders of one id are compared too.
    /// </summary>
    private async Task<IReadOnlyList<EventConflict>> FindConflictsAsync(IReadOnlyList<Event> sent, StoredEvent[] normalized, CancellationToken cancellationToken)
    {
        var stored = (await _store.GetEventsAsync([.. normalized.Select(e => e.Id).Distinct(StringComparer.Ordinal)], cancellationToken))
            .ToDictionary(e => e.Id, StringComparer.Ordinal);
        var conflicts = new List<EventConflict>();
        for (var i = 0; i < normalized.Length; i++)
        {
            if (!stored.TryGetValue(normalized[i].Id, out var kept)) continue;
            var fields = EventConflict.Differences(normalized[i], kept, timestampSent: sent[i].Timestamp is not null);
            if (fields.Count > 0) conflicts.Add(new EventConflict(i, normalized[i].Id, fields));
        }
        return conflicts;
    }

    /// <summary>
    /// Group commit: batches that arrive while a transaction is being made durable are appended together in
    /// the next one, so concurrent clients share fsyncs instead of queueing for one each.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var reader = _appends.Reader;
        var publishing = Task.CompletedTask;
        while (await reader.WaitToReadAsync())
        {
            var group = new List<PendingAppend>();
            var total = 0;
            while (total < MaxGroupEvents && reader.TryRead(out var next))
            {
                group.Add(next);
                total += next.Events.Length;
            }
            var results = await AppendGroupAsync(group);
            // Profile states are order-independent, so publishing one group overlaps the next group's append.
            await publishing;
            publishing = Task.Run(() => Publish(results));
        }
        await publishing;
    }

    /// <summary>Appends a group in one transaction; when that fails, each batch alone, so one cannot sink the others.</summary>
    private async Task<List<(PendingAppend Batch, AppendResult Result)>> AppendGroupAsync(List<PendingAppend> group)
    {
        var results = new List<(PendingAppend, AppendResult)>(group.Count);
        try
        {
            var all = group.Count == 1 ? group[0].Events : group.SelectMany(p => p.Events).ToArray();
            var result = await AppendAsync(all);
            if (group.Count == 1)
            {
                results.Add((group[0], result));
                return results;
            }
            // Each stored event belongs to the first batch in the group that carried its id.
            var storedById = new Dictionary<string, StoredEvent>(result.Stored.Count, StringComparer.Ordinal);
            foreach (var e in result.Stored) storedById[e.Id] = e;
            foreach (var pending in group)
            {
                var mine = new List<StoredEvent>();
                foreach (var e in pending.Events)
                    if (storedById.Remove(e.Id, out var written)) mine.Add(written);
                results.Add((pending, new AppendResult(mine, pending.Events.Length - mine.Count)));
            }
        }
        catch (Exception ex)
        {
            if (group.Count == 1)
            {
                group[0].Done.TrySetException(ex);
                return results;
            }
            _logger.LogWarning(ex, "A grouped append failed; retrying its {Count} batches one by one", group.Count);
            results.Clear();
            foreach (var pending in group)
            {
                try { results.Add((pending, await AppendAsync(pending.Events))); }
                catch (Exception inner) { pending.Done.TrySetException(inner); }
            }
        }
        return results;
    }

    private async Task<AppendResult> AppendAsync(StoredEvent[] events)
    {
        await _writeGate.WaitAsync();
        try
        {
            var result = await _store.AppendEventsAsync(_bursts.Apply(events), CancellationToken.None);
            NoteAppended(result);
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Applies stored events to the profiles, then acknowledges each batch.</summary>
    private void Publish(List<(PendingAppend Batch, AppendResult Result)> results)
    {
        foreach (var (pending, result) in results)
        {
            try
            {
                // Observers (indexes, recommendation state) see the batch before it is acknowledged,
                // so a client's next read reflects what it just posted.
                var excluded = ApplyStored(result.Stored);
                pending.Done.TrySetResult(new IngestOutcome
                {
                    Stored = result.Stored.Count,
                    Duplicates = result.Duplicates,
                    Excluded = excluded,
                    EventIds = Array.ConvertAll(pending.Events, e => e.Id),
                });
            }
            catch (Exception ex)
            {
                // Stored but not applied: the acknowledgement fails; a restart rebuilds profiles from the store.
                pending.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>Applies newly stored events to the profiles and the observers; returns how many are excluded (bursts).</summary>
    private int ApplyStored(IReadOnlyList<StoredEvent> events)
    {
        // In a cluster the shopper states catch up from the store (CatchUpShopperAsync), and the observers (and the count)
        // take every node's events from the log (FollowLogAsync).
        if (_cluster is null) Interlocked.Add(ref _storedEvents, events.Count);
        try
        {
            var stored = WithoutErased(events);
            if (_cluster is null)
            {
                _profiles.Apply(stored);
                MarkApplied(events);
                foreach (var observer in _observers) observer.OnEventsStored(stored);
                foreach (var e in stored) _dirtyProfiles.TryAdd(e.UserId, 0);
            }
            var excluded = 0;
            foreach (var e in stored)
                if (e.ExcludedReason is not null) excluded++;
            return excluded;
        }
        finally
        {
            // Even when applying failed: a checkpoint waits for this count to catch up with the appended one.
            Interlocked.Add(ref _appliedEvents, events.Count);
        }
    }

    /// <summary>
    /// Drops events of users erased after the events were appended but before they were published (the erasure
    /// deleted them from the store already; its watermark is the last sequence at that moment).
    /// </summary>
    private IReadOnlyList<StoredEvent> WithoutErased(IReadOnlyList<StoredEvent> events)
    {
        if (_erasedThrough.IsEmpty) return events;
        var kept = new List<StoredEvent>(events.Count);
        foreach (var e in events)
            if (!_erasedThrough.TryGetValue(e.UserId, out var through) || e.Sequence > through) kept.Add(e);
        return kept;
    }

    /// <summary>
    /// Erases a user everywhere the engine knows of, in this order: the store (events, profile, user record and
    /// every document a <see cref="IUserDataOwner"/> rewrites without them, in one transaction), then the in-memory
    /// profile, consent and burst state, the owners' in-memory data, and every observer (indexes, recommendation
    /// state). Null when the user is unknown everywhere. Writes one audit entry. <paramref name="userId"/> is the
    /// stored id (see <see cref="UserIds"/>), so the audit log never holds a raw id when ids are pseudonymised.
    /// </summary>
    public async Task<ErasureReceipt?> EraseUserAsync(string userId, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        // No checkpoint runs meanwhile, so none can write back a part that still counts the shopper after the store dropped them.
        ErasureReceipt? receipt;
        await _checkpointGate.WaitAsync(cancellationToken);
        try
        {
            receipt = await EraseUserGatedAsync(userId, actor, cancellationToken);
        }
        finally
        {
            _checkpointGate.Release();
        }
        if (_cluster is not null && receipt is not null) await _cluster.UserErasedAsync(userId, CancellationToken.None);
        return receipt;
    }

    /// <summary>
    /// Runs <paramref name="work"/> with no erasure beside it, for an owner that writes per-shopper data of its own
    /// (a refresh's results): an erasure then happens wholly before it (the owner has seen <see cref="IUserDataOwner.Erase"/>)
    /// or wholly after it (and deletes what it wrote). Checkpoints wait for it too.
    /// </summary>
    internal async Task ExclusiveOfErasureAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        await _checkpointGate.WaitAsync(cancellationToken);
        try
        {
            await work();
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    private async Task<ErasureReceipt?> EraseUserGatedAsync(string userId, string actor, CancellationToken cancellationToken)
    {
        StoreErasure erased;
        var removed = new List<string>();
        bool found;
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            var owners = _owners;
            var documents = new List<DocumentUpdate>();
            foreach (var owner in owners) documents.AddRange(await owner.PrepareEraseAsync(userId, cancellationToken));
            var known = IsKnown(userId);
            await _profileWriteGate.WaitAsync(cancellationToken);
            try
            {
                erased = await _store.EraseUserAsync(userId, documents, CancellationToken.None);
                Interlocked.Add(ref _storedEvents, -erased.Events);
                _erasedThrough[userId] = await _store.GetLastSequenceAsync(CancellationToken.None);
                ForgetInMemory(userId, owners, removed);
            }
            finally
            {
                _profileWriteGate.Release();
            }
            found = known || erased.Events > 0 || erased.User || erased.Profile || removed.Count > 0;
            foreach (var observer in _observers)
                if (observer.OnUserErased(userId) is { } what) removed.Add(what);
        }
        finally
        {
            _writeGate.Release();
        }
        if (!found && removed.Count == 0) return null;
        // Aggregates are rebuilt only when the user had data (an unknown id only clears what memory might hold), and
        // outside the write path: one read of the log while ingest goes on, still under the checkpoint gate, so no
        // part counting the shopper is written meanwhile.
        if (found) removed.AddRange(await RecountWithoutAsync(userId));

        var receipt = new ErasureReceipt
        {
            UserId = userId,
            ErasedAt = _time.GetUtcNow(),
            Events = erased.Events,
            StoredProfile = erased.Profile,
            UserRecord = erased.User,
            DocumentsRewritten = erased.DocumentsRewritten,
            Removed = removed,
        };
        await _store.AppendAuditAsync(new AuditEntry(receipt.ErasedAt, actor, AuditActions.EraseUser, userId,
            $"{erased.Events} events, profile {(erased.Profile ? "yes" : "no")}, user record {(erased.User ? "yes" : "no")}, {erased.DocumentsRewritten} documents; {string.Join("; ", removed)}"),
            CancellationToken.None);
        return receipt;
    }

    /// <summary>
    /// After the store erased the shopper (here or on another node): drops the shopper's state, consent and owners' data
    /// from memory, adding a receipt line for each that held something. The store dropped every state part with the
    /// shopper, so the next checkpoint writes them afresh.
    /// </summary>
    private void ForgetInMemory(string userId, IUserDataOwner[] owners, List<string> removed)
    {
        _partsWrittenThrough.Clear();
        if (_profiles.Remove(userId)) removed.Add("profile state (in memory)");
        _dirtyProfiles.TryRemove(userId, out _);
        _dirtyStates.TryRemove(userId, out _);
        if (_consents.TryRemove(userId, out _)) removed.Add("consent flags (in memory)");
        foreach (var owner in owners)
            if (owner.Erase(userId) is { } what) removed.Add(what);
    }

    /// <summary>Feeds every observer's recount after an erasure from one read of the log; returns their receipt lines.</summary>
    private async Task<List<string>> RecountWithoutAsync(string userId)
    {
        var recounts = new List<IErasureRecount>();
        try
        {
            foreach (var observer in _observers)
                if (await observer.BeginRecountAsync(userId, CancellationToken.None) is { } recount) recounts.Add(recount);
            if (recounts.Count == 0) return [];
            var lastSequence = await ReadLogInPagesAsync(page =>
            {
                foreach (var recount in recounts) recount.Apply(page);
            }, CancellationToken.None);
            // In observer order: the item pairs are served before the services whose cached answers read them start afresh.
            return [.. recounts.Select(r => r.Complete(lastSequence))];
        }
        catch
        {
            foreach (var recount in recounts) recount.Abandon();
            throw;
        }
    }

    /// <summary>Adds a holder of per-user data (predictions, segments, audiences) that an erasure must clean.</summary>
    public void AddUserDataOwner(IUserDataOwner owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        lock (_registrationLock) _owners = [.. _owners, owner];
    }

    private sealed class PendingAppend(StoredEvent[] events)
    {
        public StoredEvent[] Events { get; } = events;
        public TaskCompletionSource<IngestOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Validates and upserts items; later events see the new attributes.</summary>
    public async Task<IReadOnlyList<FieldError>> UpsertItemsAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken)
    {
        var errors = _itemValidator.Validate(items);
        if (errors.Count > 0) return errors;
        var stamped = items.Select(i => i with { UpdatedAt = i.UpdatedAt ?? _time.GetUtcNow() }).ToList();
        await StoreItemsAsync(stamped, cancellationToken);
        if (_cluster is not null) await _cluster.ItemsUpsertedAsync(stamped, cancellationToken);
        return [];
    }

    /// <summary>Stores validated, stamped items in one transaction, then swaps the catalog once and tells the observers.</summary>
    private async Task StoreItemsAsync(IReadOnlyList<Item> stamped, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await _store.UpsertItemsAsync(stamped, cancellationToken);
            _profiles.Catalog = _profiles.Catalog.With(stamped);
            foreach (var observer in _observers) observer.OnItemsUpserted(stamped);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<IReadOnlyList<FieldError>> UpsertUsersAsync(IReadOnlyList<User> users, CancellationToken cancellationToken)
    {
        var errors = ValidateUsers(users);
        if (errors.Count > 0) return errors;
        if (_userIds.Enabled) users = users.Select(u => u with { Id = _userIds.Protect(u.Id) }).ToList();
        await _store.UpsertUsersAsync(users, cancellationToken);
        foreach (var user in users)
        {
            RememberUser(user);
            _dirtyProfiles.TryAdd(user.Id, 0);
        }
        foreach (var observer in _observers) observer.OnUsersUpserted(users);
        if (_cluster is not null) await _cluster.UsersUpsertedAsync(users, cancellationToken);
        return [];
    }

    public Task<Item?> GetItemAsync(string id, CancellationToken cancellationToken) =>
        _store.GetItemAsync(id, cancellationToken);

    /// <summary>The stored user record; <paramref name="id"/> is the stored id (see <see cref="UserIds"/>).</summary>
    public Task<User?> GetUserAsync(string id, CancellationToken cancellationToken) => _store.GetUserAsync(id, cancellationToken);

    /// <summary>
    /// The shop's "now", per <see cref="PersonaOptions.Clock"/>: the data clock (the newest time a quorum of shoppers has
    /// reached, see <see cref="ProfileBook"/>) or the wall clock. A shopper whose own newest event is later is
    /// evaluated as of that event.
    /// </summary>
    public DateTimeOffset AsOf => _options.Clock == ClockModes.Wall || (_logClock is null ? _profiles.DataClock : _logClock.Now) is not { } clock ? _time.GetUtcNow() : clock;

    /// <summary>
    /// The live profile, built from the in-memory state, so it includes every acknowledged event. <paramref name="userId"/>
    /// is the stored id (see <see cref="UserIds"/>).
    /// </summary>
    public ProfileRead GetProfile(string userId) => GetProfile(userId, enrich: true);

    /// <summary>
    /// As <see cref="GetProfile(string)"/>; with <paramref name="enrich"/> false the model outputs (embedding,
    /// predictions, segment) are left out, for callers that need only the behavioural part on a hot path.
    /// </summary>
    public ProfileRead GetProfile(string userId, bool enrich) =>
        PersonalizationAllowed(userId) ? Read(userId, _profiles.Build(userId, AsOf), enrich) : Withdrawn;

    private static readonly ProfileRead Withdrawn = new(ProfileStatus.ConsentWithdrawn, null);

    /// <summary>What a profile read answers for the book's profile (null: none): a known user without events gets an empty one.</summary>
    private ProfileRead Read(string userId, Profile? profile, bool enrich)
    {
        if (profile is null && IsKnown(userId))
            profile = _builder.Build(userId, new ProfileState(_options.Profiles), Catalog, AsOf, version: 0);
        if (profile is null) return new ProfileRead(ProfileStatus.UnknownUser, null);
        return new ProfileRead(ProfileStatus.Found, enrich ? Enrich(profile) : profile);
    }

    /// <summary>
    /// <see cref="GetProfile(string, bool)"/> and <see cref="RecentSteps"/> in one read of the shopper's state (a cold
    /// shopper is loaded once); no steps when there is no profile to build.
    /// </summary>
    public (ProfileRead Read, BehaviorStep[] Steps, HashSet<string> Seen) GetProfileWithSteps(string userId, bool enrich, int maxSteps, bool withSeen)
    {
        if (!PersonalizationAllowed(userId)) return (Withdrawn, [], new HashSet<string>(StringComparer.Ordinal));
        var (profile, steps, seen) = _profiles.BuildWithSteps(userId, maxSteps, withSeen, AsOf);
        return (Read(userId, profile, enrich), steps, seen);
    }

    private readonly Lock _registrationLock = new();
    private volatile IProfileEnricher[] _enrichers = [];
    private volatile IEngineObserver[] _observers = [];
    private volatile IUserDataOwner[] _owners = [];
    private readonly ConcurrentDictionary<string, long> _erasedThrough = new(StringComparer.Ordinal);

    /// <summary>Adds model outputs (predictions, segment, embedding) to profiles served and saved; applied in the order added.</summary>
    public void AddProfileEnricher(IProfileEnricher enricher)
    {
        ArgumentNullException.ThrowIfNull(enricher);
        lock (_registrationLock) _enrichers = [.. _enrichers, enricher];
    }

    private volatile ItemPairsPart? _itemPairs;

    /// <summary>
    /// The one item-pair structure (recommendations' "next item" counts, search's co-visitation), as it is now: replaced
    /// when an erasure recounts it, so read it per request. The first use registers it as a state part; before
    /// <see cref="StartAsync(IProgress{WorkProgress}?, CancellationToken)"/> the start pass builds it, after it
    /// <see cref="LoadItemPairsAsync"/> reads the log.
    /// </summary>
    public ItemPairs ItemPairs => ItemPairsState.Current;

    /// <summary>
    /// Streams every stored event after <paramref name="afterSequence"/> to <paramref name="apply"/>, a page at a time in
    /// sequence order, so memory stays flat however long the log is (the observers that read it themselves: registered
    /// after the start, or recounting an aggregate after an erasure); returns the last sequence read (<paramref name="afterSequence"/> when none).
    /// </summary>
    internal async Task<long> ReadLogInPagesAsync(Action<List<StoredEvent>> apply, CancellationToken cancellationToken, long afterSequence = 0)
    {
        var lastSequence = afterSequence;
        var page = new List<StoredEvent>(10_000);
        await foreach (var e in _store.ReadEventsAsync(afterSequence, cancellationToken))
        {
            lastSequence = Math.Max(lastSequence, e.Sequence);
            page.Add(e);
            if (page.Count == page.Capacity)
            {
                apply(page);
                page.Clear();
            }
        }
        apply(page);
        return lastSequence;
    }

    /// <summary>Completes when <see cref="ItemPairs"/> holds the whole log (at once when the start pass fed it).</summary>
    public Task LoadItemPairsAsync(CancellationToken cancellationToken) => ItemPairsState.LoadAsync(cancellationToken);

    private ItemPairsPart ItemPairsState
    {
        get
        {
            if (_itemPairs is { } part) return part;
            lock (_registrationLock)
            {
                if (_itemPairs is null)
                {
                    // First among observers: an erasure recounts the pairs before the services that cache answers over them.
                    _itemPairs = new ItemPairsPart(this, _options.State, _logger, late: _partsCollected);
                    _observers = [_itemPairs, .. _observers];
                }
                return _itemPairs;
            }
        }
    }

    /// <summary>Tells <paramref name="observer"/> of every stored event batch and item upsert from now on.</summary>
    public void AddObserver(IEngineObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_registrationLock) _observers = [.. _observers, observer];
    }

    private Profile Enrich(Profile profile)
    {
        foreach (var enricher in _enrichers) profile = enricher.Enrich(profile);
        return profile;
    }

    /// <summary>False when the user has withdrawn personalisation consent (a dictionary read; <see cref="GetProfile(string)"/> builds the whole profile).</summary>
    public bool PersonalizationAllowed(string userId) => !_consents.TryGetValue(userId, out var consent) || consent.Personalization;

    /// <summary>False when the user has withdrawn marketing consent: never counted in or exported with an audience.</summary>
    public bool MarketingAllowed(string userId) => !_consents.TryGetValue(userId, out var consent) || consent.Marketing;

    /// <summary>
    /// The shopper's newest item steps (oldest first) and, when asked, the items they recently interacted with: the one
    /// recent-step store, kept in the shopper's state (so it goes cold with it), read by recommendations and search.
    /// </summary>
    public (BehaviorStep[] Steps, HashSet<string> Seen) RecentSteps(string userId, int maxSteps = int.MaxValue, bool withSeen = false) =>
        _profiles.RecentSteps(userId, maxSteps, withSeen);

    /// <summary>Changes whenever the shopper's state changes, never repeated (0: unknown); for caches of answers derived from it.</summary>
    public long ShopperChange(string userId) => _profiles.ChangeOf(userId);

    /// <summary>Up to <paramref name="count"/> shoppers, the most recently active first: whom to warm caches for.</summary>
    public IReadOnlyList<string> MostRecentShoppers(int count) => _profiles.MostRecentUsers(count);

    /// <summary>Users with a profile state, for batch jobs.</summary>
    public IEnumerable<string> ProfileUsers => _profiles.Users;

    /// <summary>Writes the profiles changed since the last flush to the store (versioned; older versions never overwrite newer).</summary>
    public async Task<int> FlushProfilesAsync(CancellationToken cancellationToken)
    {
        await _profileWriteGate.WaitAsync(cancellationToken);
        try
        {
            return await FlushProfilesGatedAsync(cancellationToken);
        }
        finally
        {
            _profileWriteGate.Release();
        }
    }

    /// <summary>
    /// Held while profiles are written and while an erasure deletes a shopper's stored data and state: a profile built
    /// before an erasure is never saved after it (which would put the erased shopper's profile back in the store).
    /// </summary>
    private readonly SemaphoreSlim _profileWriteGate = new(1, 1);

    private async Task<int> FlushProfilesGatedAsync(CancellationToken cancellationToken)
    {
        var changed = _dirtyProfiles.Keys.ToList();
        if (changed.Count == 0) return 0;
        foreach (var user in changed) _dirtyProfiles.TryRemove(user, out _);
        var asOf = AsOf;
        var profiles = new List<Profile>(Math.Min(changed.Count, 1000));
        var written = 0;
        foreach (var user in changed)
        {
            if (_consents.TryGetValue(user, out var consent) && !consent.Personalization) continue;
            if (_profiles.Build(user, asOf) is not { } profile) continue;
            profiles.Add(Enrich(profile));
            if (profiles.Count == 1000)
            {
                await _store.SaveProfilesAsync(profiles, cancellationToken);
                written += profiles.Count;
                profiles.Clear();
            }
        }
        if (profiles.Count > 0) await _store.SaveProfilesAsync(profiles, cancellationToken);
        return written + profiles.Count;
    }

    public async Task<PersonaStats> GetStatsAsync(CancellationToken cancellationToken) => new(
        _started ? Interlocked.Read(ref _storedEvents) : await _store.CountEventsAsync(cancellationToken),
        await _store.CountItemsAsync(cancellationToken),
        await _store.CountUsersAsync(cancellationToken),
        _profiles.Count,
        await _store.GetLastSequenceAsync(cancellationToken),
        _profiles.DataClock);

    private void RememberUser(User user)
    {
        _consents[user.Id] = user.Consent;
    }

    /// <summary>A shopper with events (a profile state, hot or cold) or a user record (whose consent is kept).</summary>
    private bool IsKnown(string userId) => _profiles.Contains(userId) || _consents.ContainsKey(userId);

    /// <summary>Finishes queued appends, writes the changed profiles, then closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        _appends.Writer.TryComplete();
        await _writeLoop;
        await StopFollowingAsync();
        if (_started)
        {
            try
            {
                await FlushProfilesAsync(CancellationToken.None);
                await CheckpointStateAsync(CancellationToken.None);
            }
            catch (ObjectDisposedException)
            {
                // Already closed by an earlier dispose.
            }
        }
        // The gates are left undisposed (they own no wait handle), so a call racing shutdown meets the closed store's
        // ObjectDisposedException rather than a semaphore's.
        await _store.DisposeAsync();
    }
}
