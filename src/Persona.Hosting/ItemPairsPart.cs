using Microsoft.Extensions.Logging;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using Persona.Core.State;

namespace Persona.Hosting;

/// <summary>
/// The one item-pair structure (<see cref="ItemPairs"/>) as a state part of the engine (docs/state.md): every stored
/// item step counts in it before the batch is acknowledged; recommendations read it as "next item" counts, search as
/// co-visitation. Registered by <see cref="PersonaEngine.ItemPairs"/> on first use, so an engine whose consumers never
/// ask for it neither builds nor restores it. Items are numbered as the shopper steps are (<see cref="ShopperSteps.Items"/>).
/// </summary>
internal sealed class ItemPairsPart : IStatePartObserver
{
    /// <summary>Format of the stored part: <see cref="ItemPairs.WriteTo"/>.</summary>
    private const byte PartFormat = 1;

    private readonly PersonaEngine _engine;
    private readonly StateOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _loadLock = new();
    // Replaced whole when an erasure recounts it; readers take the current one per request.
    private volatile ItemPairs _current;
    // Batches that arrived while the log was read (registered after the start, or an erasure's recount).
    private List<StoredEvent>? _pending;
    private Task? _loading;

    /// <summary>An empty part; <paramref name="late"/>: registered after the engine's start pass, so <see cref="LoadAsync"/> must read the log.</summary>
    public ItemPairsPart(PersonaEngine engine, StateOptions options, ILogger logger, bool late)
    {
        _engine = engine;
        _options = options;
        _logger = logger;
        _current = New();
        if (late) _pending = [];
    }

    public ItemPairs Current => _current;

    private ItemPairs New() => new(_options.ItemPairWindow, _options.ItemPairNeighbours, ShopperSteps.Items);

    public string PartName => "item-pairs";

    public string PartFingerprint => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"item-pairs/{PartFormat}/window={_options.ItemPairWindow}/neighbours={_options.ItemPairNeighbours}");

    public void PrepareStart(IReadOnlyList<Item> items, IReadOnlyList<User> users) { }

    public bool TryRestore(byte[] data)
    {
        if (StateReader.Open(data, PartFormat) is not { } reader) return false;
        var pairs = New();
        try
        {
            pairs.ReadFrom(reader);
            if (!reader.AtEnd) return false;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or OverflowException)
        {
            return false;
        }
        // Before the start pass nothing reads the empty structure this replaces.
        var empty = _current;
        _current = pairs;
        empty.Dispose();
        return true;
    }

    public void ReplayStored(IReadOnlyList<StoredEvent> events) => Apply(events, _current);

    public void CompleteStart()
    {
        lock (_loadLock) _loading = Task.CompletedTask;
    }

    public byte[] Encode()
    {
        var writer = new StateWriter();
        _current.WriteTo(writer);
        return writer.ToArray(PartFormat);
    }

    /// <summary>
    /// Completes when the structure holds the whole log: at once when the start pass fed it; otherwise (registered after
    /// the start) the first call reads the log, and batches stored meanwhile are applied after it, skipping those it saw.
    /// </summary>
    public Task LoadAsync(CancellationToken cancellationToken)
    {
        lock (_loadLock) return _loading ??= Task.Run(() => ReadLogInto(_current, cancellationToken), cancellationToken);
    }

    public void OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        ItemPairs pairs;
        lock (_loadLock)
        {
            if (_pending is not null)
            {
                _pending.AddRange(events);
                // A late part still loading counts them after the log; an erasure's recount counts them in both.
                if (_loading is null || !_loading.IsCompleted) return;
            }
            pairs = _current;
        }
        try
        {
            Apply(events, pairs);
        }
        catch (Exception ex)
        {
            // Observers must not fail the write path; a restart rebuilds this part from the store.
            _logger.LogError(ex, "Counting {Count} events in the item pairs failed", events.Count);
        }
    }

    public void OnItemsUpserted(IReadOnlyList<Item> items) { }

    /// <summary>
    /// Fresh pairs for the engine to count from the store, which no longer holds the shopper's events: swapped in when
    /// complete, they equal pairs counted from scratch without the shopper (their last items go too). O(events in the
    /// store); erasures are rare.
    /// </summary>
    public async ValueTask<IErasureRecount?> BeginRecountAsync(string userId, CancellationToken cancellationToken)
    {
        Task? loading;
        lock (_loadLock) loading = _loading;
        // Never loaded: a later load reads the store without the shopper. Loading now: it may have read them, so recount after it.
        if (loading is null) return null;
        await loading;
        lock (_loadLock) _pending = [];
        return new Recount(this, New());
    }

    private sealed class Recount(ItemPairsPart part, ItemPairs pairs) : IErasureRecount
    {
        public void Apply(IReadOnlyList<StoredEvent> page) => ItemPairsPart.Apply(page, pairs);

        public string Complete(long lastSequence)
        {
            part.Serve(pairs, lastSequence);
            return "item pairs: recounted";
        }

        public void Abandon()
        {
            lock (part._loadLock) part._pending = null;
        }
    }

    /// <summary>Reads the store's events into <paramref name="pairs"/>, then the batches held meanwhile, and serves it.</summary>
    private async Task ReadLogInto(ItemPairs pairs, CancellationToken cancellationToken)
    {
        try
        {
            Serve(pairs, await _engine.ReadLogInPagesAsync(page => Apply(page, pairs), cancellationToken));
        }
        catch
        {
            lock (_loadLock) _pending = null;
            throw;
        }
    }

    /// <summary>Counts the batches held since the log was read through <paramref name="lastSequence"/>, then serves <paramref name="pairs"/>.</summary>
    private void Serve(ItemPairs pairs, long lastSequence)
    {
        lock (_loadLock)
        {
            Apply(_pending!.Where(e => e.Sequence > lastSequence).ToList(), pairs);
            _pending = null;
            // Requests may still hold the old pairs: left to the collector rather than disposed under them.
            _current = pairs;
        }
    }

    private static void Apply(IReadOnlyList<StoredEvent> events, ItemPairs pairs)
    {
        var steps = new List<(string, string)>(events.Count);
        foreach (var e in events)
            if (ShopperSteps.IsStep(e)) steps.Add((e.UserId, e.ItemId!));
        pairs.ObserveMany(steps);
    }
}
