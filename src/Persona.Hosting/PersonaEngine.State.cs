using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Persona.Abstractions;
using Persona.Core.Profiles;

namespace Persona.Hosting;

/// <summary>
/// Derived-state checkpoints (docs/state.md): changed shoppers' states are written with the sequence each reaches,
/// then a checkpoint row; a start loads them and replays only the log after the checkpoint.
/// </summary>
public sealed partial class PersonaEngine
{
    /// <summary>The checkpoint row of the shopper states (and the burst counters it carries).</summary>
    public const string ShopperStatePart = "shopper-states";

    /// <summary>Shopper records per checkpoint transaction: a crash leaves whole chunks; appends wait at most one chunk.</summary>
    private const int CheckpointChunk = 2_000;

    // Shoppers whose state changed since their record was last written.
    private readonly ConcurrentDictionary<string, byte> _dirtyStates = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    // Highest sequence applied to the shopper states (published in sequence order), and appended (seen by the burst detector).
    private long _publishedThrough;
    private long _appendedThrough;

    /// <summary>Shoppers' profile states in memory against their budget, and the cold traffic so far.</summary>
    public ShopperStateMemory StateMemory
    {
        get
        {
            var (loads, evictions) = _profiles.ColdTraffic;
            return new ShopperStateMemory(_profiles.Count, _profiles.HotBytes, _options.State.MemoryBudgetBytes, loads, evictions);
        }
    }

    /// <summary>What the last start restored: shoppers read from the checkpoint, events replayed after it.</summary>
    public StateRestore? LastRestore { get; private set; }

    /// <summary>
    /// Loads the shopper states of the last checkpoint, when it was written under today's options, and returns the
    /// sequence the log must be replayed after (0: everything). Damaged records are rebuilt from the shopper's events.
    /// </summary>
    private async Task<long> RestoreStateAsync(IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        var fingerprint = ProfileState.OptionsFingerprint(_options.Profiles);
        var checkpoint = await _store.GetStateCheckpointAsync(ShopperStatePart, cancellationToken);
        if (checkpoint is null || checkpoint.Fingerprint != fingerprint || !TryReadBurstData(checkpoint.Data, out var burstsThrough, out var bursts)
            || !_bursts.Restore(bursts))
        {
            if (checkpoint is not null && _logger.IsEnabled(LogLevel.Warning))
                _logger.LogWarning("The state checkpoint was written under other profile options or is damaged; rebuilding every shopper from the log");
            // Records without a usable checkpoint row are not trusted: the replay rewrites them all.
            await _store.ClearShopperStatesAsync(cancellationToken);
            LastRestore = new StateRestore(0, 0, 0, 0);
            return 0;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var damaged = new List<string>();
        var restored = 0;
        // Records are decoded into memory while half the hot-state budget is free; the rest stay cold, in the store,
        // until first touched, and only their heads are read (the newest time kept beside each record).
        var hotLimit = _options.State.MemoryBudgetBytes / 2;
        var full = false;
        await foreach (var row in _store.ReadShopperStatesAsync(cancellationToken))
        {
            if (_profiles.HotBytes >= hotLimit)
            {
                full = true;
                break;
            }
            if (ProfileState.Decode(row.State, _options.Profiles) is { } state && state.ThroughSequence == row.ThroughSequence)
            {
                _profiles.Restore(row.UserId, state);
                if (++restored % 50_000 == 0) progress?.Report(new WorkProgress("Loading shopper states", restored, restored));
            }
            else damaged.Add(row.UserId);
        }
        if (full) restored += await RestoreColdAsync(damaged, restored, progress, cancellationToken);
        foreach (var userId in damaged)
        {
            var events = await _store.GetUserEventsAsync(userId, cancellationToken);
            _profiles.ApplyTail([.. events.Where(e => e.Sequence <= checkpoint.Sequence)], Catalog);
            _dirtyStates.TryAdd(userId, 0);
        }
        if (damaged.Count > 0 && _logger.IsEnabled(LogLevel.Warning))
            _logger.LogWarning("Rebuilt {Count} damaged shopper state records from their events", damaged.Count);
        _burstsThrough = burstsThrough;
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Shopper states: {Count} records read in {Seconds:0.0} s", restored, clock.Elapsed.TotalSeconds);
        // A restart with no new events must checkpoint at the same place, not at 0.
        _publishedThrough = checkpoint.Sequence;
        _appendedThrough = Math.Max(checkpoint.Sequence, burstsThrough);
        LastRestore = new StateRestore(checkpoint.Sequence, restored, damaged.Count, 0);
        return checkpoint.Sequence;
    }

    /// <summary>
    /// Registers every shopper not restored hot as cold, from the record heads. Records written before their newest
    /// time was kept beside them are read once, peeked, and written back with it (a one-time cost for older stores).
    /// </summary>
    private async Task<int> RestoreColdAsync(List<string> damaged, int restoredHot, IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        var skip = damaged.ToHashSet(StringComparer.Ordinal);
        var backfill = new List<ShopperStateRecord>(CheckpointChunk);
        var backfilled = 0;
        var restored = 0;
        await foreach (var head in _store.ReadShopperStateHeadsAsync(cancellationToken))
        {
            if (skip.Contains(head.UserId)) continue;
            var latest = head.LatestTicks;
            if (latest is null)
            {
                if (!ProfileState.TryPeek(head.State, out var through, out var ticks) || through != head.ThroughSequence)
                {
                    // Not registered: the damaged ones are rebuilt from their events after this pass.
                    damaged.Add(head.UserId);
                    continue;
                }
                latest = ticks;
                backfill.Add(new ShopperStateRecord(head.UserId, head.ThroughSequence, head.State!, ticks));
                if (backfill.Count == CheckpointChunk) await WriteBackfillAsync();
            }
            // False for the shoppers already restored hot.
            if (!_profiles.RestoreCold(head.UserId, latest.Value)) continue;
            if (++restored % 50_000 == 0) progress?.Report(new WorkProgress("Loading shopper states", restoredHot + restored, restoredHot + restored));
        }
        await WriteBackfillAsync();
        if (backfilled > 0 && _logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("Kept the newest event time beside {Count} older shopper records (once)", backfilled);
        return restored;

        // In chunks as the heads stream by (WAL: the open read sees its own snapshot), so no more than one chunk of
        // records is held.
        async Task WriteBackfillAsync()
        {
            if (backfill.Count == 0) return;
            await _store.WriteShopperStatesAsync(backfill, checkpoint: null, cancellationToken);
            backfilled += backfill.Count;
            backfill.Clear();
        }
    }

    // Events up to this sequence are already counted by the restored burst detector.
    private long _burstsThrough;

    /// <summary>A part observer at start, and the sequence its restored state covers (0: rebuilt from the whole log).</summary>
    private sealed record PartStart(IStatePartObserver Observer, long From);

    // Set once the start pass took its parts: a part registered after it must read the log itself.
    private bool _partsCollected;

    // The parts fed by the start pass: only their state is whole (one registered later loads the log itself, and may still be loading).
    private IStatePartObserver[] _startParts = [];
    // Per part: the sequence its stored copy covers (absent: none stored); a checkpoint writes only parts that moved.
    private readonly ConcurrentDictionary<string, long> _partsWrittenThrough = new(StringComparer.Ordinal);
    // Stored events appended, and applied to profiles and observers, since start: equal when nothing is in flight.
    private long _appendedEvents;
    private long _appliedEvents;

    /// <summary>
    /// Prepares the part observers registered so far and restores each from its stored part when it is usable, the
    /// parts side by side (each owns its state; the item and user lists are only read).
    /// </summary>
    private async Task<List<PartStart>> RestorePartsAsync(List<Item> items, List<User> users, CancellationToken cancellationToken)
    {
        IStatePartObserver[] observers;
        lock (_registrationLock)
        {
            observers = _observers.OfType<IStatePartObserver>().ToArray();
            _partsCollected = true;
        }
        var parts = await Task.WhenAll(observers.Select(observer => Task.Run(() => RestorePartAsync(observer, items, users, cancellationToken), cancellationToken)));
        _startParts = observers;
        // A part rebuilt from the whole log is written at the first periodic checkpoint; restored ones wait their interval.
        _partsWrittenAt = parts.All(p => p.From > 0) ? _time.GetUtcNow() : DateTimeOffset.MinValue;
        return [.. parts];
    }

    /// <summary>
    /// A part observer registered after the start pass that restored itself from its stored part through
    /// <paramref name="restoredThrough"/> (the online loop of a server given a started engine): checkpoints write it
    /// from now on. A part of the same name already written is left as it is.
    /// </summary>
    public void AdoptLatePart(IStatePartObserver observer, long restoredThrough)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_registrationLock)
        {
            if (_startParts.Any(p => p.PartName == observer.PartName)) return;
            if (restoredThrough > 0) _partsWrittenThrough[observer.PartName] = restoredThrough;
            _startParts = [.. _startParts, observer];
        }
    }

    private async Task<PartStart> RestorePartAsync(IStatePartObserver observer, List<Item> items, List<User> users, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        observer.PrepareStart(items, users);
        var prepared = clock.Elapsed.TotalSeconds;
        var stored = await _store.ReadStatePartAsync(observer.PartName, cancellationToken);
        var from = 0L;
        if (stored is not null && stored.Fingerprint == observer.PartFingerprint && observer.TryRestore(stored.Data))
        {
            from = stored.Sequence;
            _partsWrittenThrough[observer.PartName] = from;
        }
        else if (stored is not null && _logger.IsEnabled(LogLevel.Warning))
        {
            _logger.LogWarning("The stored {Part} state was written under other options or is damaged; rebuilding it from the log", observer.PartName);
        }
        _lastPartRestores[observer.PartName] = from;
        if (_logger.IsEnabled(LogLevel.Information))
            _logger.LogInformation("State part {Part}: prepared in {Prepare:0.0} s, restored to sequence {Sequence} in {Restore:0.0} s",
                observer.PartName, prepared, from, clock.Elapsed.TotalSeconds - prepared);
        return new PartStart(observer, from);
    }

    /// <summary>What the last start restored per state part: the sequence its stored copy covered (0: rebuilt from the log).</summary>
    public IReadOnlyDictionary<string, long> LastPartRestores => _lastPartRestores;

    private readonly ConcurrentDictionary<string, long> _lastPartRestores = new(StringComparer.Ordinal);

    /// <summary>One page of the start pass: the shopper states take what follows their checkpoint, each part what follows its own.</summary>
    private void ReplayPass(List<StoredEvent> page, long shoppersAfter, List<PartStart> parts)
    {
        foreach (var part in parts)
        {
            if (page.Count == 0 || page[^1].Sequence <= part.From) continue;
            part.Observer.ReplayStored(page[0].Sequence > part.From ? page : page.FindAll(e => e.Sequence > part.From));
        }
        if (page.Count > 0 && page[^1].Sequence > shoppersAfter)
            ReplayTail(page[0].Sequence > shoppersAfter ? page : page.FindAll(e => e.Sequence > shoppersAfter));
        if (page.Count > 0 && page[^1].Sequence > _appendedThrough) _appendedThrough = page[^1].Sequence;
        page.Clear();
    }

    /// <summary>Replays stored events after a checkpoint (or all of them) into the shopper states and burst counters.</summary>
    private void ReplayTail(List<StoredEvent> events)
    {
        foreach (var e in events)
            if (e.Sequence > _burstsThrough) _bursts.Observe(e);
        foreach (var userId in _profiles.ApplyTail(events, Catalog)) _dirtyStates.TryAdd(userId, 0);
        if (events.Count > 0)
        {
            _publishedThrough = _appendedThrough = events[^1].Sequence;
            if (LastRestore is { } restore) LastRestore = restore with { TailEvents = restore.TailEvents + events.Count };
        }
        events.Clear();
    }

    /// <summary>After an append, under the write gate: the burst counters now reach its last sequence.</summary>
    private void NoteAppended(AppendResult result)
    {
        Interlocked.Add(ref _appendedEvents, result.Stored.Count);
        if (result.Stored.Count > 0 && result.Stored[^1].Sequence > Interlocked.Read(ref _appendedThrough))
            Interlocked.Exchange(ref _appendedThrough, result.Stored[^1].Sequence);
    }

    /// <summary>After a stored batch is applied: its shoppers need their records rewritten, and the checkpoint may move past it.</summary>
    private void MarkApplied(IReadOnlyList<StoredEvent> stored)
    {
        var highest = 0L;
        foreach (var e in stored)
        {
            _dirtyStates.TryAdd(e.UserId, 0);
            if (e.Sequence > highest) highest = e.Sequence;
        }
        // Marked dirty first: a checkpoint that reads this sequence finds every shopper it covers in the dirty set.
        if (highest > Interlocked.Read(ref _publishedThrough)) Interlocked.Exchange(ref _publishedThrough, highest);
    }

    /// <summary>
    /// Writes the states of shoppers changed since the last checkpoint, in chunks, then the checkpoint row (with the
    /// burst counters), then the state parts that moved (item pairs, recommendations, search). Returns the shoppers written. Safe to
    /// call concurrently with ingestion and erasure: each chunk is encoded and written under the write gate, so an
    /// erased shopper is never written back.
    /// </summary>
    public Task<int> CheckpointStateAsync(CancellationToken cancellationToken) => CheckpointStateAsync(progress: null, cancellationToken);

    /// <summary>
    /// The periodic checkpoint: as <see cref="CheckpointStateAsync(CancellationToken)"/>, but the state parts only once
    /// <see cref="StateOptions.PartIntervalSeconds"/> have passed since they were last written.
    /// </summary>
    public Task<int> CheckpointStateWhenDueAsync(CancellationToken cancellationToken) =>
        CheckpointStateAsync(progress: null, partsOnlyWhenDue: true, cancellationToken);

    /// <summary>The stage <see cref="CheckpointStateAsync(IProgress{WorkProgress}, CancellationToken)"/> reports, after each chunk of shopper records.</summary>
    public const string WritingCheckpoint = "Writing the state checkpoint";

    /// <inheritdoc cref="CheckpointStateAsync(CancellationToken)"/>
    public Task<int> CheckpointStateAsync(IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        CheckpointStateAsync(progress, partsOnlyWhenDue: false, cancellationToken);

    private async Task<int> CheckpointStateAsync(IProgress<WorkProgress>? progress, bool partsOnlyWhenDue, CancellationToken cancellationToken)
    {
        if (!_started) return 0;
        await _checkpointGate.WaitAsync(cancellationToken);
        try
        {
            var through = Interlocked.Read(ref _publishedThrough);
            var written = await WriteChangedStatesAsync(progress, cancellationToken);
            // A cluster node writes no checkpoint row: every node starts its shoppers cold.
            if (_cluster is null)
            {
                await _writeGate.WaitAsync(cancellationToken);
                try
                {
                    var data = BurstData(Interlocked.Read(ref _appendedThrough), _bursts.Encode());
                    var checkpoint = new StateCheckpoint(ShopperStatePart, ProfileState.OptionsFingerprint(_options.Profiles), through, _time.GetUtcNow(), data);
                    await _store.WriteShopperStatesAsync([], checkpoint, cancellationToken);
                }
                finally
                {
                    _writeGate.Release();
                }
            }
            var due = _time.GetUtcNow() - _partsWrittenAt >= TimeSpan.FromSeconds(_options.State.PartIntervalSeconds);
            if (!partsOnlyWhenDue || due) await CheckpointPartsAsync(cancellationToken);
            return written;
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    /// <summary>
    /// Writes the records of the shoppers changed since they were last written, in chunks, each encoded and written
    /// under the write gate (so an erased shopper is never written back), and tells the profile book each is stored, so
    /// it may drop the state when over its budget. A failure or cancellation leaves the unwritten ones changed.
    /// </summary>
    private async Task<int> WriteChangedStatesAsync(IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        var users = new List<string>();
        foreach (var user in _dirtyStates.Keys)
            if (_dirtyStates.TryRemove(user, out _)) users.Add(user);
        var written = 0;
        var done = 0;
        try
        {
            var records = new List<ShopperStateRecord>(Math.Min(CheckpointChunk, users.Count));
            var versions = new List<long>(records.Capacity);
            while (done < users.Count)
            {
                var end = Math.Min(users.Count, done + CheckpointChunk);
                await _writeGate.WaitAsync(cancellationToken);
                try
                {
                    records.Clear();
                    versions.Clear();
                    for (var i = done; i < end; i++)
                    {
                        if (_profiles.Encode(users[i]) is not { } encoded) continue;
                        records.Add(new ShopperStateRecord(users[i], encoded.ThroughSequence, encoded.Record, encoded.LatestTicks));
                        versions.Add(encoded.Version);
                    }
                    await _store.WriteShopperStatesAsync(records, checkpoint: null, cancellationToken);
                    for (var i = 0; i < records.Count; i++) _profiles.MarkStored(records[i].UserId, versions[i]);
                    written += records.Count;
                    done = end;
                }
                finally
                {
                    _writeGate.Release();
                }
                progress?.Report(new WorkProgress(WritingCheckpoint, done, users.Count, "shoppers"));
            }
            // One sweep after the lot: a sweep per chunk would pass every still-unwritten state each time.
            _profiles.Trim();
            return written;
        }
        finally
        {
            for (var i = done; i < users.Count; i++) _dirtyStates.TryAdd(users[i], 0);
        }
    }

    /// <summary>
    /// When the hot shopper states exceed their budget: writes the changed ones (no checkpoint row: each record carries
    /// its own sequence) so the book can drop them. For long passes (start, bulk import) between periodic checkpoints.
    /// </summary>
    private async Task SpillWhenOverBudgetAsync(CancellationToken cancellationToken)
    {
        if (!_profiles.OverBudget || _dirtyStates.IsEmpty) return;
        await _checkpointGate.WaitAsync(cancellationToken);
        try
        {
            if (_profiles.OverBudget) await WriteChangedStatesAsync(progress: null, cancellationToken);
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    /// <summary>Reads cold shoppers back from their stored records (see <see cref="IColdStateLoader"/>).</summary>
    private sealed class StoredShopperStates(PersonaEngine engine) : IColdStateLoader
    {
        public ProfileState Load(string userId, out bool stored)
        {
            var options = engine._options.Profiles;
            // Synchronous by contract (called under the shopper's lock); SQLite answers a keyed read in microseconds.
            var row = engine._store.GetShopperStateAsync(userId).GetAwaiter().GetResult();
            if (row is not null && ProfileState.Decode(row.State, options) is { } state && state.ThroughSequence == row.ThroughSequence)
            {
                stored = true;
                return state;
            }
            if (engine._logger.IsEnabled(LogLevel.Warning))
                engine._logger.LogWarning("The stored state of a cold shopper is missing or damaged; rebuilding it from the shopper's events");
            // Events after the published sequence are still being applied, and will be applied to this state.
            var through = Interlocked.Read(ref engine._publishedThrough);
            var rebuilt = new ProfileState(options);
            foreach (var e in engine._store.GetUserEventsAsync(userId).GetAwaiter().GetResult())
                if (e.Sequence <= through) rebuilt.Apply(e, engine.Catalog);
            engine._dirtyStates.TryAdd(userId, 0);
            stored = false;
            return rebuilt;
        }
    }

    /// <summary>
    /// Writes the part observers whose state moved since their stored copy. Each is encoded under the write gate once
    /// every appended batch has been applied, so it covers exactly the log up to the last appended sequence; it is
    /// written after the gate opens (the checkpoint gate keeps erasures out until then). A cluster node's parts follow
    /// the log instead: each is encoded between pages of it, covering the log through <see cref="FollowedThrough"/>
    /// (every node writes them; any node's copy is complete up to its sequence).
    /// </summary>
    private async Task CheckpointPartsAsync(CancellationToken cancellationToken)
    {
        var gate = _cluster is null ? _writeGate : _followGate;
        foreach (var observer in _startParts)
        {
            StatePart part;
            await gate.WaitAsync(cancellationToken);
            try
            {
                if (_cluster is null) await DrainAppliedAsync(cancellationToken);
                var through = _cluster is null ? Interlocked.Read(ref _appendedThrough) : Interlocked.Read(ref _followedThrough);
                if (_partsWrittenThrough.TryGetValue(observer.PartName, out var written) && written == through) continue;
                part = new StatePart(observer.PartName, observer.PartFingerprint, through, _time.GetUtcNow(), observer.Encode());
            }
            finally
            {
                gate.Release();
            }
            await _store.WriteStatePartAsync(part, cancellationToken);
            _partsWrittenThrough[part.Name] = part.Sequence;
        }
        _partsWrittenAt = _time.GetUtcNow();
    }

    // When the parts were last checked and written (start counts: they were restored or rebuilt then).
    private DateTimeOffset _partsWrittenAt = DateTimeOffset.MinValue;

    /// <summary>Under the write gate: waits until every appended batch has been applied (publishing runs beside appends).</summary>
    private async Task DrainAppliedAsync(CancellationToken cancellationToken)
    {
        while (Interlocked.Read(ref _appliedEvents) < Interlocked.Read(ref _appendedEvents))
            await Task.Delay(1, cancellationToken);
    }

    private static byte[] BurstData(long appendedThrough, byte[] bursts)
    {
        var data = new byte[8 + bursts.Length];
        BinaryPrimitives.WriteInt64LittleEndian(data, appendedThrough);
        bursts.CopyTo(data, 8);
        return data;
    }

    private static bool TryReadBurstData(byte[]? data, out long appendedThrough, out byte[] bursts)
    {
        appendedThrough = 0;
        bursts = [];
        if (data is null || data.Length < 8) return false;
        appendedThrough = BinaryPrimitives.ReadInt64LittleEndian(data);
        bursts = data[8..];
        return true;
    }
}

/// <param name="CheckpointSequence">The checkpoint the start began from (0: none usable, the whole log was replayed).</param>
/// <param name="Shoppers">Shopper states read from the checkpoint.</param>
/// <param name="Rebuilt">Damaged records rebuilt from the shopper's own events.</param>
/// <param name="TailEvents">Events replayed after the checkpoint.</param>
public sealed record StateRestore(long CheckpointSequence, int Shoppers, int Rebuilt, long TailEvents);

/// <param name="Shoppers">Shoppers with a profile state, hot or cold.</param>
/// <param name="HotBytes">Estimated bytes of the states held in memory.</param>
/// <param name="BudgetBytes">The budget above which stored, untouched states leave memory (<see cref="StateOptions.MemoryBudgetMiB"/>).</param>
/// <param name="Loads">Cold states read back from the store since start.</param>
/// <param name="Evictions">Hot states dropped from memory since start.</param>
public sealed record ShopperStateMemory(int Shoppers, long HotBytes, long BudgetBytes, long Loads, long Evictions);
