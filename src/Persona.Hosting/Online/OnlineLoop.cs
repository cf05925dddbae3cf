using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Online;
using Persona.Core.Ranking;
using Persona.Core.Search;
using Persona.Core.State;
using Persona.Hosting.Recommendations;

namespace Persona.Hosting.Online;

/// <summary>
/// Gives every served answer a request id and records it in the <see cref="OnlineLedger"/>; follows the engine so that
/// impressions, clicks, carts and purchases are attributed as they are stored. A state part ("online"): the counters
/// and the answers still in the attribution window are checkpointed with the log sequence they cover. The served log is
/// derived from what the server did, not from the log, so answers served after the last checkpoint are lost on a crash;
/// events pointing to them then count as unattributed.
/// </summary>
public sealed class OnlineLoop : IStatePartObserver
{
    private const byte PartFormat = 1;
    private readonly PersonaEngine _engine;
    private readonly TimeProvider _time;
    private readonly Lock _feedLock = new();
    private volatile OnlineLedger _ledger;
    private bool _fedByStart;
    // Batches stored while a late registration reads the stored part and the log after it.
    private List<StoredEvent>? _pending;

    public OnlineLoop(PersonaEngine engine, IOptions<OnlineOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        _engine = engine;
        _time = time;
        Options = options.Value;
        _ledger = NewLedger();
        engine.AddObserver(this);
    }

    public OnlineOptions Options { get; }

    public OnlineLedger Ledger => _ledger;

    /// <summary>Records an answer and returns its new request id.</summary>
    public string Serve(OnlineSurface surface, string? shopper, string? variant, IReadOnlyList<ShownItem> items)
    {
        var id = RequestId.New(_time.GetUtcNow());
        _ledger.Record(id, surface, shopper, variant, items);
        return id.ToString();
    }

    /// <summary>The list with a request id, recorded as served to <paramref name="shopper"/> (a stored id).</summary>
    public RecommendationList Served(RecommendationList list, string shopper, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(list);
        return list with { RequestId = Serve(OnlineSurface.Recommendations, shopper, variant, Shown(list.Items)), Variant = variant };
    }

    public SimilarItemsList Served(SimilarItemsList list, string? shopper, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(list);
        return list with { RequestId = Serve(OnlineSurface.Similar, shopper, variant, Shown(list.Items)), Variant = variant };
    }

    public SearchResult Served(SearchResult result, string? shopper, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var shown = new ShownItem[result.Hits.Count];
        for (var i = 0; i < shown.Length; i++) shown[i] = new ShownItem(result.Hits[i].Item.Id, StrongestPart(result.Hits[i].Breakdown));
        return result with { RequestId = Serve(OnlineSurface.Search, shopper, variant, shown), Variant = variant };
    }

    /// <summary>The search score part that weighed most: lexical, semantic, intent or personal.</summary>
    public static string StrongestPart(ScoreBreakdown breakdown)
    {
        ArgumentNullException.ThrowIfNull(breakdown);
        (string Name, double Value)[] parts = [("lexical", breakdown.Lexical), ("semantic", breakdown.Semantic), ("intent", breakdown.Intent), ("personal", breakdown.Personal)];
        var best = parts[0];
        foreach (var part in parts.AsSpan(1))
            if (part.Value > best.Value) best = part;
        return best.Name;
    }

    private static ShownItem[] Shown(IReadOnlyList<Recommendation> items)
    {
        var shown = new ShownItem[items.Count];
        for (var i = 0; i < shown.Length; i++)
            shown[i] = new ShownItem(items[i].ItemId, items[i].Sources.Count > 0 ? items[i].Sources[0] : OnlineLedger.UnknownSource);
        return shown;
    }

    private OnlineLedger NewLedger() => new(TimeSpan.FromMinutes(Options.AttributionWindowMinutes), Options.MaxServedAnswers);

    private double? PriceOf(string itemId) => _engine.Catalog.TryGetItem(itemId, out var item) ? item.Price : null;

    public void OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        lock (_feedLock)
        {
            if (_pending is not null)
            {
                _pending.AddRange(events);
                return;
            }
        }
        Apply(_ledger, events);
    }

    private void Apply(OnlineLedger ledger, IEnumerable<StoredEvent> events)
    {
        foreach (var e in events) ledger.Apply(e, PriceOf);
    }

    /// <summary>
    /// For a loop registered after the engine's start pass (a server given an engine already started, as the demo's):
    /// restores the stored part and applies the log after it, so counts carry over restarts there too. Nothing to do
    /// when the start pass restored and fed it. Runs before requests are served. Returns the log sequence the loop now
    /// covers from the stored part (0: nothing was restored), or null when the start pass fed it.
    /// </summary>
    public async Task<long?> LoadAsync(CancellationToken cancellationToken)
    {
        lock (_feedLock)
        {
            if (_fedByStart) return null;
            _pending = [];
        }
        var ledger = _ledger;
        var lastRead = long.MaxValue;
        try
        {
            if (await _engine.Store.ReadStatePartAsync(PartName, cancellationToken) is { } part && part.Fingerprint == PartFingerprint
                && Decode(part.Data) is { } restored)
            {
                lastRead = await _engine.ReadLogInPagesAsync(page => Apply(restored, page), cancellationToken, afterSequence: part.Sequence);
                ledger = restored;
            }
        }
        finally
        {
            lock (_feedLock)
            {
                _ledger = ledger;
                Apply(ledger, _pending!.Where(e => e.Sequence > lastRead || lastRead == long.MaxValue));
                _pending = null;
            }
        }
        return lastRead == long.MaxValue ? 0 : lastRead;
    }

    public void OnItemsUpserted(IReadOnlyList<Item> items) { }

    public string? OnUserErased(string userId)
    {
        var erased = _ledger.Erase(userId);
        return erased == 0 ? null : $"online attribution: {erased} served answers";
    }

    public string PartName => "online";

    public string PartFingerprint => $"online/{PartFormat}";

    public void PrepareStart(IReadOnlyList<Item> items, IReadOnlyList<User> users) { }

    public bool TryRestore(byte[] data)
    {
        if (Decode(data) is not { } ledger) return false;
        _ledger = ledger;
        return true;
    }

    /// <summary>The stored ledger, or null when it cannot be read (it is then rebuilt from the log, unattributed).</summary>
    private OnlineLedger? Decode(byte[] data)
    {
        if (StateReader.Open(data, PartFormat) is not { } reader) return null;
        var ledger = NewLedger();
        try
        {
            ledger.ReadFrom(reader);
            return reader.AtEnd ? ledger : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return null;
        }
    }

    public void ReplayStored(IReadOnlyList<StoredEvent> events) => OnEventsStored(events);

    public void CompleteStart()
    {
        lock (_feedLock) _fedByStart = true;
    }

    public byte[] Encode()
    {
        var writer = new StateWriter();
        _ledger.WriteTo(writer);
        return writer.ToArray(PartFormat);
    }
}
