using System.Runtime.InteropServices;
using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>
/// The one item-pair structure (docs/state.md): how often item j followed item i within <see cref="Window"/> steps of
/// one shopper's sequence (arrival order). Recommendations read it directed ("next item": <see cref="Followers"/>,
/// <see cref="Total"/>), search re-ranking symmetric (co-visitation: <see cref="Score"/>, <see cref="Similarity"/>,
/// the cosine of the two directions' sum). An immediate repeat of the same item (view, then cart, then purchase of
/// one product) is one step, and an item seen twice within one window counts once per follower.
/// </summary>
/// <remarks>
/// One row per item holds both directions: (other item, times it followed, times it preceded), 8 bytes a pair
/// (<see cref="PairRow"/>), sorted by the other item's id, so each counted pair touches two rows and is stored twice,
/// once from each end. A row that doubles past <see cref="MaxNeighbours"/> is cut back to its strongest pairs (both
/// directions summed), so memory stays O(items · bound) however long the log runs. Items are numbered by
/// <see cref="Items"/> (give the shopper steps' numbering, shared with the search index, so candidates are scored by
/// int); nothing that is kept or returned depends on that numbering (ties go by a stable hash of the item id, then the
/// id), so a restored structure equals a replayed one in any process.
/// Each shopper's last <see cref="Window"/> items are kept so events can be observed one at a time as they arrive.
/// Writers take the lock alone, a chunk of steps at a time; readers share it.
/// </remarks>
public sealed class ItemPairs : IDisposable
{
    public const int DefaultWindow = 3;
    public const int DefaultMaxNeighbours = 500;
    /// <summary>Steps counted under one hold of the write lock, so readers never wait behind a whole import page.</summary>
    private const int StepsPerLock = 512;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    // By item id, sized to the numbering: the item's pairs, times it was a step, times something followed it, and a
    // hash of its id that orders ties when a row is cut without asking the numbering.
    private PairRow?[] _rows = [];
    private int[] _seen = [];
    private long[] _totals = [];
    private int[] _tieRank = [];
    private int _ranked;
    // Per shopper: the last Window items, oldest first ([0] = start · 256 + count, then a ring of item ids).
    private readonly Dictionary<string, int[]> _tails = new(StringComparer.Ordinal);

    public ItemPairs(int window = DefaultWindow, int maxNeighbours = DefaultMaxNeighbours, KeyInterner? items = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, 255);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNeighbours, 1);
        Window = window;
        MaxNeighbours = maxNeighbours;
        Items = items ?? new KeyInterner();
    }

    /// <summary>How many preceding steps each new item is paired with.</summary>
    public int Window { get; }

    /// <summary>Pairs kept per item (both directions together).</summary>
    public int MaxNeighbours { get; }

    /// <summary>The numbering of items.</summary>
    public KeyInterner Items { get; }

    /// <summary>Shoppers whose last items are kept.</summary>
    public int Shoppers => Read(() => _tails.Count);

    private T Read<T>(Func<T> read)
    {
        _lock.EnterReadLock();
        try
        {
            return read();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Appends one step to a shopper's sequence.</summary>
    public void Observe(string userId, string itemId) => ObserveMany([(userId, itemId)]);

    /// <summary>Appends steps (each shopper's in arrival order).</summary>
    public void ObserveMany(IEnumerable<(string UserId, string ItemId)> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var chunk = new List<(string User, int Item)>(StepsPerLock);
        foreach (var (userId, itemId) in steps)
        {
            ArgumentNullException.ThrowIfNull(userId);
            chunk.Add((userId, Items.Intern(itemId)));
            if (chunk.Count == StepsPerLock)
            {
                Count(chunk);
                chunk.Clear();
            }
        }
        if (chunk.Count > 0) Count(chunk);
    }

    /// <summary>Counts one whole sequence (oldest first) of a shopper whose past is not kept (evaluation, tests).</summary>
    public void AddSequence(IReadOnlyList<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var ids = new int[items.Count];
        for (var i = 0; i < ids.Length; i++) ids[i] = Items.Intern(items[i]);
        var tail = NewTail();
        _lock.EnterWriteLock();
        try
        {
            Grow();
            foreach (var id in ids) Step(tail, id);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void Count(List<(string User, int Item)> chunk)
    {
        _lock.EnterWriteLock();
        try
        {
            Grow();
            foreach (var (user, item) in chunk)
            {
                ref var tail = ref CollectionsMarshal.GetValueRefOrAddDefault(_tails, user, out _);
                tail ??= NewTail();
                Step(tail, item);
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private int[] NewTail() => new int[Window + 1];

    /// <summary>Under the write lock: pairs <paramref name="next"/> with the tail's distinct items, then keeps it.</summary>
    private void Step(int[] tail, int next)
    {
        var (start, count) = (tail[0] >> 8, tail[0] & 0xFF);
        int At(int i) => tail[1 + (start + i) % Window];
        if (count > 0 && At(count - 1) == next) return;
        _seen[next]++;
        for (var i = 0; i < count; i++)
        {
            var previous = At(i);
            if (previous == next || FirstIndex(i, previous) < i) continue;
            Row(previous).Add(next, forward: 1, backward: 0, MaxNeighbours, _tieRank, Items);
            Row(next).Add(previous, forward: 0, backward: 1, MaxNeighbours, _tieRank, Items);
            _totals[previous]++;
        }
        if (count < Window) tail[1 + (start + count++) % Window] = next;
        else
        {
            tail[1 + start] = next;
            start = (start + 1) % Window;
        }
        tail[0] = start << 8 | count;

        int FirstIndex(int before, int item)
        {
            for (var j = 0; j < before; j++)
                if (At(j) == item) return j;
            return before;
        }
    }

    private PairRow Row(int item) => _rows[item] ??= new PairRow();

    /// <summary>Makes room for every id handed out so far (inside the write lock).</summary>
    private void Grow()
    {
        var needed = Items.Count;
        if (needed <= _ranked) return;
        if (needed > _seen.Length)
        {
            var size = Math.Max(needed, _seen.Length * 2);
            Array.Resize(ref _rows, size);
            Array.Resize(ref _seen, size);
            Array.Resize(ref _totals, size);
            Array.Resize(ref _tieRank, size);
        }
        for (; _ranked < needed; _ranked++) _tieRank[_ranked] = StableHash.Of(Items.KeyOf(_ranked));
    }

    /// <summary>How often <paramref name="next"/> followed <paramref name="first"/>.</summary>
    public int Count(string first, string next)
    {
        var (a, b) = (Items.Find(first), Items.Find(next));
        if (a < 0 || b < 0) return 0;
        return Read(() => a < _rows.Length && _rows[a] is { } row && row.Find(b) is >= 0 and var at ? row.ForwardAt(at) : 0);
    }

    /// <summary>All follows counted from <paramref name="itemId"/> (the denominator of P(next | item)), trimmed ones included.</summary>
    public long Total(string itemId)
    {
        var a = Items.Find(itemId);
        return a < 0 ? 0 : Read(() => a < _totals.Length ? _totals[a] : 0);
    }

    /// <summary>
    /// The <paramref name="k"/> most frequent followers of an item that <paramref name="accept"/> lets through, as
    /// counts, best first; ties go by a stable hash of the item id, then the id (ordinal), as rows are trimmed, so the
    /// order never depends on the numbering. The row's keys are copied under the read lock and ranked outside it: the
    /// best few are selected (O(row)) and only they are sorted, more when <paramref name="accept"/> turns some away.
    /// </summary>
    public ScoredId[] Followers(string itemId, int k, Func<string, bool>? accept = null)
    {
        var a = Items.Find(itemId);
        if (k <= 0 || a < 0) return [];
        var keys = System.Buffers.ArrayPool<long>.Shared.Rent(2 * MaxNeighbours + 1);
        var ids = System.Buffers.ArrayPool<int>.Shared.Rent(keys.Length);
        try
        {
            int n;
            _lock.EnterReadLock();
            try
            {
                if (a >= _rows.Length || _rows[a] is not { Count: > 0 } row) return [];
                n = row.CopyForward(keys, ids, _tieRank);
            }
            finally
            {
                _lock.ExitReadLock();
            }
            var result = new List<ScoredId>(Math.Min(k, n));
            // Ranked in slices: the best `take` of what is left, then (when accept refused some) the next ones.
            for (int done = 0, take = (int)Math.Min(n, k + k / 2L + 8); done < n && result.Count < k; take = n - done)
            {
                var rest = keys.AsSpan(done, n - done);
                var restIds = ids.AsSpan(done, n - done);
                if (take < rest.Length) take = SelectSmallest(rest, restIds, take);
                rest[..take].Sort(restIds[..take]);
                Emit(keys, ids, done, done + take, k, accept, result);
                done += take;
            }
            return [.. result];
        }
        finally
        {
            System.Buffers.ArrayPool<long>.Shared.Return(keys);
            System.Buffers.ArrayPool<int>.Shared.Return(ids);
        }
    }

    /// <summary>Appends keys[from..to] (sorted) to <paramref name="result"/>; a run of equal keys (a hash collision between equal counts, rare) goes by id.</summary>
    private void Emit(long[] keys, int[] ids, int from, int to, int k, Func<string, bool>? accept, List<ScoredId> result)
    {
        for (var start = from; start < to && result.Count < k;)
        {
            var end = start + 1;
            while (end < to && keys[end] == keys[start]) end++;
            if (end - start > 1) ids.AsSpan(start, end - start).Sort((x, y) => string.CompareOrdinal(Items.KeyOf(x), Items.KeyOf(y)));
            var count = int.MaxValue - (int)(keys[start] >> 32);
            for (var i = start; i < end && result.Count < k; i++)
            {
                var id = Items.KeyOf(ids[i]);
                if (accept is null || accept(id)) result.Add(new ScoredId(id, count));
            }
            start = end;
        }
    }

    /// <summary>
    /// Moves the <paramref name="take"/> smallest keys (with their ids) to the front, in no order (quickselect), and
    /// every key equal to the largest of them too, so a run of equal keys is never split; returns how many are in front.
    /// </summary>
    private static int SelectSmallest(Span<long> keys, Span<int> ids, int take)
    {
        int lo = 0, hi = keys.Length - 1;
        while (lo < hi)
        {
            var pivot = keys[lo + (hi - lo) / 2];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i > j) break;
                (keys[i], keys[j]) = (keys[j], keys[i]);
                (ids[i], ids[j]) = (ids[j], ids[i]);
                i++;
                j--;
            }
            if (take - 1 <= j) hi = j;
            else if (take - 1 >= i) lo = i;
            else break;
        }
        var boundary = long.MinValue;
        foreach (var key in keys[..take]) boundary = Math.Max(boundary, key);
        for (var i = take; i < keys.Length; i++)
        {
            if (keys[i] != boundary) continue;
            (keys[i], keys[take]) = (keys[take], keys[i]);
            (ids[i], ids[take]) = (ids[take], ids[i]);
            take++;
        }
        return take;
    }

    /// <summary>Times the two were seen together (either order) / √(times each was a step); 0 when never together.</summary>
    public float Similarity(string a, string b)
    {
        var (x, y) = (Items.Find(a), Items.Find(b));
        if (x < 0 || y < 0) return 0;
        return Read(() => x < _rows.Length && _rows[x] is { } row && row.Find(y) is >= 0 and var at
            ? row.TogetherAt(at) / MathF.Sqrt((float)_seen[x] * _seen[y])
            : 0);
    }

    /// <summary>How often the item was a step (0 when never).</summary>
    public float Seen(string item)
    {
        var x = Items.Find(item);
        return x < 0 ? 0 : Read(() => x < _seen.Length ? _seen[x] : 0);
    }

    /// <summary>How many other items the item's row holds now.</summary>
    public int NeighbourCount(string item)
    {
        var x = Items.Find(item);
        return x < 0 ? 0 : Read(() => x < _rows.Length && _rows[x] is { } row ? row.Count : 0);
    }

    /// <summary>Rows up to this many times the candidates are walked whole rather than probed per candidate.</summary>
    public const int ScanFactor = 8;

    /// <summary>
    /// scores[i] = Σ over the shopper's recent items (ids, newest last) of decay^age · <see cref="Similarity"/> with
    /// candidates[i], in one read lock: what search re-ranks a query's candidates with. Negative ids (items never seen)
    /// score 0. A row up to <see cref="ScanFactor"/> times the candidates is walked in memory order against a small
    /// table of the candidates; a longer one is probed once per candidate.
    /// </summary>
    public void Score(ReadOnlySpan<int> recent, ReadOnlySpan<int> candidates, Span<float> scores, float decay = 0.8f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scores.Length, candidates.Length, nameof(scores));
        scores = scores[..candidates.Length];
        scores.Clear();
        if (recent.IsEmpty || candidates.IsEmpty) return;
        var table = new CandidateTable(candidates, candidates.Length <= 256 ? stackalloc int[CandidateTable.SizeFor(candidates.Length)] : default);
        _lock.EnterReadLock();
        try
        {
            var weight = 1f;
            for (var k = recent.Length - 1; k >= 0; k--, weight *= decay)
            {
                var a = recent[k];
                if ((uint)a >= (uint)_rows.Length || _rows[a] is not { Count: > 0 } row) continue;
                var seenA = (float)_seen[a];
                if (row.Count <= ScanFactor * candidates.Length)
                {
                    for (var j = 0; j < row.Count; j++)
                        if (table.Find(row.IdAt(j)) is >= 0 and var i)
                            scores[i] += weight * row.TogetherAt(j) / MathF.Sqrt(seenA * _seen[row.IdAt(j)]);
                }
                else
                {
                    for (var i = 0; i < candidates.Length; i++)
                        if (candidates[i] >= 0 && row.Find(candidates[i]) is >= 0 and var at)
                            scores[i] += weight * row.TogetherAt(at) / MathF.Sqrt(seenA * _seen[candidates[i]]);
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Writes every item that was a step (its id, count, total and pairs) and each shopper's last items: the state a
    /// full replay of the same events builds. Items are numbered in the record by their order here; a restore maps
    /// them to its own numbering.
    /// </summary>
    public void WriteTo(StateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _lock.EnterReadLock();
        try
        {
            writer.WriteCount(Window);
            writer.WriteCount(MaxNeighbours);
            var local = new int[_seen.Length];
            var written = 0;
            for (var id = 0; id < _seen.Length; id++) local[id] = _seen[id] > 0 ? written++ : -1;
            writer.WriteCount(written);
            for (var id = 0; id < _seen.Length; id++)
                if (local[id] >= 0) writer.WriteString(Items.KeyOf(id));
            for (var id = 0; id < _seen.Length; id++)
            {
                if (local[id] < 0) continue;
                writer.WriteCount(_seen[id]);
                writer.WriteCount(_totals[id]);
                var row = _rows[id];
                writer.WriteCount(row?.Count ?? 0);
                for (var j = 0; j < (row?.Count ?? 0); j++)
                {
                    writer.WriteCount(local[row!.IdAt(j)]);
                    writer.WriteCount(row.ForwardAt(j));
                    writer.WriteCount(row.BackwardAt(j));
                }
            }
            writer.WriteCount(_tails.Count);
            foreach (var (user, tail) in _tails)
            {
                writer.WriteString(user);
                var (start, count) = (tail[0] >> 8, tail[0] & 0xFF);
                writer.WriteCount(count);
                for (var i = 0; i < count; i++) writer.WriteCount(local[tail[1 + (start + i) % Window]]);
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote into this empty structure; throws <see cref="InvalidDataException"/> on a mismatch.</summary>
    public void ReadFrom(StateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader.ReadCount(int.MaxValue) != Window || reader.ReadCount(int.MaxValue) != MaxNeighbours)
            throw new InvalidDataException("The item-pair window or row size differs.");
        var written = reader.ReadCount(int.MaxValue);
        var ids = new int[written];
        for (var i = 0; i < written; i++) ids[i] = Items.Intern(reader.ReadString());
        _lock.EnterWriteLock();
        try
        {
            if (_tails.Count > 0 || _seen.Any(s => s != 0)) throw new InvalidOperationException("Restore into an empty structure.");
            Grow();
            var others = new int[2 * MaxNeighbours];
            var pairs = new PairRow.Pair[others.Length];
            for (var i = 0; i < written; i++)
            {
                var id = ids[i];
                if (_seen[id] != 0) throw new InvalidDataException("An item is listed twice.");
                _seen[id] = reader.ReadCount(int.MaxValue);
                if (_seen[id] == 0) throw new InvalidDataException("An item listed was never a step.");
                _totals[id] = reader.ReadLongCount();
                var count = reader.ReadCount(2 * MaxNeighbours);
                if (count == 0) continue;
                for (var j = 0; j < count; j++)
                {
                    others[j] = ids[reader.ReadCount(written - 1)];
                    pairs[j] = new PairRow.Pair(others[j], reader.ReadCount(int.MaxValue), reader.ReadCount(int.MaxValue));
                }
                _rows[id] = PairRow.From(others.AsSpan(0, count), pairs.AsSpan(0, count));
            }
            var shoppers = reader.ReadCount(int.MaxValue);
            for (var u = 0; u < shoppers; u++)
            {
                var tail = NewTail();
                _tails.Add(reader.ReadString(), tail);
                var count = reader.ReadCount(Window);
                for (var i = 0; i < count; i++) tail[1 + i] = ids[reader.ReadCount(written - 1)];
                tail[0] = count;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Open-addressing table from candidate id to its position; slots hold position + 1 (0: empty).</summary>
    private readonly ref struct CandidateTable
    {
        private readonly ReadOnlySpan<int> _candidates;
        private readonly Span<int> _slots;
        private readonly int _mask;

        public static int SizeFor(int count) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, 2 * count));

        public CandidateTable(ReadOnlySpan<int> candidates, Span<int> slots)
        {
            _candidates = candidates;
            _slots = slots.IsEmpty ? new int[SizeFor(candidates.Length)] : slots;
            _slots.Clear();
            _mask = _slots.Length - 1;
            for (var i = 0; i < candidates.Length; i++)
            {
                if (candidates[i] < 0) continue;
                var slot = Hash(candidates[i]) & _mask;
                while (_slots[slot] != 0) slot = (slot + 1) & _mask;
                _slots[slot] = i + 1;
            }
        }

        public int Find(int id)
        {
            for (var slot = Hash(id) & _mask; _slots[slot] != 0; slot = (slot + 1) & _mask)
                if (_candidates[_slots[slot] - 1] == id) return _slots[slot] - 1;
            return -1;
        }

        private static int Hash(int id) => (int)((uint)id * 0x9E3779B1u >> 7);
    }
}
