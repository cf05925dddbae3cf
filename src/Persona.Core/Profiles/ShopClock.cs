namespace Persona.Core.Profiles;

/// <summary>
/// The shop clock: the <see cref="ProfileOptions.ClockQuorum"/>-th newest of the shoppers' own newest event times (at
/// most a tenth of the shoppers), so one shopper with a clock in the future does not move it. Kept as a multiset of
/// those times (distinct ticks → shoppers). Thread-safe.
/// </summary>
public sealed class ShopClock(int quorum)
{
    private readonly Lock _lock = new();
    private readonly SortedSet<long> _newestTicks = [];
    private readonly Dictionary<long, int> _newestCounts = [];
    private int _shoppers;
    private long _ticks = long.MinValue;

    /// <summary>The clock; null while no shopper has an event.</summary>
    public DateTimeOffset? Now
    {
        get
        {
            var ticks = Interlocked.Read(ref _ticks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>A shopper's newest event time moved from <paramref name="from"/> to <paramref name="to"/> (null: none, as when the shopper appears or leaves).</summary>
    public void Move(DateTimeOffset? from, DateTimeOffset? to)
    {
        lock (_lock)
        {
            if (from is { } old)
            {
                var ticks = old.UtcTicks;
                if (_newestCounts.TryGetValue(ticks, out var n))
                {
                    if (n == 1)
                    {
                        _newestCounts.Remove(ticks);
                        _newestTicks.Remove(ticks);
                    }
                    else _newestCounts[ticks] = n - 1;
                    _shoppers--;
                }
            }
            if (to is { } value)
            {
                var ticks = value.UtcTicks;
                if (_newestCounts.TryGetValue(ticks, out var n)) _newestCounts[ticks] = n + 1;
                else
                {
                    _newestCounts[ticks] = 1;
                    _newestTicks.Add(ticks);
                }
                _shoppers++;
            }
            Interlocked.Exchange(ref _ticks, QuorumTicks());
        }
    }

    private long QuorumTicks()
    {
        if (_shoppers == 0) return long.MinValue;
        var k = Math.Max(1, Math.Min(quorum, _shoppers / 10));
        var seen = 0;
        foreach (var ticks in _newestTicks.Reverse())
        {
            seen += _newestCounts[ticks];
            if (seen >= k) return ticks;
        }
        return _newestTicks.Min;
    }
}
