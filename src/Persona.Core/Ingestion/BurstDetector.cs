using System.Collections.Concurrent;
using Persona.Abstractions;
using Persona.Core.State;

namespace Persona.Core.Ingestion;

/// <summary>
/// Flags bot-like bursts: an event is excluded (<see cref="StoredEvent.ExcludedReason"/> =
/// <see cref="Reason"/>) when its user already has <see cref="EventsPerMinute"/> counted events in the
/// same UTC minute (by event timestamp). Flagged events do not count, so the next minute starts afresh.
/// </summary>
/// <remarks>
/// Feed it at ingest time, after validation and normalisation and before the append, so the decision is
/// stored with the event and a rebuild from the store sees the same flags. At start-up, re-prime it with
/// <see cref="Observe"/> over the recent stored events. Thread-safe: one lock per user. O(1) per event:
/// each user keeps at most one counter per minute of the <see cref="Window"/> behind the user's newest
/// event (older buckets are dropped when the newest advances), and users whose newest event is more than
/// a window behind the newest event seen overall are forgotten in a sweep that runs once per window of event
/// time, and also whenever the users tracked have doubled since the last sweep: a history imported out of time
/// order moves the clock to its newest minute early and then holds it there, and without the second trigger
/// every user of the import would stay tracked. Late events older than the window are neither counted nor flagged.
/// </remarks>
public sealed class BurstDetector
{
    /// <summary>The <see cref="StoredEvent.ExcludedReason"/> of a flagged event.</summary>
    public const string Reason = "burst";

    private readonly ConcurrentDictionary<string, UserBuckets> _users = new(StringComparer.Ordinal);
    private readonly long _windowMinutes;
    private long _newestMinute = long.MinValue;
    private long _nextSweepMinute = long.MinValue;
    private int _sweeping;
    // Users tracked (ConcurrentDictionary.Count takes every lock), and the count that calls the next sweep.
    private int _tracked;
    private int _sweepAtCount = MinimumSweepCount;
    private const int MinimumSweepCount = 4_096;

    public BurstDetector(IngestionOptions options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).BurstEventsPerMinute, options.BurstWindow)
    {
    }

    /// <param name="eventsPerMinute">Counted events allowed per user per minute; 0 disables detection.</param>
    /// <param name="window">How far behind a user's newest event minutes are still tracked (at least a minute).</param>
    public BurstDetector(int eventsPerMinute, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(eventsPerMinute);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromMinutes(1));
        EventsPerMinute = eventsPerMinute;
        Window = window;
        _windowMinutes = window.Ticks / TimeSpan.TicksPerMinute;
    }

    public int EventsPerMinute { get; }
    public TimeSpan Window { get; }
    public bool Enabled => EventsPerMinute > 0;

    /// <summary>Users currently tracked (for metrics).</summary>
    public int TrackedUsers => Volatile.Read(ref _tracked);

    /// <summary>
    /// Decides one event: returns it unchanged when it counts (and counts it), or a copy with
    /// <see cref="StoredEvent.ExcludedReason"/> = <see cref="Reason"/> when the user's minute is full.
    /// Events already excluded for another reason are returned as they are and not counted.
    /// </summary>
    public StoredEvent Apply(StoredEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!Enabled || e.ExcludedReason is not null) return e;
        return Register(e.UserId, e.Timestamp, mayFlag: true) ? e : e with { ExcludedReason = Reason };
    }

    /// <summary>Decides a batch in order (see <see cref="Apply(StoredEvent)"/>).</summary>
    public IReadOnlyList<StoredEvent> Apply(IReadOnlyList<StoredEvent> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var result = new StoredEvent[batch.Count];
        for (var i = 0; i < batch.Count; i++) result[i] = Apply(batch[i]);
        return result;
    }

    /// <summary>
    /// Counts an already-stored event without judging it (re-priming at start-up): events that counted
    /// when stored count again, excluded ones are ignored.
    /// </summary>
    public void Observe(StoredEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!Enabled || e.ExcludedReason is not null) return;
        Register(e.UserId, e.Timestamp, mayFlag: false);
    }

    /// <summary>Version of <see cref="Encode"/>'s layout; a record of another one is not read.</summary>
    public const byte RecordFormat = 1;

    /// <summary>
    /// The counters as a self-checking record, for a state checkpoint, so a restart need not re-read the log's
    /// recent window. Call while no event is being decided (the engine holds its write gate).
    /// </summary>
    public byte[] Encode()
    {
        var w = new StateWriter();
        w.WriteInt64(Interlocked.Read(ref _newestMinute));
        w.WriteInt64(Interlocked.Read(ref _nextSweepMinute));
        // Users a sweep would forget are left out: they cannot change a decision any more.
        var horizon = Interlocked.Read(ref _newestMinute) - _windowMinutes;
        var users = _users.Where(u => u.Value.Newest >= horizon).ToArray();
        w.WriteCount(users.Length);
        foreach (var (userId, buckets) in users)
        {
            w.WriteString(userId);
            lock (buckets) buckets.Write(w);
        }
        return w.ToArray(RecordFormat);
    }

    /// <summary>Replaces the counters with those of <paramref name="record"/>; false (nothing changed) when it is damaged or foreign.</summary>
    public bool Restore(byte[]? record)
    {
        if (StateReader.Open(record, RecordFormat) is not { } r) return false;
        try
        {
            var newest = r.ReadInt64();
            var nextSweep = r.ReadInt64();
            var count = r.ReadCount(maximum: int.MaxValue);
            var horizon = newest - _windowMinutes;
            var users = new Dictionary<string, UserBuckets>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var userId = r.ReadString();
                var buckets = UserBuckets.Read(r, _windowMinutes);
                // Records written before stale users were left out may still hold them.
                if (buckets.Newest >= horizon) users[userId] = buckets;
            }
            if (!r.AtEnd) return false;
            _users.Clear();
            foreach (var (userId, buckets) in users) _users[userId] = buckets;
            Volatile.Write(ref _tracked, users.Count);
            Volatile.Write(ref _sweepAtCount, Math.Max(MinimumSweepCount, 2 * users.Count));
            Interlocked.Exchange(ref _newestMinute, newest);
            Interlocked.Exchange(ref _nextSweepMinute, nextSweep);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or OverflowException)
        {
            return false;
        }
    }

    /// <summary>Returns false (and counts nothing) when the event would exceed its user's minute; otherwise counts it.</summary>
    private bool Register(string userId, DateTimeOffset timestamp, bool mayFlag)
    {
        var minute = timestamp.UtcTicks / TimeSpan.TicksPerMinute;
        bool counted;
        while (true)
        {
            if (!_users.TryGetValue(userId, out var buckets))
            {
                var fresh = new UserBuckets();
                buckets = _users.GetOrAdd(userId, fresh);
                if (ReferenceEquals(buckets, fresh)) Interlocked.Increment(ref _tracked);
            }
            lock (buckets)
            {
                // A sweep retired this state between GetOrAdd and the lock: take the fresh one.
                if (buckets.Retired) continue;
                counted = buckets.Register(minute, _windowMinutes, mayFlag ? EventsPerMinute : int.MaxValue);
            }
            break;
        }
        AdvanceClock(minute);
        return counted;
    }

    private void AdvanceClock(long minute)
    {
        var newest = Interlocked.Read(ref _newestMinute);
        while (minute > newest)
        {
            var seen = Interlocked.CompareExchange(ref _newestMinute, minute, newest);
            if (seen == newest) break;
            newest = seen;
        }
        newest = Interlocked.Read(ref _newestMinute);
        if (newest < Interlocked.Read(ref _nextSweepMinute) && Volatile.Read(ref _tracked) < Volatile.Read(ref _sweepAtCount)) return;
        if (Interlocked.Exchange(ref _sweeping, 1) == 1) return;
        try
        {
            Interlocked.Exchange(ref _nextSweepMinute, newest + _windowMinutes);
            var horizon = newest - _windowMinutes;
            foreach (var (userId, buckets) in _users)
            {
                lock (buckets)
                {
                    if (buckets.Newest >= horizon) continue;
                    buckets.Retired = true;
                }
                if (_users.TryRemove(new KeyValuePair<string, UserBuckets>(userId, buckets))) Interlocked.Decrement(ref _tracked);
            }
            Volatile.Write(ref _sweepAtCount, Math.Max(MinimumSweepCount, 2 * Volatile.Read(ref _tracked)));
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>One user's counters per minute; guarded by locking the instance.</summary>
    private sealed class UserBuckets
    {
        private readonly Dictionary<long, int> _counts = [];
        private long _oldest = long.MaxValue;

        public long Newest { get; private set; } = long.MinValue;
        public bool Retired { get; set; }

        public bool Register(long minute, long windowMinutes, int limit)
        {
            if (Newest != long.MinValue && minute < Newest - windowMinutes) return true;
            if (minute > Newest)
            {
                Newest = minute;
                if (_oldest < Newest - windowMinutes) Prune(Newest - windowMinutes);
            }
            _counts.TryGetValue(minute, out var count);
            if (count >= limit) return false;
            _counts[minute] = count + 1;
            if (minute < _oldest) _oldest = minute;
            return true;
        }

        /// <summary>Newest minute, then each bucket as (minutes behind the newest, count).</summary>
        public void Write(StateWriter w)
        {
            w.WriteInt64(Newest);
            w.WriteCount(_counts.Count);
            foreach (var (minute, count) in _counts)
            {
                w.WriteCount(Newest - minute);
                w.WriteCount(count);
            }
        }

        public static UserBuckets Read(StateReader r, long windowMinutes)
        {
            var buckets = new UserBuckets { Newest = r.ReadInt64() };
            var count = r.ReadCount(maximum: checked((int)Math.Min(int.MaxValue, windowMinutes + 1)));
            for (var i = 0; i < count; i++)
            {
                var minute = checked(buckets.Newest - r.ReadLongCount());
                if (!buckets._counts.TryAdd(minute, r.ReadCount(maximum: int.MaxValue))) throw new InvalidDataException("A minute appears twice in a burst record.");
                if (minute < buckets._oldest) buckets._oldest = minute;
            }
            return buckets;
        }

        // At most window + 1 buckets live, so a prune is bounded by a constant.
        private void Prune(long horizon)
        {
            var oldest = long.MaxValue;
            foreach (var minute in _counts.Keys)
            {
                if (minute < horizon) _counts.Remove(minute);
                else if (minute < oldest) oldest = minute;
            }
            _oldest = oldest;
        }
    }
}
