namespace Persona.Core.Search;

/// <summary>
/// Item-to-item co-occurrence within users' behaviour sequences: items seen within <see cref="Window"/> steps
/// of each other count once per occurrence. <see cref="Similarity"/> is the cosine-normalised count, so hugely
/// popular items do not neighbour everything. Thread-safe: writes take the lock alone; reads share it, once per
/// query (<see cref="Neighbours"/>), so concurrent searches never queue behind each other.
/// </summary>
public sealed class CoVisitation : IDisposable
{
    public const int DefaultWindow = 3;
    /// <summary>Neighbours kept per item: a row that doubles past it is cut back to its strongest, so memory stays O(items · this).</summary>
    public const int DefaultMaxNeighbours = 500;
    private readonly Dictionary<string, Dictionary<string, float>> _pairs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, float> _counts = new(StringComparer.Ordinal);
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    public CoVisitation(int window = DefaultWindow, int maxNeighbours = DefaultMaxNeighbours)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNeighbours, 1);
        Window = window;
        MaxNeighbours = maxNeighbours;
    }

    public int MaxNeighbours { get; }

    public int Window { get; }

    /// <summary>Adds one user's sequence (oldest first).</summary>
    public void AddSequence(IReadOnlyList<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _lock.EnterWriteLock();
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                _counts[items[i]] = _counts.GetValueOrDefault(items[i]) + 1;
                for (var j = Math.Max(0, i - Window); j < i; j++) AddPair(items[i], items[j]);
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
        _lock.EnterWriteLock();
        try
        {
            _counts[item] = _counts.GetValueOrDefault(item) + 1;
            for (var j = Math.Max(0, recent.Count - Window); j < recent.Count; j++) AddPair(item, recent[j]);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void AddPair(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal)) return;
        Increment(a, b);
        Increment(b, a);

        void Increment(string x, string y)
        {
            if (!_pairs.TryGetValue(x, out var row)) _pairs[x] = row = new Dictionary<string, float>(StringComparer.Ordinal);
            row[y] = row.GetValueOrDefault(y) + 1;
            Retrieval.BoundedRows.Trim(row, MaxNeighbours, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Neighbours of a user's recent items (newest last) with Σ decay^age · <see cref="Similarity"/>, in one lock:
    /// what the re-ranker looks candidates up in. With <paramref name="among"/> only those items are scored (a
    /// query's candidates): each recent item then costs min(its neighbours, candidates) lookups, where a popular
    /// item alone can have thousands of neighbours.
    /// </summary>
    public Dictionary<string, float> Neighbours(IReadOnlyList<string> recent, IReadOnlyCollection<string>? among = null, float decay = 0.8f)
    {
        ArgumentNullException.ThrowIfNull(recent);
        var scores = new Dictionary<string, float>(StringComparer.Ordinal);
        var wanted = among as IReadOnlySet<string> ?? (among is null ? null : new HashSet<string>(among, StringComparer.Ordinal));
        _lock.EnterReadLock();
        try
        {
            var weight = 1f;
            for (var k = recent.Count - 1; k >= 0; k--, weight *= decay)
            {
                var a = recent[k];
                if (!_pairs.TryGetValue(a, out var row)) continue;
                var ca = _counts[a];
                if (wanted is not null && wanted.Count < row.Count)
                {
                    foreach (var b in wanted)
                        if (row.TryGetValue(b, out var together)) Add(b, together);
                }
                else
                {
                    foreach (var (b, together) in row)
                        if (wanted is null || wanted.Contains(b)) Add(b, together);
                }

                void Add(string b, float together) => scores[b] = scores.GetValueOrDefault(b) + weight * together / MathF.Sqrt(ca * _counts[b]);
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }
        return scores;
    }

    /// <summary>count(a, b) / √(count(a) · count(b)); 0 when never seen together.</summary>
    public float Similarity(string a, string b)
    {
        _lock.EnterReadLock();
        try
        {
            if (!_pairs.TryGetValue(a, out var row) || !row.TryGetValue(b, out var together)) return 0;
            return together / MathF.Sqrt(_counts[a] * _counts[b]);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public void Dispose() => _lock.Dispose();
}
