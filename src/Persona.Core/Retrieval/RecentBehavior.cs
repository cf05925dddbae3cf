using Persona.Abstractions;
using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>One item event of a user as recommendations read it.</summary>
public readonly record struct BehaviorStep(string ItemId, EventType Type, DateTimeOffset Timestamp);

/// <summary>
/// An item step as per-shopper state holds it: the item interned (<see cref="State.KeyInterner"/>), the type, and the
/// timestamp as UTC ticks plus its offset in minutes: 16 bytes, no string per step.
/// </summary>
public readonly record struct PackedStep(int Item, EventType Type, short OffsetMinutes, long UtcTicks)
{
    public static PackedStep From(int item, EventType type, DateTimeOffset at) => new(item, type, (short)at.Offset.TotalMinutes, at.UtcTicks);

    public DateTimeOffset Timestamp
    {
        get
        {
            var offset = TimeSpan.FromMinutes(OffsetMinutes);
            return new DateTimeOffset(UtcTicks + offset.Ticks, offset);
        }
    }
}

/// <summary>
/// Every user's last few item events (time order, bounded) and the items they recently interacted with (bounded,
/// oldest forgotten first), kept in memory so an event stored a moment ago is part of the next recommendation.
/// Users are independent: each user's log has its own lock.
/// </summary>
/// <remarks>
/// Compact (docs/state.md): item ids are interned to ints, a step is 16 bytes in a flat array and the seen items a
/// ring of ints, so a shopper with 50 steps and 100 seen items costs about 1.3 KB instead of a struct with a string
/// per step and a hash set of strings (about 7 KB). <see cref="Recent"/> and <see cref="Seen"/> build their copies
/// from that on each call, as they copied before.
/// </remarks>
public sealed class RecentBehavior
{
    public const int DefaultMaxSteps = 50;
    public const int DefaultMaxSeen = 500;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UserLog> _users = new(StringComparer.Ordinal);
    private readonly KeyInterner _items = new();
    // One counter for all users, so a user who was removed and came back never reuses an old version.
    private long _lastVersion;

    public RecentBehavior(int maxSteps = DefaultMaxSteps, int maxSeen = DefaultMaxSeen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeen, 1);
        MaxSteps = maxSteps;
        MaxSeen = maxSeen;
    }

    public int MaxSteps { get; }
    public int MaxSeen { get; }
    public int UserCount => _users.Count;

    /// <summary>Records an item event; a step older than the user's newest is inserted in time order.</summary>
    public void Add(string userId, BehaviorStep step)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(step.ItemId);
        var log = _users.GetOrAdd(userId, static (_, self) => new UserLog(self), this);
        log.Add(PackedStep.From(_items.Intern(step.ItemId), step.Type, step.Timestamp), Interlocked.Increment(ref _lastVersion));
    }

    /// <summary>Up to <paramref name="count"/> users, the most recently active first (by their newest step's time).</summary>
    public IReadOnlyList<string> MostRecentUsers(int count)
    {
        if (count <= 0) return [];
        var users = _users.Select(u => (u.Key, Last: u.Value.LastTimestamp)).ToList();
        users.Sort(static (a, b) => b.Last != a.Last ? b.Last.CompareTo(a.Last) : string.CompareOrdinal(a.Key, b.Key));
        return [.. users.Take(count).Select(u => u.Key)];
    }

    /// <summary>Changes whenever the user's steps change (0: unknown user); for caches of answers derived from them.</summary>
    public long Version(string userId) => _users.TryGetValue(userId, out var log) ? log.Version : 0;

    /// <summary>The user's last steps, oldest first (a copy); empty for an unknown user.</summary>
    public IReadOnlyList<BehaviorStep> Recent(string userId) =>
        _users.TryGetValue(userId, out var log) ? log.Steps() : [];

    /// <summary>Forgets the user; returns how many steps were held (0 when unknown).</summary>
    public int Remove(string userId) =>
        _users.TryRemove(userId, out var log) ? log.Steps().Length : 0;

    /// <summary>Items the user recently interacted with (a copy); empty for an unknown user.</summary>
    public IReadOnlySet<string> Seen(string userId) =>
        _users.TryGetValue(userId, out var log) ? log.SeenItems() : new HashSet<string>();

    /// <summary>Writes every user's steps and seen items (oldest first), as a full replay of the same events builds them.</summary>
    public void WriteTo(StateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteCount(MaxSteps);
        writer.WriteCount(MaxSeen);
        var users = _users.ToArray();
        writer.WriteCount(users.Length);
        foreach (var (user, log) in users)
        {
            writer.WriteString(user);
            log.WriteTo(writer);
        }
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote into this empty store; throws <see cref="InvalidDataException"/> on a mismatch.</summary>
    public void ReadFrom(StateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!_users.IsEmpty) throw new InvalidOperationException("Restore into an empty store.");
        if (reader.ReadCount(int.MaxValue) != MaxSteps || reader.ReadCount(int.MaxValue) != MaxSeen)
            throw new InvalidDataException("The recent-behaviour bounds differ.");
        var users = reader.ReadCount(int.MaxValue);
        // Each distinct item string of the record is interned once, not once per step.
        var items = new int[reader.StringCount];
        Array.Fill(items, -1);
        for (var u = 0; u < users; u++)
        {
            var log = new UserLog(this);
            _users[reader.ReadString()] = log;
            log.ReadFrom(reader, items, Interlocked.Increment(ref _lastVersion));
        }
    }

    /// <summary>One item step of a state record: item, type, UTC ticks and offset (the timestamp read back is the same instant and offset).</summary>
    public static void WriteStep(StateWriter writer, string itemId, EventType type, DateTimeOffset timestamp)
    {
        writer.WriteString(itemId);
        writer.WriteCount((int)type);
        writer.WriteInt64(timestamp.UtcTicks);
        writer.WriteSigned((long)timestamp.Offset.TotalMinutes);
    }

    /// <summary>Reads what <see cref="WriteStep"/> wrote.</summary>
    public static (string ItemId, EventType Type, DateTimeOffset Timestamp) ReadStep(StateReader reader)
    {
        var item = reader.ReadString();
        var type = (EventType)reader.ReadCount(int.MaxValue);
        if (!Enum.IsDefined(type)) throw new InvalidDataException($"Unknown event type {(int)type} in a recent step.");
        var ticks = reader.ReadInt64();
        var offset = reader.ReadSigned();
        try
        {
            var offsetSpan = TimeSpan.FromMinutes(offset);
            return (item, type, new DateTimeOffset(ticks + offsetSpan.Ticks, offsetSpan));
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException("A recent step's timestamp is out of range.", ex);
        }
    }

    private sealed class UserLog(RecentBehavior owner)
    {
        private readonly Lock _lock = new();
        // Time order, oldest first; grows to MaxSteps.
        private PackedStep[] _steps = [];
        private int _stepCount;
        // The items seen, a ring of interned ids: oldest at _seenStart; grows to MaxSeen.
        private int[] _seen = [];
        private int _seenStart;
        private int _seenCount;
        private long _version;

        public long Version => Volatile.Read(ref _version);

        public DateTimeOffset LastTimestamp
        {
            get
            {
                lock (_lock) return _stepCount == 0 ? DateTimeOffset.MinValue : _steps[_stepCount - 1].Timestamp;
            }
        }

        public void Add(PackedStep step, long version)
        {
            lock (_lock)
            {
                AddLocked(step);
                // After the change and inside the lock: a reader that sees this version then reads (under the lock)
                // at least these steps, so an answer is never cached under a version newer than its data.
                Volatile.Write(ref _version, version);
            }
        }

        private void AddLocked(PackedStep step)
        {
            var maxSteps = owner.MaxSteps;
            var at = _stepCount;
            while (at > 0 && _steps[at - 1].UtcTicks > step.UtcTicks) at--;
            if (at == 0 && _stepCount == maxSteps) return; // older than everything kept
            if (_stepCount == _steps.Length) Array.Resize(ref _steps, Math.Min(maxSteps + 1, Math.Max(4, _steps.Length * 2)));
            Array.Copy(_steps, at, _steps, at + 1, _stepCount - at);
            _steps[at] = step;
            if (++_stepCount > maxSteps)
            {
                Array.Copy(_steps, 1, _steps, 0, maxSteps);
                _stepCount = maxSteps;
            }
            if (!SeenContains(step.Item)) PushSeen(step.Item);
        }

        private bool SeenContains(int item)
        {
            for (var i = 0; i < _seenCount; i++)
                if (_seen[(_seenStart + i) % _seen.Length] == item) return true;
            return false;
        }

        private void PushSeen(int item)
        {
            var maxSeen = owner.MaxSeen;
            if (_seenCount == _seen.Length && _seen.Length < maxSeen)
            {
                // Unroll the ring into a larger array (the ring is only full-and-wrapped once it reached MaxSeen).
                var grown = new int[Math.Min(maxSeen, Math.Max(4, _seen.Length * 2))];
                for (var i = 0; i < _seenCount; i++) grown[i] = _seen[(_seenStart + i) % _seen.Length];
                _seen = grown;
                _seenStart = 0;
            }
            if (_seenCount < _seen.Length)
            {
                _seen[(_seenStart + _seenCount++) % _seen.Length] = item;
                return;
            }
            // Full at MaxSeen: the oldest gives way.
            _seen[_seenStart] = item;
            _seenStart = (_seenStart + 1) % _seen.Length;
        }

        public BehaviorStep[] Steps()
        {
            lock (_lock)
            {
                var steps = new BehaviorStep[_stepCount];
                for (var i = 0; i < steps.Length; i++)
                {
                    var step = _steps[i];
                    steps[i] = new BehaviorStep(owner._items.KeyOf(step.Item), step.Type, step.Timestamp);
                }
                return steps;
            }
        }

        public HashSet<string> SeenItems()
        {
            lock (_lock)
            {
                var seen = new HashSet<string>(_seenCount, StringComparer.Ordinal);
                for (var i = 0; i < _seenCount; i++) seen.Add(owner._items.KeyOf(_seen[(_seenStart + i) % _seen.Length]));
                return seen;
            }
        }

        public void WriteTo(StateWriter writer)
        {
            lock (_lock)
            {
                writer.WriteCount(_stepCount);
                for (var i = 0; i < _stepCount; i++)
                {
                    var step = _steps[i];
                    WriteStep(writer, owner._items.KeyOf(step.Item), step.Type, step.Timestamp);
                }
                writer.WriteCount(_seenCount);
                for (var i = 0; i < _seenCount; i++) writer.WriteString(owner._items.KeyOf(_seen[(_seenStart + i) % _seen.Length]));
            }
        }

        public void ReadFrom(StateReader reader, int[] items, long version)
        {
            int Item(int index) => items[index] >= 0 ? items[index] : items[index] = owner._items.Intern(reader.StringAt(index));
            var steps = reader.ReadCount(owner.MaxSteps);
            _steps = new PackedStep[steps];
            for (var i = 0; i < steps; i++)
            {
                var item = Item(reader.ReadStringIndex());
                var type = (EventType)reader.ReadCount(int.MaxValue);
                if (!Enum.IsDefined(type)) throw new InvalidDataException($"Unknown event type {(int)type} in a recent step.");
                var ticks = reader.ReadInt64();
                var offset = reader.ReadSigned();
                if (offset is < -14 * 60 or > 14 * 60 || ticks is < 0 || ticks > DateTimeOffset.MaxValue.UtcTicks)
                    throw new InvalidDataException("A recent step's timestamp is out of range.");
                if (i > 0 && ticks < _steps[i - 1].UtcTicks) throw new InvalidDataException("Recent steps are out of time order.");
                _steps[i] = new PackedStep(item, type, (short)offset, ticks);
            }
            _stepCount = steps;
            var seen = reader.ReadCount(owner.MaxSeen);
            _seen = new int[seen];
            for (var i = 0; i < seen; i++) _seen[i] = Item(reader.ReadStringIndex());
            _seenCount = seen;
            _version = version;
        }
    }
}
