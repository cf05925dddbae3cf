using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>
/// Item-to-item "next item" counts: how often item j followed item i within <see cref="Window"/> steps of one
/// user's time-ordered sequence. Each user's last <see cref="Window"/> steps are kept so events can be observed one
/// at a time as they arrive; an immediate repeat of the same item (view, then cart, then purchase of one product)
/// is one step, and an item seen twice within one window counts once per follower.
/// </summary>
/// <remarks>
/// Writers count under one lock; after each batch every item whose followers changed gets a new immutable
/// snapshot (followers sorted by count), which readers use without any lock: a request then reads the best k
/// followers in O(k), and 64 concurrent requests never queue behind each other or behind ingest.
/// Compact (docs/state.md): items are interned to ints; a row is two int arrays sorted by follower (8 bytes a pair)
/// (<see cref="CountRow{T}"/>) and a snapshot two int arrays sorted by count, found by the item's id in a flat array.
/// </remarks>
public sealed class CoOccurrenceIndex
{
    public const int DefaultWindow = 3;
    /// <summary>
    /// Followers kept per item. A row that doubles past it is cut back to its most frequent ones, so memory stays
    /// O(items · this) however long the log runs; recommendations read at most a few hundred followers per anchor.
    /// </summary>
    public const int DefaultMaxFollowers = 500;

    private readonly Lock _writeLock = new();
    private readonly KeyInterner _items = new();
    private readonly List<CountRow<int>?> _followers = [];
    private readonly List<long> _totals = [];
    private readonly Dictionary<string, Tail> _tails = new(StringComparer.Ordinal);
    // By item id; replaced by a larger copy when it grows, so readers index it without a lock.
    private volatile Snapshot?[] _published = new Snapshot?[256];

    public CoOccurrenceIndex(int window = DefaultWindow, int maxFollowers = DefaultMaxFollowers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFollowers, 1);
        Window = window;
        MaxFollowers = maxFollowers;
    }

    public int MaxFollowers { get; }

    /// <summary>How many preceding steps each new item is paired with.</summary>
    public int Window { get; }

    /// <summary>Appends one step to a user's sequence.</summary>
    public void Observe(string userId, string itemId) => ObserveMany([(userId, itemId)]);

    /// <summary>Appends steps (each user's in time order) under one lock, then publishes the changed items.</summary>
    public void ObserveMany(IEnumerable<(string UserId, string ItemId)> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        lock (_writeLock)
        {
            var touched = new HashSet<int>();
            foreach (var (userId, itemId) in steps)
            {
                if (!_tails.TryGetValue(userId, out var tail)) _tails[userId] = tail = new Tail(Window);
                var next = Intern(itemId);
                if (tail.Last == next) continue;
                for (var i = 0; i < tail.Count; i++)
                {
                    var previous = tail[i];
                    if (previous == next || tail.IndexOf(previous) < i) continue;
                    var row = _followers[previous] ??= new CountRow<int>();
                    row.Add(next, 1);
                    row.TrimAbove(MaxFollowers);
                    _totals[previous]++;
                    touched.Add(previous);
                }
                tail.Push(next);
            }
            foreach (var item in touched) Publish(item);
        }
    }

    /// <summary>How often <paramref name="next"/> followed <paramref name="first"/>. O(followers of first).</summary>
    public int Count(string first, string next)
    {
        if (SnapshotOf(first) is not { } snapshot || !_items.TryGetId(next, out var id)) return 0;
        var at = Array.IndexOf(snapshot.Ids, id);
        return at < 0 ? 0 : snapshot.Counts[at];
    }

    /// <summary>All follows counted from <paramref name="itemId"/> (the denominator of P(next | item)).</summary>
    public long Total(string itemId) => SnapshotOf(itemId)?.Total ?? 0;

    /// <summary>The <paramref name="k"/> most frequent followers of an item that <paramref name="accept"/> lets through, as counts, best first (ties by id).</summary>
    public ScoredId[] Followers(string itemId, int k, Func<string, bool>? accept = null)
    {
        if (k <= 0 || SnapshotOf(itemId) is not { } snapshot) return [];
        var result = new List<ScoredId>(Math.Min(k, snapshot.Ids.Length));
        for (var i = 0; i < snapshot.Ids.Length && result.Count < k; i++)
        {
            var id = _items.KeyOf(snapshot.Ids[i]);
            if (accept is null || accept(id)) result.Add(new ScoredId(id, snapshot.Counts[i]));
        }
        return [.. result];
    }

    private Snapshot? SnapshotOf(string itemId)
    {
        if (!_items.TryGetId(itemId, out var id)) return null;
        var published = _published;
        return id < published.Length ? Volatile.Read(ref published[id]) : null;
    }

    /// <summary>
    /// Under the write lock: a new snapshot of the item's row, most frequent first (ties by item id, as
    /// <see cref="TopK"/> orders). <paramref name="nameRank"/>, when given, is every item's place in id order, so a
    /// restore publishing every row compares ints instead of strings.
    /// </summary>
    private void Publish(int item, int[]? nameRank = null)
    {
        var row = _followers[item]!;
        var order = new int[row.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => row.CountAt(a) != row.CountAt(b)
            ? row.CountAt(b).CompareTo(row.CountAt(a))
            : nameRank is not null
                ? nameRank[row.IdAt(a)].CompareTo(nameRank[row.IdAt(b)])
                : string.CompareOrdinal(_items.KeyOf(row.IdAt(a)), _items.KeyOf(row.IdAt(b))));
        var ids = new int[order.Length];
        var counts = new int[order.Length];
        for (var i = 0; i < order.Length; i++) (ids[i], counts[i]) = (row.IdAt(order[i]), row.CountAt(order[i]));
        var published = _published;
        if (item >= published.Length)
        {
            var grown = new Snapshot?[Math.Max(item + 1, published.Length * 2)];
            Array.Copy(published, grown, published.Length);
            _published = published = grown;
        }
        Volatile.Write(ref published[item], new Snapshot(ids, counts, _totals[item]));
    }

    private int Intern(string itemId)
    {
        var id = _items.Intern(itemId);
        while (_followers.Count <= id)
        {
            _followers.Add(null);
            _totals.Add(0);
        }
        return id;
    }

    /// <summary>
    /// Writes every count and each user's last steps (the state a full replay of the same events builds), items by
    /// id in the order they were first seen, so a restored index numbers them the same way and trims rows alike.
    /// </summary>
    public void WriteTo(StateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_writeLock)
        {
            writer.WriteCount(Window);
            writer.WriteCount(_followers.Count);
            for (var item = 0; item < _followers.Count; item++)
            {
                writer.WriteString(_items.KeyOf(item));
                writer.WriteCount(_totals[item]);
                var row = _followers[item];
                writer.WriteCount(row?.Count ?? 0);
                if (row is null) continue;
                for (var i = 0; i < row.Count; i++)
                {
                    writer.WriteCount(row.IdAt(i));
                    writer.WriteCount(row.CountAt(i));
                }
            }
            writer.WriteCount(_tails.Count);
            foreach (var (user, tail) in _tails)
            {
                writer.WriteString(user);
                writer.WriteCount(tail.Count);
                for (var i = 0; i < tail.Count; i++) writer.WriteCount(tail[i]);
            }
        }
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote into this empty index; throws <see cref="InvalidDataException"/> on a mismatch.</summary>
    public void ReadFrom(StateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (_writeLock)
        {
            if (_followers.Count > 0 || _tails.Count > 0) throw new InvalidOperationException("Restore into an empty index.");
            if (reader.ReadCount(int.MaxValue) != Window) throw new InvalidDataException("The co-occurrence window differs.");
            var items = reader.ReadCount(int.MaxValue);
            for (var item = 0; item < items; item++)
            {
                if (Intern(reader.ReadString()) != item) throw new InvalidDataException("An item is listed twice.");
                _totals[item] = reader.ReadLongCount();
                var followers = reader.ReadCount(int.MaxValue);
                if (followers == 0) continue;
                var row = new CountRow<int>();
                for (var f = 0; f < followers; f++) row.Add(reader.ReadCount(items - 1), reader.ReadCount(int.MaxValue));
                _followers[item] = row;
            }
            var users = reader.ReadCount(int.MaxValue);
            for (var u = 0; u < users; u++)
            {
                var tail = new Tail(Window);
                _tails[reader.ReadString()] = tail;
                var count = reader.ReadCount(Window);
                for (var i = 0; i < count; i++) tail.Push(reader.ReadCount(items - 1));
            }
            var byName = new int[items];
            for (var i = 0; i < items; i++) byName[i] = i;
            Array.Sort(byName, (a, b) => string.CompareOrdinal(_items.KeyOf(a), _items.KeyOf(b)));
            var nameRank = new int[items];
            for (var i = 0; i < items; i++) nameRank[byName[i]] = i;
            for (var item = 0; item < _followers.Count; item++)
                if (_followers[item] is not null) Publish(item, nameRank);
        }
    }

    /// <summary>An item's followers (interned ids), most frequent first, and the total count; never changed once published.</summary>
    private sealed record Snapshot(int[] Ids, int[] Counts, long Total);

    /// <summary>A user's last few steps, oldest first, as a small ring.</summary>
    private sealed class Tail(int capacity)
    {
        private readonly int[] _items = new int[capacity];
        private int _start;

        public int Count { get; private set; }

        public int this[int i] => _items[(_start + i) % _items.Length];

        public int Last => Count == 0 ? -1 : this[Count - 1];

        public int IndexOf(int item)
        {
            for (var i = 0; i < Count; i++)
                if (this[i] == item) return i;
            return -1;
        }

        public void Push(int item)
        {
            if (Count < _items.Length)
            {
                _items[(_start + Count++) % _items.Length] = item;
                return;
            }
            _items[_start] = item;
            _start = (_start + 1) % _items.Length;
        }
    }
}
