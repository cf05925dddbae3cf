using Persona.Core.State;

namespace Persona.Core.Search;

/// <summary>
/// Item-to-item co-occurrence within users' behaviour sequences: items seen within <see cref="Window"/> steps
/// of each other count once per occurrence. <see cref="Similarity"/> is the cosine-normalised count, so hugely
/// popular items do not neighbour everything. Items are numbered by <see cref="Ordinals"/>, shared with the search
/// index, so scoring a query's candidates looks up ints. Thread-safe: writes take the lock alone; reads share it, once
/// per query (<see cref="Score"/>), so concurrent searches never queue behind each other.
/// </summary>
public sealed class CoVisitation : IDisposable
{
    public const int DefaultWindow = 3;
    /// <summary>Neighbours kept per item: a row that doubles past it is cut back to its strongest, so memory stays O(items · this).</summary>
    public const int DefaultMaxNeighbours = 500;
    // Indexed by item ordinal: the item's neighbours (ordinal → times seen together) and how often it was seen.
    private Retrieval.CountRow<float>?[] _rows = [];
    private float[] _counts = [];
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    public CoVisitation(int window = DefaultWindow, int maxNeighbours = DefaultMaxNeighbours, KeyInterner? ordinals = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNeighbours, 1);
        Window = window;
        MaxNeighbours = maxNeighbours;
        Ordinals = ordinals ?? new KeyInterner();
    }

    public int MaxNeighbours { get; }

    public int Window { get; }

    /// <summary>The numbering of items; pass the search index's so its entries' ordinals can be scored directly.</summary>
    public KeyInterner Ordinals { get; }

    /// <summary>Adds one user's sequence (oldest first).</summary>
    public void AddSequence(IReadOnlyList<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var ordinals = Intern(items);
        _lock.EnterWriteLock();
        try
        {
            Grow();
            for (var i = 0; i < ordinals.Length; i++)
            {
                _counts[ordinals[i]]++;
                for (var j = Math.Max(0, i - Window); j < i; j++) AddPair(ordinals[i], ordinals[j]);
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Adds one new step after <paramref name="recent"/> (the user's previous items, newest last).</summary>
    public void AddStep(string item, IReadOnlyList<string> recent)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(recent);
        var ordinal = Ordinals.Intern(item);
        var from = Math.Max(0, recent.Count - Window);
        var previous = new int[recent.Count - from];
        for (var j = 0; j < previous.Length; j++) previous[j] = Ordinals.Intern(recent[from + j]);
        _lock.EnterWriteLock();
        try
        {
            Grow();
            _counts[ordinal]++;
            foreach (var other in previous) AddPair(ordinal, other);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private int[] Intern(IReadOnlyList<string> items)
    {
        var ordinals = new int[items.Count];
        for (var i = 0; i < ordinals.Length; i++) ordinals[i] = Ordinals.Intern(items[i]);
        return ordinals;
    }

    /// <summary>
    /// Writes every item's count and neighbour counts. Items go by id (the numbering is this process's), all of them
    /// first and in ordinal order, so a restore into a numbering that already holds the same catalog numbers the
    /// rest as this one did, and rows trim alike.
    /// </summary>
    public void WriteTo(StateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _lock.EnterReadLock();
        try
        {
            writer.WriteCount(Window);
            writer.WriteCount(MaxNeighbours);
            var items = Math.Min(_counts.Length, Ordinals.Count);
            writer.WriteCount(items);
            for (var x = 0; x < items; x++) writer.WriteString(Ordinals.KeyOf(x));
            for (var x = 0; x < items; x++)
            {
                writer.WriteSingle(_counts[x]);
                var row = _rows[x];
                writer.WriteCount(row?.Count ?? 0);
                if (row is null) continue;
                for (var j = 0; j < row.Count; j++)
                {
                    writer.WriteCount(row.IdAt(j));
                    writer.WriteSingle(row.CountAt(j));
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote into these empty counts; throws <see cref="InvalidDataException"/> on a mismatch.</summary>
    public void ReadFrom(StateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader.ReadCount(int.MaxValue) != Window || reader.ReadCount(int.MaxValue) != MaxNeighbours)
            throw new InvalidDataException("The co-visitation window or row size differs.");
        var items = reader.ReadCount(int.MaxValue);
        var ordinals = new int[items];
        for (var i = 0; i < items; i++) ordinals[i] = Ordinals.Intern(reader.ReadString());
        _lock.EnterWriteLock();
        try
        {
            if (_counts.Any(c => c != 0)) throw new InvalidOperationException("Restore into empty counts.");
            Grow();
            for (var i = 0; i < items; i++)
            {
                var x = ordinals[i];
                _counts[x] = reader.ReadSingle();
                var neighbours = reader.ReadCount(items);
                if (neighbours == 0) continue;
                var row = new Retrieval.CountRow<float>();
                for (var n = 0; n < neighbours; n++) row.Add(ordinals[reader.ReadCount(items - 1)], reader.ReadSingle());
                _rows[x] = row;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Makes room for every ordinal handed out so far (inside the write lock).</summary>
    private void Grow()
    {
        var needed = Ordinals.Count;
        if (needed <= _counts.Length) return;
        var size = Math.Max(needed, _counts.Length * 2);
        Array.Resize(ref _rows, size);
        Array.Resize(ref _counts, size);
    }

    private void AddPair(int a, int b)
    {
        if (a == b) return;
        Increment(a, b);
        Increment(b, a);

        void Increment(int x, int y)
        {
            var row = _rows[x] ??= new Retrieval.CountRow<float>();
            row.Add(y, 1f);
            row.TrimAbove(MaxNeighbours);
        }
    }

    /// <summary>
    /// scores[i] = Σ over the user's recent items (ordinals, newest last) of decay^age · <see cref="Similarity"/> with
    /// candidates[i], in one read lock: what the re-ranker scores a query's candidates with. Negative ordinals (items
    /// never seen) score 0. A row up to <see cref="ScanFactor"/> times the candidates is walked in memory order against
    /// a small table of the candidates; a longer one is probed once per candidate.
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
                var ca = _counts[a];
                if (row.Count <= ScanFactor * candidates.Length)
                {
                    for (var j = 0; j < row.Count; j++)
                    {
                        var b = row.IdAt(j);
                        if (table.Find(b) is >= 0 and var i) scores[i] += weight * row.CountAt(j) / MathF.Sqrt(ca * _counts[b]);
                    }
                }
                else
                {
                    for (var i = 0; i < candidates.Length; i++)
                    {
                        var b = candidates[i];
                        if (b >= 0 && row.TryGet(b, out var together)) scores[i] += weight * together / MathF.Sqrt(ca * _counts[b]);
                    }
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Rows up to this many times the candidates are walked whole rather than probed per candidate.</summary>
    public const int ScanFactor = 8;

    /// <summary>Open-addressing table from candidate ordinal to its position; slots hold position + 1 (0: empty).</summary>
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

        public int Find(int ordinal)
        {
            for (var slot = Hash(ordinal) & _mask; _slots[slot] != 0; slot = (slot + 1) & _mask)
                if (_candidates[_slots[slot] - 1] == ordinal) return _slots[slot] - 1;
            return -1;
        }

        private static int Hash(int ordinal) => (int)((uint)ordinal * 0x9E3779B1u >> 7);
    }

    /// <summary>count(a, b) / √(count(a) · count(b)); 0 when never seen together.</summary>
    public float Similarity(string a, string b)
    {
        var x = Ordinals.Find(a);
        var y = Ordinals.Find(b);
        if (x < 0 || y < 0) return 0;
        _lock.EnterReadLock();
        try
        {
            if (x >= _rows.Length || _rows[x] is not { } row || !row.TryGet(y, out var together)) return 0;
            return together / MathF.Sqrt(_counts[x] * _counts[y]);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>How often the item was seen in users' sequences (0 when never).</summary>
    public float Seen(string item)
    {
        var x = Ordinals.Find(item);
        if (x < 0) return 0;
        _lock.EnterReadLock();
        try
        {
            return x < _counts.Length ? _counts[x] : 0;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>How many neighbours the item's row holds now.</summary>
    public int NeighbourCount(string item)
    {
        var x = Ordinals.Find(item);
        if (x < 0) return 0;
        _lock.EnterReadLock();
        try
        {
            return x < _rows.Length && _rows[x] is { } row ? row.Count : 0;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public void Dispose() => _lock.Dispose();
}
