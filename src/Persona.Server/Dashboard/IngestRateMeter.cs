using Persona.Abstractions;
using Persona.Hosting;

namespace Persona.Server.Dashboard;

/// <summary>
/// Counts newly stored events per wall-clock second over the last minute, for the dashboard's live
/// "events per minute". One short lock per stored batch, never per event.
/// </summary>
public sealed class IngestRateMeter(TimeProvider time) : IEngineObserver
{
    public const int WindowSeconds = 60;

    private readonly long[] _counts = new long[WindowSeconds];
    // The unix second each bucket currently holds; a stale bucket reads as zero.
    private readonly long[] _seconds = new long[WindowSeconds];
    private readonly Lock _lock = new();

    public void OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        if (events.Count == 0) return;
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var slot = (int)(now % WindowSeconds);
        lock (_lock)
        {
            if (_seconds[slot] != now)
            {
                _seconds[slot] = now;
                _counts[slot] = 0;
            }
            _counts[slot] += events.Count;
        }
    }

    public void OnItemsUpserted(IReadOnlyList<Item> items)
    {
    }

    /// <summary>Events stored in each of the last <see cref="WindowSeconds"/> seconds, oldest first (the last entry is the current second).</summary>
    public long[] PerSecond()
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var series = new long[WindowSeconds];
        lock (_lock)
        {
            for (var i = 0; i < WindowSeconds; i++)
            {
                var second = now - (WindowSeconds - 1) + i;
                var slot = (int)(second % WindowSeconds);
                series[i] = _seconds[slot] == second ? _counts[slot] : 0;
            }
        }
        return series;
    }
}
