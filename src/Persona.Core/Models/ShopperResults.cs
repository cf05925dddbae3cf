using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Persona.Abstractions;
using Persona.Core.Models.Segments;
using Persona.Core.State;

namespace Persona.Core.Models;

/// <summary>
/// What one refresh says of the shop as a whole: the prediction model and the category keys its rows refer to, and
/// the segmentation (segments, labels, sizes) without its members. Stored as a small document beside the rows.
/// </summary>
public sealed record ShopperResultsHeader
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public string? PredictionModel { get; init; }
    public DateTimeOffset PredictionsComputedAt { get; init; }
    /// <summary>Category keys, by the index the rows hold.</summary>
    public IReadOnlyList<string> Categories { get; init; } = [];
}

/// <summary>
/// The results of the last model refresh for every shopper (predictions, segment membership and map point), held
/// compactly: one sorted array of user ids and, per shopper, a segment index, three fixed-point numbers and their
/// predictions encoded in one shared byte arena (category keys as indexes into <see cref="ShopperResultsHeader.Categories"/>).
/// At a million shoppers that is tens of bytes each instead of a dictionary entry, four records and their strings.
/// Stored as one row per shopper (<see cref="ToRecords"/>, <see cref="Loader"/>), so an erasure deletes one row.
/// </summary>
/// <remarks>
/// Numbers are kept to four decimals (the refresh rounds them there): <c>n / 10⁴</c> gives back exactly the double
/// <c>Math.Round(v, 4)</c> gave. Erasure (<see cref="Remove"/>) marks a row gone; readers may run beside it.
/// </remarks>
public sealed class ShopperResults
{
    /// <summary>First byte of every stored row; a row of another format or with a bad checksum is not read.</summary>
    public const byte RecordFormat = 1;
    private const double Scale = 10_000;
    private const byte SegmentFlag = 1, PredictionsFlag = 2;

    private readonly string[] _users;           // [n], ordinal order
    private readonly short[] _segment;          // [n], index into the header's segments, −1 none
    private readonly int[] _distance, _x, _y;   // [n], ×10⁴
    private readonly int[] _predictionStart;    // [n + 1] into _predictions; empty range: none
    private readonly byte[] _predictions;
    private readonly bool[] _removed;           // [n]
    private readonly int[] _segmentSizes;       // [k], live members
    private readonly SegmentMembership[] _memberships; // [k], shared label instances (distance 0)
    private readonly Lock _removeLock = new();
    private int[] _segmentRows;                 // rows with a segment, in user order, live only
    private int _live;

    private ShopperResults(ShopperResultsHeader header, SegmentModel? segments, string[] users, short[] segment, int[] distance, int[] x, int[] y,
        int[] predictionStart, byte[] predictions)
    {
        Header = header;
        _users = users;
        _segment = segment;
        _distance = distance;
        _x = x;
        _y = y;
        _predictionStart = predictionStart;
        _predictions = predictions;
        _removed = new bool[users.Length];
        _live = users.Length;
        var k = segments?.Segments.Count ?? 0;
        _segmentSizes = new int[k];
        _memberships = new SegmentMembership[k];
        for (var c = 0; c < k; c++)
        {
            var info = segments!.Segments[c];
            _memberships[c] = new SegmentMembership(info.Id, info.LabelEn, info.LabelZh, 0);
        }
        var rows = new List<int>();
        for (var i = 0; i < users.Length; i++)
        {
            if (segment[i] < 0) continue;
            _segmentSizes[segment[i]]++;
            rows.Add(i);
        }
        _segmentRows = [.. rows];
        Segments = segments is null ? null : segments with
        {
            Members = new MembersView(this),
            Projection = new ProjectionView(this),
            Segments = Sized(segments.Segments, _segmentSizes),
        };
    }

    public static ShopperResults Empty { get; } = new(new ShopperResultsHeader(), null, [], [], [], [], [], [0], []);

    public ShopperResultsHeader Header { get; }

    /// <summary>The segmentation, its members and map points read from here; null when the refresh made none.</summary>
    public SegmentModel? Segments { get; private set; }

    /// <summary>Shoppers with any result (less the removed).</summary>
    public int Count => Volatile.Read(ref _live);

    public bool HasPredictions { get; private init; }

    /// <summary>Bytes held per shopper on average, arrays and ids included (for the state status).</summary>
    public long EstimatedBytes =>
        _users.Sum(u => 24L + 2L * u.Length) + _users.Length * (8L + 2 + 12 + 4 + 1 + 4) + _predictions.Length;

    public Predictions? PredictionsOf(string userId) => TryFind(userId, out var i) ? DecodePredictions(i) : null;

    public SegmentMembership? MembershipOf(string userId) => TryFind(userId, out var i) ? Membership(i) : null;

    public bool Contains(string userId) => TryFind(userId, out _);

    /// <summary>Forgets a shopper (erasure); returns what they had: (predictions, segment).</summary>
    public (bool Predictions, bool Segment) Remove(string userId)
    {
        lock (_removeLock)
        {
            if (!TryFind(userId, out var i)) return (false, false);
            _removed[i] = true;
            Interlocked.Decrement(ref _live);
            var hadSegment = _segment[i] >= 0;
            if (hadSegment)
            {
                _segmentSizes[_segment[i]]--;
                _segmentRows = [.. _segmentRows.Where(r => r != i)];
                Segments = Segments! with { Segments = Sized(Segments.Segments, _segmentSizes) };
            }
            return (_predictionStart[i + 1] > _predictionStart[i], hadSegment);
        }
    }

    /// <summary>The segmentation as stored beside the rows: segments with their live sizes, without members or map points.</summary>
    public SegmentModel? SegmentsHeader => Segments is null ? null : Segments with { Members = new Dictionary<string, SegmentMembership>(), Projection = [] };

    /// <summary>
    /// <see cref="SegmentsHeader"/> as it will be once <paramref name="userId"/> is removed (what an erasure writes in its
    /// transaction); null when they have no segment.
    /// </summary>
    public SegmentModel? SegmentsHeaderWithout(string userId)
    {
        lock (_removeLock)
        {
            if (!TryFind(userId, out var i) || _segment[i] < 0 || SegmentsHeader is not { } header) return null;
            var sizes = (int[])_segmentSizes.Clone();
            sizes[_segment[i]]--;
            return header with { Segments = Sized(header.Segments, sizes) };
        }
    }

    /// <summary><paramref name="segments"/> with the given sizes and each one's share of their total.</summary>
    private static List<SegmentInfo> Sized(IReadOnlyList<SegmentInfo> segments, int[] sizes)
    {
        var total = sizes.Sum();
        return [.. segments.Select((s, c) => s with { Size = sizes[c], Share = total == 0 ? 0 : Math.Round(sizes[c] / (double)total, 4) })];
    }

    private bool TryFind(string userId, out int index)
    {
        index = Array.BinarySearch(_users, userId, StringComparer.Ordinal);
        return index >= 0 && !_removed[index];
    }

    private SegmentMembership? Membership(int i) =>
        _segment[i] < 0 ? null : _memberships[_segment[i]] with { Distance = _distance[i] / Scale };

    // ------------------------------------------------------------------ building

    /// <summary>
    /// Collects a refresh's results: predictions are encoded as they are added (a million shoppers' prediction records
    /// are never held at once), then <see cref="Build"/> joins them with the segmentation.
    /// </summary>
    public sealed class Builder
    {
        private readonly Dictionary<string, int> _categories = new(StringComparer.Ordinal);
        private readonly Dictionary<string, byte[]> _encoded = new(StringComparer.Ordinal);
        private readonly ArrayBufferWriter<byte> _writer = new(256);

        public int PredictionCount => _encoded.Count;

        public void AddPredictions(string userId, Predictions predictions)
        {
            ArgumentException.ThrowIfNullOrEmpty(userId);
            ArgumentNullException.ThrowIfNull(predictions);
            _writer.ResetWrittenCount();
            EncodePredictions(predictions, _categories, _writer);
            _encoded[userId] = _writer.WrittenSpan.ToArray();
        }

        /// <summary>
        /// The results: the predictions added, stamped with <paramref name="predictionModel"/> and
        /// <paramref name="predictionsComputedAt"/>, and the segmentation the segment builder made, whose members and map
        /// points are taken in (the model's own dictionary and list can then be dropped).
        /// </summary>
        public ShopperResults Build(string? predictionModel, DateTimeOffset predictionsComputedAt, SegmentModel? segments)
        {
            var segmentIndex = segments?.Segments.Select((s, c) => (s.Id, c)).ToDictionary(t => t.Id, t => t.c, StringComparer.Ordinal) ?? [];
            var points = segments?.Projection.ToDictionary(p => p.UserId, StringComparer.Ordinal) ?? [];
            var users = _encoded.Keys.Union(segments?.Members.Keys ?? []).ToArray();
            Array.Sort(users, StringComparer.Ordinal);
            var n = users.Length;
            var segment = new short[n];
            int[] distance = new int[n], x = new int[n], y = new int[n], start = new int[n + 1];
            var arena = new ArrayBufferWriter<byte>(Math.Max(1, _encoded.Values.Sum(e => e.Length)));
            for (var i = 0; i < n; i++)
            {
                segment[i] = -1;
                if (segments is not null && segments.Members.TryGetValue(users[i], out var m))
                {
                    segment[i] = checked((short)segmentIndex[m.SegmentId]);
                    distance[i] = Fixed(m.Distance);
                    if (points.TryGetValue(users[i], out var point))
                    {
                        x[i] = Fixed(point.X);
                        y[i] = Fixed(point.Y);
                    }
                }
                if (_encoded.TryGetValue(users[i], out var bytes)) arena.Write(bytes);
                start[i + 1] = arena.WrittenCount;
            }
            var header = new ShopperResultsHeader
            {
                PredictionModel = predictionModel,
                PredictionsComputedAt = predictionsComputedAt,
                Categories = [.. _categories.OrderBy(kv => kv.Value).Select(kv => kv.Key)],
            };
            return new ShopperResults(header, segments, users, segment, distance, x, y, start, arena.WrittenSpan.ToArray()) { HasPredictions = _encoded.Count > 0 };
        }
    }

    /// <summary>Every live shopper's predictions, in user order (a refresh that keeps the previous ones reads them here).</summary>
    public IEnumerable<KeyValuePair<string, Predictions>> AllPredictions()
    {
        for (var i = 0; i < _users.Length; i++)
            if (!_removed[i] && DecodePredictions(i) is { } p) yield return KeyValuePair.Create(_users[i], p);
    }

    private static int Fixed(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"A result value must be finite; got {value}.", nameof(value));
        return checked((int)Math.Round(value * Scale));
    }

    // ------------------------------------------------------------------ rows

    /// <summary>One row per live shopper: format, flags, segment fields, predictions, then an xxHash64 of the rest.</summary>
    public IEnumerable<ShopperResultRecord> ToRecords()
    {
        var writer = new ArrayBufferWriter<byte>(256);
        for (var i = 0; i < _users.Length; i++)
        {
            if (_removed[i]) continue;
            writer.ResetWrittenCount();
            Put(writer, RecordFormat);
            var predictions = _predictions.AsSpan(_predictionStart[i], _predictionStart[i + 1] - _predictionStart[i]);
            Put(writer, (byte)((_segment[i] >= 0 ? SegmentFlag : 0) | (predictions.Length > 0 ? PredictionsFlag : 0)));
            if (_segment[i] >= 0)
            {
                Varint.Write(writer, (ulong)_segment[i]);
                Varint.WriteSigned(writer, _distance[i]);
                Varint.WriteSigned(writer, _x[i]);
                Varint.WriteSigned(writer, _y[i]);
            }
            if (predictions.Length > 0) writer.Write(predictions);
            writer.Advance(8);
            var row = writer.WrittenSpan.ToArray();
            Varint.Seal(row);
            yield return new ShopperResultRecord(_users[i], row);
        }
    }

    /// <summary>
    /// Reads the results as stored: the header and the segmentation (without members) from their documents, then one
    /// row per shopper through <see cref="Add"/>. A row that is damaged, of another format, or
    /// refers to a segment or category the header lacks is refused: that shopper has no results until the next refresh,
    /// rather than wrong ones.
    /// </summary>
    public sealed class Loader
    {
        private readonly ShopperResultsHeader _header;
        private readonly SegmentModel? _segments;
        private readonly List<string> _users = [];
        private readonly List<short> _segment = [];
        private readonly List<int> _distance = [], _x = [], _y = [], _start = [0];
        private readonly ArrayBufferWriter<byte> _arena = new(1 << 16);
        private bool _sorted = true;

        public Loader(ShopperResultsHeader header, SegmentModel? segments)
        {
            ArgumentNullException.ThrowIfNull(header);
            if (header.Format != ShopperResultsHeader.CurrentFormat)
                throw new InvalidDataException($"Results header format {header.Format} is not {ShopperResultsHeader.CurrentFormat}.");
            _header = header;
            _segments = segments;
        }

        /// <summary>Rows refused so far.</summary>
        public int Skipped { get; private set; }

        /// <summary>Takes one stored row; false (and counted in <see cref="Skipped"/>) when it cannot be read.</summary>
        public bool Add(ShopperResultRecord record)
        {
            ArgumentNullException.ThrowIfNull(record);
            if (string.IsNullOrEmpty(record.UserId) || !TryReadRow(record.Data, _segments?.Segments.Count ?? 0, _header.Categories.Count, out var row))
            {
                Skipped++;
                return false;
            }
            if (_users.Count > 0 && string.CompareOrdinal(_users[^1], record.UserId) >= 0) _sorted = false;
            _users.Add(record.UserId);
            _segment.Add(row.Segment);
            _distance.Add(row.Distance);
            _x.Add(row.X);
            _y.Add(row.Y);
            _arena.Write(record.Data.AsSpan(row.PredictionsStart, row.PredictionsLength));
            _start.Add(_arena.WrittenCount);
            return true;
        }

        public ShopperResults Complete()
        {
            var result = new ShopperResults(_header, _segments, [.. _users], [.. _segment], [.. _distance], [.. _x], [.. _y], [.. _start], _arena.WrittenSpan.ToArray())
            {
                HasPredictions = _arena.WrittenCount > 0,
            };
            // The store returns rows in its own key order, which can differ from ordinal order for some characters;
            // a duplicate id (not from a store with a key on it) keeps one row.
            return _sorted ? result : result.Sorted();
        }
    }

    private ShopperResults Sorted()
    {
        var all = Enumerable.Range(0, _users.Length).ToArray();
        Array.Sort([.. _users], all, StringComparer.Ordinal);
        var order = all.Where((i, j) => j == 0 || _users[all[j - 1]] != _users[i]).ToArray();
        var start = new int[order.Length + 1];
        var arena = new ArrayBufferWriter<byte>(Math.Max(1, _predictions.Length));
        for (var j = 0; j < order.Length; j++)
        {
            var i = order[j];
            arena.Write(_predictions.AsSpan(_predictionStart[i], _predictionStart[i + 1] - _predictionStart[i]));
            start[j + 1] = arena.WrittenCount;
        }
        return new ShopperResults(Header, SegmentsHeader, [.. order.Select(i => _users[i])], [.. order.Select(i => _segment[i])],
            [.. order.Select(i => _distance[i])], [.. order.Select(i => _x[i])], [.. order.Select(i => _y[i])], start, arena.WrittenSpan.ToArray())
        {
            HasPredictions = HasPredictions,
        };
    }

    private readonly record struct Row(short Segment, int Distance, int X, int Y, int PredictionsStart, int PredictionsLength);

    private static bool TryReadRow(byte[] data, int segments, int categories, out Row row)
    {
        row = default;
        if (data is null || data.Length < 2 + 8 || data[0] != RecordFormat || !Varint.IsSealed(data)) return false;
        var end = data.Length - 8;
        try
        {
            var span = new ReadOnlySpan<byte>(data, 0, end);
            var position = 1;
            var flags = span[position++];
            if ((flags & ~(SegmentFlag | PredictionsFlag)) != 0) return false;
            short segment = -1;
            int distance = 0, x = 0, y = 0;
            if ((flags & SegmentFlag) != 0)
            {
                var c = Varint.Read(span, ref position);
                if (c >= (ulong)segments) return false;
                segment = (short)c;
                distance = checked((int)Varint.ReadSigned(span, ref position));
                x = checked((int)Varint.ReadSigned(span, ref position));
                y = checked((int)Varint.ReadSigned(span, ref position));
            }
            var predictionsStart = position;
            if ((flags & PredictionsFlag) != 0)
            {
                // Decoded once here so a row that would not decode later is refused now.
                _ = DecodePredictions(span[position..], categories, null, default, out var read);
                position += read;
                if (read == 0) return false;
            }
            if (position != end) return false;
            row = new Row(segment, distance, x, y, predictionsStart, position - predictionsStart);
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    // ------------------------------------------------------------------ predictions

    private const byte HasPurchase = 1, HasChurn = 2;

    private static void EncodePredictions(Predictions p, Dictionary<string, int> categories, ArrayBufferWriter<byte> writer)
    {
        Put(writer, (byte)((p.PurchasePropensity is null ? 0 : HasPurchase) | (p.ChurnRisk is null ? 0 : HasChurn)));
        if (p.PurchasePropensity is { } purchase) Varint.WriteSigned(writer, Fixed(purchase));
        if (p.ChurnRisk is { } churn) Varint.WriteSigned(writer, Fixed(churn));
        WriteScores(p.CategoryPropensity, categories, writer);
        WriteScores(p.CategoryDemand, categories, writer);
        WriteScores(p.NextCategories.Select(s => KeyValuePair.Create(s.Key, s.Score)).ToList(), categories, writer);
    }

    private static void WriteScores(IReadOnlyCollection<KeyValuePair<string, double>> scores, Dictionary<string, int> categories, ArrayBufferWriter<byte> writer)
    {
        Varint.Write(writer, (ulong)scores.Count);
        foreach (var (key, value) in scores)
        {
            if (!categories.TryGetValue(key, out var index)) categories[key] = index = categories.Count;
            Varint.Write(writer, (ulong)index);
            Varint.WriteSigned(writer, Fixed(value));
        }
    }

    private Predictions? DecodePredictions(int i)
    {
        var span = _predictions.AsSpan(_predictionStart[i], _predictionStart[i + 1] - _predictionStart[i]);
        return span.IsEmpty ? null : DecodePredictions(span, Header.Categories.Count, Header, Header.PredictionsComputedAt, out _);
    }

    /// <summary>Decodes one shopper's predictions; with no header only checks them (returns null) and says how many bytes they took.</summary>
    private static Predictions? DecodePredictions(ReadOnlySpan<byte> span, int categories, ShopperResultsHeader? header, DateTimeOffset computedAt, out int read)
    {
        var position = 0;
        var flags = span[position++];
        if ((flags & ~(HasPurchase | HasChurn)) != 0) throw new InvalidDataException("Unknown prediction flags.");
        double? purchase = (flags & HasPurchase) != 0 ? Varint.ReadSigned(span, ref position) / Scale : null;
        double? churn = (flags & HasChurn) != 0 ? Varint.ReadSigned(span, ref position) / Scale : null;
        var propensity = ReadScores(span, ref position, categories, header);
        var demand = ReadScores(span, ref position, categories, header);
        var next = ReadScores(span, ref position, categories, header);
        read = position;
        if (header is null) return null;
        return new Predictions
        {
            ModelVersion = header.PredictionModel,
            ComputedAt = computedAt,
            PurchasePropensity = purchase,
            ChurnRisk = churn,
            CategoryPropensity = propensity!.ToDictionary(StringComparer.Ordinal),
            CategoryDemand = demand!.ToDictionary(StringComparer.Ordinal),
            NextCategories = [.. next!.Select(kv => new ScoredKey(kv.Key, kv.Value))],
        };
    }

    private static List<KeyValuePair<string, double>>? ReadScores(ReadOnlySpan<byte> span, ref int position, int categories, ShopperResultsHeader? header)
    {
        var count = Varint.Read(span, ref position);
        if (count > (ulong)categories) throw new InvalidDataException("More scores than categories.");
        var scores = header is null ? null : new List<KeyValuePair<string, double>>((int)count);
        for (var j = 0UL; j < count; j++)
        {
            var index = Varint.Read(span, ref position);
            if (index >= (ulong)categories) throw new InvalidDataException("Category index out of range.");
            var value = Varint.ReadSigned(span, ref position) / Scale;
            scores?.Add(KeyValuePair.Create(header!.Categories[(int)index], value));
        }
        return scores;
    }

    // ------------------------------------------------------------------ varints

    private static void Put(ArrayBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    // ------------------------------------------------------------------ views for SegmentModel

    private sealed class MembersView(ShopperResults results) : IReadOnlyDictionary<string, SegmentMembership>
    {
        public SegmentMembership this[string key] => TryGetValue(key, out var m) ? m : throw new KeyNotFoundException($"No segment membership for '{key}'.");
        public IEnumerable<string> Keys => this.Select(kv => kv.Key);
        public IEnumerable<SegmentMembership> Values => this.Select(kv => kv.Value);
        public int Count => results._segmentRows.Length;
        public bool ContainsKey(string key) => TryGetValue(key, out _);

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out SegmentMembership value)
        {
            value = results.TryFind(key, out var i) ? results.Membership(i) : null;
            return value is not null;
        }

        public IEnumerator<KeyValuePair<string, SegmentMembership>> GetEnumerator()
        {
            foreach (var i in results._segmentRows)
                if (!results._removed[i]) yield return KeyValuePair.Create(results._users[i], results.Membership(i)!);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class ProjectionView(ShopperResults results) : IReadOnlyList<ProjectedUser>
    {
        public ProjectedUser this[int index]
        {
            get
            {
                var i = results._segmentRows[index];
                return new ProjectedUser(results._users[i], results._memberships[results._segment[i]].SegmentId, results._x[i] / Scale, results._y[i] / Scale);
            }
        }

        public int Count => results._segmentRows.Length;

        public IEnumerator<ProjectedUser> GetEnumerator()
        {
            var rows = results._segmentRows;
            for (var j = 0; j < rows.Length; j++)
                if (!results._removed[rows[j]]) yield return new ProjectedUser(results._users[rows[j]], results._memberships[results._segment[rows[j]]].SegmentId,
                    results._x[rows[j]] / Scale, results._y[rows[j]] / Scale);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
