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
    private OnlineLedger _ledger;

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
        var ledger = _ledger;
        foreach (var e in events) ledger.Apply(e, PriceOf);
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
        if (StateReader.Open(data, PartFormat) is not { } reader) return false;
        var ledger = NewLedger();
        try
        {
            ledger.ReadFrom(reader);
            if (!reader.AtEnd) return false;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return false;
        }
        _ledger = ledger;
        return true;
    }

    public void ReplayStored(IReadOnlyList<StoredEvent> events) => OnEventsStored(events);

    public void CompleteStart() { }

    public byte[] Encode()
    {
        var writer = new StateWriter();
        _ledger.WriteTo(writer);
        return writer.ToArray(PartFormat);
    }
}
