using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>
/// Time-decayed popularity of items, overall and within every category node (each prefix key of an item's path).
/// A weight w at time t adds w · 2^((t − ref) / halfLife) to the item's score, so every score shares the factor
/// 2^(−(now − ref) / halfLife) and ranking never needs the current time; the reference is moved forward before
/// the factors could overflow. Writers take a lock; readers never do.
/// <see cref="Top"/> walks a ranking of the node sorted once and reused until it is <see cref="MaxStaleness"/> old
/// and events have arrived since: a request then costs O(k) instead of a scan of the catalog, and under steady
/// ingest each ranking is re-sorted at most once per <see cref="MaxStaleness"/> (zero: always current).
/// </summary>
public sealed class PopularityIndex
{
    public const double DefaultHalfLifeDays = 30;
    /// <summary>Rebase when a factor would pass 2^60: far from double's range, and rebasing is O(items).</summary>
    private const double MaxExponent = 60;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<double> _scores = [];
    // Each item's number in the shared numbering (when there is one), by the index's own id.
    private readonly List<int> _numbers = [];
    private readonly Dictionary<string, HashSet<int>> _members = new(StringComparer.Ordinal);
    private readonly double _halfLifeTicks;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Ranking> _rankings = new(StringComparer.Ordinal);
    private readonly long _maxStalenessTicks;
    private readonly Persona.Core.State.KeyInterner? _sharedIds;
    private long _referenceTicks = long.MinValue;
    private long _version;

    /// <param name="halfLifeDays">Days after which an event counts half.</param>
    /// <param name="maxStaleness">How long a sorted ranking is reused after events arrive before it is sorted again (zero: always current).</param>
    /// <param name="sharedIds">The process's item numbering, whose string instances the index keeps instead of its own copies.</param>
    public PopularityIndex(double halfLifeDays = DefaultHalfLifeDays, TimeSpan maxStaleness = default, Persona.Core.State.KeyInterner? sharedIds = null)
    {
        _sharedIds = sharedIds;
        if (!(halfLifeDays > 0) || double.IsInfinity(halfLifeDays)) throw new ArgumentOutOfRangeException(nameof(halfLifeDays));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStaleness, TimeSpan.Zero);
        HalfLifeDays = halfLifeDays;
        MaxStaleness = maxStaleness;
        _halfLifeTicks = TimeSpan.FromDays(halfLifeDays).Ticks;
        _maxStalenessTicks = (long)(maxStaleness.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    }

    public double HalfLifeDays { get; }

    /// <summary>How long a sorted ranking may be served after new events arrived.</summary>
    public TimeSpan MaxStaleness { get; }

    /// <summary>Adds a weighted interaction with an item, filing the item under each of its category keys.</summary>
    public void Add(string itemId, IReadOnlyList<string> categoryKeys, double weight, DateTimeOffset at) =>
        AddMany([(itemId, categoryKeys, weight, at)]);

    public void AddMany(IEnumerable<(string ItemId, IReadOnlyList<string> CategoryKeys, double Weight, DateTimeOffset At)> interactions)
    {
        ArgumentNullException.ThrowIfNull(interactions);
        lock (_lock)
        {
            _version++;
            foreach (var (itemId, keys, weight, at) in interactions)
            {
                if (!(weight > 0) || double.IsInfinity(weight)) continue;
                if (_referenceTicks == long.MinValue) _referenceTicks = at.UtcTicks;
                var exponent = (at.UtcTicks - _referenceTicks) / _halfLifeTicks;
                if (exponent > MaxExponent)
                {
                    Rebase(at.UtcTicks);
                    exponent = 0;
                }
                var id = Intern(itemId);
                _scores[id] += weight * Math.Pow(2, exponent);
                foreach (var key in keys)
                {
                    if (!_members.TryGetValue(key, out var set)) _members[key] = set = [];
                    set.Add(id);
                }
            }
        }
    }

    /// <summary>
    /// The item's score relative to the others (0 when never seen), from the same overall ranking as
    /// <see cref="Top"/> and <see cref="TopScore"/>, so ratios between them are consistent; lock-free.
    /// </summary>
    public double Score(string itemId) => Overall().Of(itemId);

    /// <summary>Every item's score and the best one, from one overall ranking: for callers scoring many items at once.</summary>
    public OverallScores Overall()
    {
        var ranking = RankingOf("");
        return new OverallScores(ranking.ScoreOf, ranking.ByNumber, _sharedIds, ranking.Scores.Length > 0 ? ranking.Scores[0] : 0f);
    }

    /// <summary>
    /// The overall scores of one ranking: by the shared item numbering when the index has one (an array read per item
    /// instead of a lookup in a dictionary of the whole catalog, which at a million items misses the cache each time),
    /// else by id.
    /// </summary>
    public readonly struct OverallScores(Dictionary<string, float>? byId, float[]? byNumber, KeyInterner? numbering, float best)
    {
        public float Best => best;

        /// <summary>The score of <paramref name="itemId"/>, whose number in the shared numbering is <paramref name="number"/> (-1: look it up).</summary>
        public float Of(string itemId, int number = -1)
        {
            if (byNumber is null) return byId?.GetValueOrDefault(itemId) ?? 0f;
            if (number < 0) number = numbering!.Find(itemId);
            return (uint)number < (uint)byNumber.Length ? byNumber[number] : 0f;
        }
    }

    /// <summary>
    /// The <paramref name="k"/> most popular items, best first (ties by id), overall (<paramref name="categoryKey"/>
    /// null or empty) or within one category node, among those <paramref name="accept"/> lets through.
    /// </summary>
    public ScoredId[] Top(string? categoryKey, int k, Func<string, bool>? accept = null)
    {
        var ranking = RankingOf(categoryKey ?? "");
        var result = new List<ScoredId>(Math.Min(k, ranking.Names.Length));
        for (var i = 0; i < ranking.Names.Length && result.Count < k; i++)
            if (accept is null || accept(ranking.Names[i])) result.Add(new ScoredId(ranking.Names[i], ranking.Scores[i]));
        return [.. result];
    }

    /// <summary>The best score overall or in a category node (0 when empty), from the same ranking as <see cref="Top"/>.</summary>
    public float TopScore(string? categoryKey = null) => RankingOf(categoryKey ?? "") is { Scores.Length: > 0 } r ? r.Scores[0] : 0f;

    private Ranking RankingOf(string key)
    {
        var version = Volatile.Read(ref _version);
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (_rankings.TryGetValue(key, out var cached) && (cached.Version == version || now - cached.BuiltAt < _maxStalenessTicks))
            return cached;
        var pairs = new List<ScoredId>();
        float[]? byNumber = null;
        lock (_lock)
        {
            version = _version;
            if (key.Length == 0)
            {
                for (var id = 0; id < _scores.Count; id++) pairs.Add(new ScoredId(_names[id], (float)_scores[id]));
                if (_sharedIds is not null)
                {
                    byNumber = new float[_sharedIds.Count]; // every number handed out so far, ours included
                    for (var id = 0; id < _numbers.Count; id++) byNumber[_numbers[id]] = (float)_scores[id];
                }
            }
            else if (_members.TryGetValue(key, out var set))
            {
                foreach (var id in set) pairs.Add(new ScoredId(_names[id], (float)_scores[id]));
            }
        }
        pairs.Sort(static (a, b) => TopK.Worse(a, b) ? 1 : TopK.Worse(b, a) ? -1 : 0);
        var ranking = new Ranking(version, now, [.. pairs.Select(p => p.Id)], [.. pairs.Select(p => p.Score)],
            key.Length == 0 && byNumber is null ? pairs.ToDictionary(p => p.Id, p => p.Score, StringComparer.Ordinal) : null, byNumber);
        _rankings[key] = ranking;
        return ranking;
    }

    /// <summary>Writes every item's decayed score, the reference time and each category node's members.</summary>
    public void WriteTo(StateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteDouble(HalfLifeDays);
            writer.WriteInt64(_referenceTicks);
            writer.WriteCount(_names.Count);
            for (var id = 0; id < _names.Count; id++)
            {
                writer.WriteString(_names[id]);
                writer.WriteDouble(_scores[id]);
            }
            writer.WriteCount(_members.Count);
            foreach (var (key, members) in _members)
            {
                writer.WriteString(key);
                writer.WriteCount(members.Count);
                foreach (var id in members) writer.WriteCount(id);
            }
        }
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote into this empty index; throws <see cref="InvalidDataException"/> on a mismatch.</summary>
    public void ReadFrom(StateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (_lock)
        {
            if (_names.Count > 0) throw new InvalidOperationException("Restore into an empty index.");
            if (reader.ReadDouble() != HalfLifeDays) throw new InvalidDataException("The popularity half-life differs.");
            _referenceTicks = reader.ReadInt64();
            var items = reader.ReadCount(int.MaxValue);
            for (var id = 0; id < items; id++)
            {
                Intern(reader.ReadString());
                _scores[id] = reader.ReadDouble();
            }
            var keys = reader.ReadCount(int.MaxValue);
            for (var k = 0; k < keys; k++)
            {
                var key = reader.ReadString();
                var count = reader.ReadCount(items);
                var members = new HashSet<int>(count);
                for (var i = 0; i < count; i++) members.Add(reader.ReadCount(items - 1));
                _members[key] = members;
            }
            _version++;
        }
    }

    private sealed record Ranking(long Version, long BuiltAt, string[] Names, float[] Scores, Dictionary<string, float>? ScoreOf, float[]? ByNumber);

    private void Rebase(long referenceTicks)
    {
        var factor = Math.Pow(2, -(referenceTicks - _referenceTicks) / _halfLifeTicks);
        for (var i = 0; i < _scores.Count; i++) _scores[i] *= factor;
        _referenceTicks = referenceTicks;
    }

    private int Intern(string itemId)
    {
        if (_ids.TryGetValue(itemId, out var id)) return id;
        id = _names.Count;
        if (_sharedIds is not null)
        {
            var number = _sharedIds.Intern(itemId);
            itemId = _sharedIds.KeyOf(number);
            _numbers.Add(number);
        }
        _ids[itemId] = id;
        _names.Add(itemId);
        _scores.Add(0);
        return id;
    }
}
