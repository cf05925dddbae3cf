using System.Diagnostics;
using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Hosting;

/// <summary>What a bulk append did.</summary>
/// <param name="Events">Events offered.</param>
/// <param name="Stored">Events newly stored.</param>
/// <param name="Duplicates">Events whose id was stored already, skipped.</param>
/// <param name="Excluded">Stored events left out of profiles (bursts).</param>
/// <param name="StoreSeconds">Time spent in the store's transactions (insert and fsync).</param>
/// <param name="ApplySeconds">Time spent applying stored events to profiles and observers (overlaps the next insert).</param>
public sealed record BulkAppendOutcome(long Events, long Stored, long Duplicates, long Excluded, double StoreSeconds, double ApplySeconds);

/// <summary>The bulk path of history imports: large transactions, the same burst flags, profiles and observers as ingestion.</summary>
public sealed partial class PersonaEngine
{
    /// <summary>
    /// Events per transaction of a bulk append. Large enough that the fsync of each commit and the per-transaction
    /// bookkeeping vanish next to the inserts, and each index page is written about once per transaction rather than
    /// once per few hundred rows (SQLite alone, 2M Taobao-shaped events, id-ordered inserts: 50,000 per transaction →
    /// 53,000 rows/s, 200,000 with the bulk cache → 64,500 rows/s); small enough that an interrupted import loses
    /// little work and a chunk's objects stay near 50 MiB.
    /// </summary>
    public const int BulkChunkEvents = 200_000;

    /// <summary>
    /// As <see cref="UpsertItemsAsync"/> for the large batches of an import: any number of items, validated in slices of
    /// <see cref="IngestionOptions.MaxBatchSize"/> (indexes in errors count from the start of <paramref name="items"/>),
    /// stored in one transaction, and the catalog swapped once. The catalog is copied on every swap, so thousand-item
    /// batches made an import of a large catalog quadratic (500,000 Taobao items: minutes).
    /// </summary>
    public async Task<IReadOnlyList<FieldError>> UpsertItemsBulkAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var size = _options.Ingestion.MaxBatchSize;
        var errors = new List<FieldError>();
        for (var start = 0; start < items.Count; start += size)
        {
            var slice = new Item[Math.Min(size, items.Count - start)];
            for (var i = 0; i < slice.Length; i++) slice[i] = items[start + i];
            foreach (var error in _itemValidator.Validate(slice))
                errors.Add(error with { Index = error.Index + start });
        }
        if (errors.Count > 0) return errors;
        var now = _time.GetUtcNow();
        var stamped = new Item[items.Count];
        for (var i = 0; i < stamped.Length; i++) stamped[i] = items[i] with { UpdatedAt = items[i].UpdatedAt ?? now };
        await StoreItemsAsync(stamped, cancellationToken);
        return [];
    }

    /// <summary>The stored form of one validated event, as ingestion stores it.</summary>
    private StoredEvent Normalize(Event e, DateTimeOffset receivedAt)
    {
        // Protected before normalising: a content-derived event id then hashes the pseudonym, not the raw id.
        if (_userIds.Enabled) e = e with { UserId = _userIds.Protect(e.UserId.Trim()) };
        return EventNormalizer.Normalize(e, receivedAt);
    }

    /// <summary>
    /// Normalises events that passed <see cref="ValidateEvents"/> exactly as <see cref="IngestEventsAsync"/> would
    /// (pseudonyms, trimming, content ids), received at <paramref name="receivedAt"/>; for <see cref="AppendBulkAsync"/>.
    /// Thread-safe, so it can run beside the append of the previous chunk.
    /// </summary>
    public StoredEvent[] NormalizeValidated(IReadOnlyList<Event> events, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(events);
        var normalized = new StoredEvent[events.Count];
        for (var i = 0; i < normalized.Length; i++) normalized[i] = Normalize(events[i], receivedAt);
        return normalized;
    }

    /// <summary>
    /// Appends chunks of validated, normalised events (see <see cref="NormalizeValidated"/>), each in one durable
    /// transaction, in order. Each chunk gets the burst flags ingestion would give it, and its stored events are
    /// applied to profiles and observers while the next chunk is inserted. Ids already stored are counted as duplicates
    /// and skipped, so re-running an interrupted import stores each event once. Returns when every chunk is durable
    /// and applied; a failure stops at the chunk that failed, leaving the committed ones.
    /// </summary>
    /// <param name="chunks">The events, in order; each array is one transaction.</param>
    /// <param name="progress">Events offered so far, after each committed chunk.</param>
    /// <param name="cancellationToken">Stops after the chunk being written.</param>
    public async Task<BulkAppendOutcome> AppendBulkAsync(IAsyncEnumerable<StoredEvent[]> chunks, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        if (!_started) throw new InvalidOperationException("Call StartAsync before ingesting.");
        long events = 0, stored = 0, duplicates = 0, excluded = 0;
        var storeTime = new Stopwatch();
        var applyTicks = 0L;
        var applying = Task.FromResult(0);
        try
        {
            await foreach (var chunk in chunks.WithCancellation(cancellationToken))
            {
                if (chunk.Length == 0) continue;
                AppendResult result;
                await _writeGate.WaitAsync(cancellationToken);
                storeTime.Start();
                try
                {
                    result = await _store.AppendEventsBulkAsync(_bursts.Apply(chunk), CancellationToken.None);
                    NoteAppended(result);
                }
                finally
                {
                    storeTime.Stop();
                    _writeGate.Release();
                }
                excluded += await applying;
                await SpillWhenOverBudgetAsync(cancellationToken);
                applying = Task.Run(() =>
                {
                    var started = Stopwatch.GetTimestamp();
                    var count = ApplyStored(result.Stored);
                    Interlocked.Add(ref applyTicks, Stopwatch.GetTimestamp() - started);
                    return count;
                }, CancellationToken.None);
                events += chunk.Length;
                stored += result.Stored.Count;
                duplicates += result.Duplicates;
                progress?.Report(events);
            }
        }
        finally
        {
            // Committed chunks are applied even when a later one fails: memory must match the store.
            excluded += await applying;
        }
        return new BulkAppendOutcome(events, stored, duplicates, excluded, storeTime.Elapsed.TotalSeconds, (double)applyTicks / Stopwatch.Frequency);
    }
}
