using Microsoft.Extensions.Logging;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Hosting.Cluster;

namespace Persona.Hosting;

/// <summary>
/// The engine as one node of a cluster (docs/cluster.md). Each shopper has one writer, the node where its grain is
/// active: ingest on any node appends each shopper's events through that node (<see cref="IClusterPeers"/>), which then
/// catches the shopper's state up from the store. Item-side state (item pairs, recommendation and search state) is fed on every
/// node by following the shared log in sequence order, so all nodes hold the same aggregates, built in log order.
/// </summary>
public sealed partial class PersonaEngine
{
    /// <summary>How often a node reads the log after the last sequence it applied to its item-side state.</summary>
    public static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(50);

    private readonly IClusterPeers? _cluster;
    // A cluster node's shop clock, over every shopper in the log (the node holds only its own shoppers' states).
    private readonly LogClockPart? _logClock;
    // The item-side observers hold the log through this sequence (cluster only); the gate keeps a part's encoding
    // from interleaving with a page being fed.
    private long _followedThrough;
    private readonly SemaphoreSlim _followGate = new(1, 1);
    private readonly CancellationTokenSource _stopFollowing = new();
    private Task _following = Task.CompletedTask;

    /// <summary>Whether this engine is one node of a cluster.</summary>
    public bool InCluster => _cluster is not null;

    /// <summary>The sequence through which this node's item-side state follows the log (cluster only).</summary>
    public long FollowedThrough => Interlocked.Read(ref _followedThrough);

    /// <summary>
    /// Appends the events of shoppers this node holds (called by their grains) through the group commit, then catches
    /// each of those shoppers up from the store: durable and applied when it returns.
    /// </summary>
    public async Task<IngestOutcome> AppendOwnedAsync(IReadOnlyList<StoredEvent> normalized, CancellationToken cancellationToken)
    {
        if (!_started) throw new InvalidOperationException("Call StartAsync before ingesting.");
        var outcome = await AppendNormalizedAsync([.. normalized], cancellationToken);
        foreach (var userId in normalized.Select(e => e.UserId).Distinct(StringComparer.Ordinal))
            await CatchUpShopperAsync(userId, cancellationToken);
        return outcome;
    }

    /// <summary>
    /// Applies the shopper's stored events after the highest sequence the state holds, in sequence order. Appends commit
    /// in sequence order (docs/cluster.md), so once an append has returned every event below it is readable: the state
    /// then holds every event of the shopper acknowledged by any node, without gaps, whichever node wrote them. A
    /// shopper's state is only ever changed this way on a cluster node, so an event is never applied twice, even while
    /// the membership briefly lets two nodes hold the same grain.
    /// </summary>
    /// <remarks>
    /// Catch-ups are grouped like appends: those requested while a read is under way share the next one (one query for
    /// many shoppers), so a node makes a few store reads per batch instead of one per shopper.
    /// </remarks>
    public async Task CatchUpShopperAsync(string userId, CancellationToken cancellationToken)
    {
        var request = new CatchUpRequest(userId);
        await _catchUps.Writer.WriteAsync(request, cancellationToken);
        await request.Done.Task.WaitAsync(cancellationToken);
    }

    private sealed class CatchUpRequest(string userId)
    {
        public string UserId { get; } = userId;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Most shoppers one catch-up read covers.</summary>
    private const int MaxCatchUpGroup = 512;

    private readonly System.Threading.Channels.Channel<CatchUpRequest> _catchUps =
        System.Threading.Channels.Channel.CreateUnbounded<CatchUpRequest>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = false });

    /// <summary>
    /// Two readers, so one group's read overlaps the next group's gathering. Two groups may hold the same shopper: each
    /// applies only the events after the sequence the state holds when it applies, and each read returns every event of
    /// its shoppers after the sequences it asked from, so no event is skipped or counted twice.
    /// </summary>
    private async Task CatchUpLoopAsync()
    {
        var reader = _catchUps.Reader;
        var group = new List<CatchUpRequest>();
        while (await reader.WaitToReadAsync())
        {
            group.Clear();
            while (group.Count < MaxCatchUpGroup && reader.TryRead(out var next)) group.Add(next);
            if (group.Count == 0) continue;
            try
            {
                var after = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var request in group) after.TryAdd(request.UserId, _profiles.ThroughSequenceOf(request.UserId));
                var events = await _store.GetUsersEventsAfterAsync(after, CancellationToken.None);
                if (events.Count > 0)
                    foreach (var changed in _profiles.ApplyTail(WithoutErased(events), Catalog))
                    {
                        _dirtyStates.TryAdd(changed, 0);
                        _dirtyProfiles.TryAdd(changed, 0);
                    }
                foreach (var request in group) request.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                foreach (var request in group) request.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// This node has become the shopper's only writer (its grain was activated here): drops what it held from an earlier
    /// ownership, then loads the stored record and the shopper's events after it. Those may have been appended by a node
    /// that owned the shopper before and died before writing the record.
    /// </summary>
    public async Task AdoptShopperAsync(string userId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await StartAsync(progress: null, cancellationToken);
        var row = await _store.ReadShopperStateAsync(userId, cancellationToken);
        var user = await _store.GetUserAsync(userId, cancellationToken);
        // No gate: a checkpoint writing the state this replaces meanwhile cannot take the stored record back to an
        // earlier sequence (the store refuses that), and the state only ever moves by catching up from the store.
        _profiles.Remove(userId);
        _dirtyStates.TryRemove(userId, out _);
        _dirtyProfiles.TryRemove(userId, out _);
        if (row is not null && ProfileState.Decode(row.State, _options.Profiles) is { } state && state.ThroughSequence == row.ThroughSequence)
            _profiles.Restore(userId, state);
        if (user is not null) RememberUser(user);
        await CatchUpShopperAsync(userId, cancellationToken);
    }

    /// <summary>
    /// The shopper's grain leaves this node (idle, or the node stops): writes the shopper's record and profile when they
    /// changed, so the next owner reads a short tail, and forgets the state.
    /// </summary>
    public async Task ReleaseShopperAsync(string userId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        // Outside the write gate (appends go on): a checkpoint writing the same record meanwhile writes the same or an
        // earlier state, which the store keeps from replacing a later one.
        if (_dirtyStates.TryRemove(userId, out _) && _profiles.Encode(userId) is { } encoded)
            await _store.WriteShopperStatesAsync([new ShopperStateRecord(userId, encoded.ThroughSequence, encoded.Record, encoded.LatestTicks)], checkpoint: null, cancellationToken);
        await _profileWriteGate.WaitAsync(cancellationToken);
        try
        {
            if (_dirtyProfiles.TryRemove(userId, out _) && PersonalizationAllowed(userId) && _profiles.Build(userId, AsOf) is { } profile)
                await _store.SaveProfilesAsync([Enrich(profile)], cancellationToken);
        }
        finally
        {
            _profileWriteGate.Release();
        }
        _profiles.Remove(userId);
    }

    /// <summary>Items another node stored: into this node's catalog and item-side observers.</summary>
    public async Task ApplyPeerItemsAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            _profiles.Catalog = _profiles.Catalog.With(items);
            foreach (var observer in _observers) observer.OnItemsUpserted(items);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>User records another node stored (ids as stored): their consent flags apply here too.</summary>
    public void ApplyPeerUsers(IReadOnlyList<User> users)
    {
        foreach (var user in users) RememberUser(user);
        foreach (var observer in _observers) observer.OnUsersUpserted(users);
    }

    /// <summary>
    /// Another node erased the shopper (the store holds nothing of them any more): drops what this node holds about them
    /// and recounts its aggregates from the log, as the erasing node did.
    /// </summary>
    public async Task<IReadOnlyList<string>> ApplyPeerErasureAsync(string userId, CancellationToken cancellationToken)
    {
        await _checkpointGate.WaitAsync(cancellationToken);
        try
        {
            var removed = new List<string>();
            await _writeGate.WaitAsync(cancellationToken);
            try
            {
                _erasedThrough[userId] = await _store.GetLastSequenceAsync(CancellationToken.None);
                ForgetInMemory(userId, _owners, removed);
                foreach (var observer in _observers)
                    if (observer.OnUserErased(userId) is { } what) removed.Add(what);
            }
            finally
            {
                _writeGate.Release();
            }
            removed.AddRange(await RecountWithoutAsync(userId));
            return removed;
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    /// <summary>Starts following the log after the start pass (cluster only).</summary>
    private void StartFollowing(long through)
    {
        if (_cluster is null) return;
        Interlocked.Exchange(ref _followedThrough, through);
        _following = Task.Run(() => FollowLogAsync(_stopFollowing.Token));
        _catchingUp = Task.WhenAll(Task.Run(CatchUpLoopAsync), Task.Run(CatchUpLoopAsync));
    }

    private Task _catchingUp = Task.CompletedTask;

    private async Task FollowLogAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await FollowOnceAsync(cancellationToken);
                await Task.Delay(FollowInterval, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store may be briefly unreachable: the next read starts where this one stopped.
                _logger.LogWarning(ex, "Following the event log failed; retrying");
                try { await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Feeds the item-side observers every event stored (by any node) after the last one they hold.</summary>
    internal async Task FollowOnceAsync(CancellationToken cancellationToken)
    {
        await _followGate.WaitAsync(cancellationToken);
        try
        {
            var page = new List<StoredEvent>(4096);
            await foreach (var e in _store.ReadEventsAsync(Interlocked.Read(ref _followedThrough), cancellationToken))
            {
                page.Add(e);
                if (page.Count == page.Capacity)
                {
                    FeedObservers(page);
                    page = new List<StoredEvent>(4096);
                }
            }
            FeedObservers(page);
        }
        finally
        {
            _followGate.Release();
        }
    }

    private void FeedObservers(List<StoredEvent> page)
    {
        if (page.Count == 0) return;
        Interlocked.Add(ref _storedEvents, page.Count);
        var kept = WithoutErased(page);
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnEventsStored(kept);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "An observer failed on {Count} events from the log", kept.Count);
            }
        }
        Interlocked.Exchange(ref _followedThrough, page[^1].Sequence);
    }

    private async Task StopFollowingAsync()
    {
        _catchUps.Writer.TryComplete();
        await _catchingUp;
        await _stopFollowing.CancelAsync();
        try { await _following; }
        catch (OperationCanceledException) { }
    }
}
