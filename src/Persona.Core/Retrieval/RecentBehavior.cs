using Persona.Abstractions;
using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>One item event of a user as recommendations read it.</summary>
public readonly record struct BehaviorStep(string ItemId, EventType Type, DateTimeOffset Timestamp);

/// <summary>
/// Every user's last few item events (time order, bounded) and the items they recently interacted with (bounded,
/// oldest forgotten first), kept in memory so an event stored a moment ago is part of the next recommendation.
/// Users are independent: each user's log has its own lock.
/// </summary>
public sealed class RecentBehavior
{
    public const int DefaultMaxSteps = 50;
    public const int DefaultMaxSeen = 500;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UserLog> _users = new(StringComparer.Ordinal);
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
        var log = _users.GetOrAdd(userId, static (_, self) => new UserLog(self.MaxSteps, self.MaxSeen), this);
        log.Add(step, Interlocked.Increment(ref _lastVersion));
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
        for (var u = 0; u < users; u++)
        {
            var log = new UserLog(MaxSteps, MaxSeen);
            _users[reader.ReadString()] = log;
            log.ReadFrom(reader, Interlocked.Increment(ref _lastVersion));
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

    private sealed class UserLog(int maxSteps, int maxSeen)
    {
        public void WriteTo(StateWriter writer)
        {
            lock (_lock)
            {
                writer.WriteCount(_steps.Count);
                foreach (var step in _steps) WriteStep(writer, step.ItemId, step.Type, step.Timestamp);
                writer.WriteCount(_seenOrder.Count);
                foreach (var item in _seenOrder) writer.WriteString(item);
            }
        }

        public void ReadFrom(StateReader reader, long version)
        {
            var steps = reader.ReadCount(maxSteps);
            for (var i = 0; i < steps; i++)
            {
                var (item, type, at) = ReadStep(reader);
                _steps.Add(new BehaviorStep(item, type, at));
            }
            var seen = reader.ReadCount(maxSeen);
            for (var i = 0; i < seen; i++)
            {
                var item = reader.ReadString();
                if (!_seen.Add(item)) throw new InvalidDataException("A seen item is listed twice.");
                _seenOrder.Enqueue(item);
            }
            _version = version;
        }

        private readonly Lock _lock = new();
        private readonly List<BehaviorStep> _steps = [];
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly Queue<string> _seenOrder = new();
        private long _version;

        public long Version => Volatile.Read(ref _version);

        public DateTimeOffset LastTimestamp
        {
            get
            {
                lock (_lock) return _steps.Count == 0 ? DateTimeOffset.MinValue : _steps[^1].Timestamp;
            }
        }

        public void Add(BehaviorStep step, long version)
        {
            lock (_lock)
            {
                var at = _steps.Count;
                while (at > 0 && _steps[at - 1].Timestamp > step.Timestamp) at--;
                if (at == 0 && _steps.Count == maxSteps) return; // older than everything kept
                _steps.Insert(at, step);
                if (_steps.Count > maxSteps) _steps.RemoveAt(0);
                if (_seen.Add(step.ItemId))
                {
                    _seenOrder.Enqueue(step.ItemId);
                    if (_seenOrder.Count > maxSeen) _seen.Remove(_seenOrder.Dequeue());
                }
                // After the change and inside the lock: a reader that sees this version then reads (under the lock)
                // at least these steps, so an answer is never cached under a version newer than its data.
                Volatile.Write(ref _version, version);
            }
        }

        public BehaviorStep[] Steps()
        {
            lock (_lock) return [.. _steps];
        }

        public HashSet<string> SeenItems()
        {
            lock (_lock) return new HashSet<string>(_seen, StringComparer.Ordinal);
        }
    }
}
