using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.State;

namespace Persona.Core.Online;

/// <summary>One shown item of an answer: its id and the source that contributed most to its place.</summary>
public readonly record struct ShownItem(string ItemId, string Source);

/// <summary>What the ledger counts for one group of shown positions.</summary>
public struct OnlineCounts
{
    /// <summary>Positions in served answers.</summary>
    public long Served;
    /// <summary>Positions reported seen (<c>impression</c> events), each once.</summary>
    public long Impressions;
    /// <summary>Positions clicked, each once.</summary>
    public long Clicks;
    /// <summary>Positions whose item was put in the cart, each once.</summary>
    public long Carts;
    /// <summary>Positions whose item was bought, each once.</summary>
    public long Purchases;
    /// <summary>Revenue of every purchase attributed (value, else the catalog price).</summary>
    public double Revenue;
    /// <summary>Sum of each attributed purchase's revenue squared: the per-impression variance of revenue.</summary>
    public double RevenueSquares;

    public void Add(in OnlineCounts other)
    {
        Served += other.Served;
        Impressions += other.Impressions;
        Clicks += other.Clicks;
        Carts += other.Carts;
        Purchases += other.Purchases;
        Revenue += other.Revenue;
        RevenueSquares += other.RevenueSquares;
    }
}

/// <summary>The dimensions figures can be grouped by (<c>by=</c>).</summary>
[Flags]
public enum OnlineDimensions
{
    None = 0,
    Surface = 1,
    Source = 2,
    Position = 4,
    Variant = 8,
    Hour = 16,
}

/// <summary>One group of counts; a dimension not grouped by is null.</summary>
public sealed record OnlineCountsRow(string? Surface, string? Source, string? Position, string? Variant, DateTimeOffset? Hour, OnlineCounts Counts);

/// <summary>
/// The online loop's state (docs/online-loop.md): the served log (each answer's items, per position the strongest
/// source, its shopper and variant) kept for the attribution window and an hour, and counters per (surface, source,
/// position bucket, variant, hour) that impressions, clicks, carts and purchases are attributed into. Counters hold
/// no shopper, so an erasure removes the shopper from the served log and leaves the counts (anonymous aggregates).
/// Thread-safe: answers are recorded on request threads while the write path applies events.
/// </summary>
public sealed class OnlineLedger
{
    /// <summary>The surface of counts no answer could be found for.</summary>
    public const string Unattributed = "unattributed";
    /// <summary>The source of a position whose answer is unknown.</summary>
    public const string UnknownSource = "unknown";
    /// <summary>Answers served outside any experiment.</summary>
    public const string DefaultVariant = "default";
    /// <summary>How far an answer's clock may run after the event that points to it (clients' clocks differ).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private const byte UnattributedSurface = byte.MaxValue;
    private const int AnswersPerShopper = 8;
    private const byte Impressed = 1, Clicked = 2, Carted = 4, Bought = 8;

    private readonly Lock _lock = new();
    private readonly TimeSpan _window;
    private readonly int _maxAnswers;
    private readonly Dictionary<RequestId, ServedAnswer> _answers = [];
    private readonly Queue<ServedAnswer> _order = new();
    private readonly Dictionary<string, RequestId[]> _byShopper = new(StringComparer.Ordinal);
    private readonly Dictionary<CounterKey, OnlineCounts> _counts = [];
    private readonly List<string> _sources = [UnknownSource];
    private readonly List<string> _variants = [DefaultVariant];
    private long _unattributedEvents;

    /// <param name="attributionWindow">How long after an answer a cart or purchase without a request id is attributed to it.</param>
    /// <param name="maxAnswers">Most answers held; the oldest go first.</param>
    public OnlineLedger(TimeSpan attributionWindow, int maxAnswers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(attributionWindow, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAnswers, 1);
        _window = attributionWindow;
        _maxAnswers = maxAnswers;
    }

    public TimeSpan AttributionWindow => _window;

    /// <summary>Answers held now.</summary>
    public int AnswerCount
    {
        get { lock (_lock) return _answers.Count; }
    }

    /// <summary>Events of the loop's kinds (impression, click, cart, purchase) no answer was found for.</summary>
    public long UnattributedEvents => Interlocked.Read(ref _unattributedEvents);

    /// <summary>Records a served answer and counts its positions as served.</summary>
    public void Record(RequestId id, OnlineSurface surface, string? shopper, string? variant, IReadOnlyList<ShownItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        lock (_lock)
        {
            var answer = new ServedAnswer
            {
                Id = id,
                Surface = surface,
                Shopper = shopper,
                Variant = VariantIndex(variant),
                Items = new int[items.Count],
                Sources = new byte[items.Count],
                Marks = new byte[items.Count],
            };
            for (var i = 0; i < items.Count; i++)
            {
                answer.Items[i] = ShopperSteps.Items.Intern(items[i].ItemId);
                answer.Sources[i] = SourceIndex(items[i].Source);
                Count(answer, i).Served++;
            }
            Hold(answer);
            Evict(id.Time);
        }
    }

    /// <summary>
    /// Attributes one stored event: an impression or click to the answer and position it names; a cart or purchase to
    /// the answer it names or, without one, to the shopper's newest answer that showed the item within the window.
    /// </summary>
    /// <param name="e">A stored event; kinds other than those four are ignored.</param>
    /// <param name="priceOf">The catalog price of an item, for a purchase without a value.</param>
    public void Apply(StoredEvent e, Func<string, double?> priceOf)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Type is not (EventType.Impression or EventType.Click or EventType.AddToCart or EventType.Purchase)) return;
        lock (_lock)
        {
            if (Find(e) is not { } found)
            {
                CountUnattributed(e, priceOf);
                return;
            }
            var (answer, index) = found;
            ref var counts = ref Count(answer, index);
            switch (e.Type)
            {
                case EventType.Impression:
                    if (Mark(answer, index, Impressed)) counts.Impressions++;
                    break;
                case EventType.Click:
                    if (Mark(answer, index, Clicked)) counts.Clicks++;
                    break;
                case EventType.AddToCart:
                    if (Mark(answer, index, Carted)) counts.Carts++;
                    break;
                case EventType.Purchase:
                    if (Mark(answer, index, Bought)) counts.Purchases++;
                    var revenue = Revenue(e, priceOf);
                    counts.Revenue += revenue;
                    counts.RevenueSquares += revenue * revenue;
                    break;
            }
        }
    }

    /// <summary>Forgets which answers were served to the shopper; returns how many held them.</summary>
    public int Erase(string shopper)
    {
        ArgumentNullException.ThrowIfNull(shopper);
        lock (_lock)
        {
            _byShopper.Remove(shopper);
            var erased = 0;
            foreach (var answer in _order)
            {
                if (!string.Equals(answer.Shopper, shopper, StringComparison.Ordinal)) continue;
                answer.Shopper = null;
                erased++;
            }
            return erased;
        }
    }

    /// <summary>The counts of hours in [<paramref name="from"/>, <paramref name="to"/>), grouped by <paramref name="by"/>, largest served first.</summary>
    public IReadOnlyList<OnlineCountsRow> Query(DateTimeOffset from, DateTimeOffset to, OnlineDimensions by)
    {
        var firstHour = HourOf(from);
        var endHour = HourOf(to.AddTicks(-1)) + 1;
        var groups = new Dictionary<CounterKey, OnlineCounts>();
        lock (_lock)
        {
            foreach (var (key, counts) in _counts)
            {
                if (key.Hour < firstHour || key.Hour >= endHour) continue;
                var group = new CounterKey(
                    by.HasFlag(OnlineDimensions.Surface) ? key.Surface : (byte)0,
                    by.HasFlag(OnlineDimensions.Source) ? key.Source : (byte)0,
                    by.HasFlag(OnlineDimensions.Position) ? key.Bucket : (byte)0,
                    by.HasFlag(OnlineDimensions.Variant) ? key.Variant : (ushort)0,
                    by.HasFlag(OnlineDimensions.Hour) ? key.Hour : 0);
                ref var sum = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(groups, group, out _);
                sum.Add(counts);
            }
            return groups
                .Select(g => new OnlineCountsRow(
                    by.HasFlag(OnlineDimensions.Surface) ? SurfaceName(g.Key.Surface) : null,
                    by.HasFlag(OnlineDimensions.Source) ? _sources[g.Key.Source] : null,
                    by.HasFlag(OnlineDimensions.Position) ? PositionBuckets.Name(g.Key.Bucket) : null,
                    by.HasFlag(OnlineDimensions.Variant) ? _variants[g.Key.Variant] : null,
                    by.HasFlag(OnlineDimensions.Hour) ? DateTimeOffset.FromUnixTimeSeconds(g.Key.Hour * 3600L) : null,
                    g.Value))
                .OrderBy(r => r.Hour)
                .ThenByDescending(r => r.Counts.Served + r.Counts.Impressions)
                .ThenBy(r => r.Surface, StringComparer.Ordinal)
                .ThenBy(r => r.Source, StringComparer.Ordinal)
                .ThenBy(r => r.Position, StringComparer.Ordinal)
                .ThenBy(r => r.Variant, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>The answer behind a request id while it is held: its surface, variant and items in order.</summary>
    public (OnlineSurface Surface, string Variant, IReadOnlyList<string> Items)? Lookup(RequestId id)
    {
        lock (_lock)
        {
            if (!_answers.TryGetValue(id, out var answer)) return null;
            return (answer.Surface, _variants[answer.Variant], answer.Items.Select(ShopperSteps.Items.KeyOf).ToArray());
        }
    }

    /// <summary>Writes the counters and the answers still held.</summary>
    public void WriteTo(StateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteCount(_sources.Count);
            foreach (var source in _sources) writer.WriteString(source);
            writer.WriteCount(_variants.Count);
            foreach (var variant in _variants) writer.WriteString(variant);
            writer.WriteCount(_unattributedEvents);
            writer.WriteCount(_counts.Count);
            foreach (var (key, counts) in _counts)
            {
                writer.WriteByte(key.Surface);
                writer.WriteCount(key.Source);
                writer.WriteByte(key.Bucket);
                writer.WriteCount(key.Variant);
                writer.WriteSigned(key.Hour);
                writer.WriteCount(counts.Served);
                writer.WriteCount(counts.Impressions);
                writer.WriteCount(counts.Clicks);
                writer.WriteCount(counts.Carts);
                writer.WriteCount(counts.Purchases);
                writer.WriteDouble(counts.Revenue);
                writer.WriteDouble(counts.RevenueSquares);
            }
            writer.WriteCount(_order.Count);
            foreach (var answer in _order)
            {
                writer.WriteSigned(answer.Id.Millis);
                writer.WriteInt64((long)answer.Id.Random);
                writer.WriteByte((byte)answer.Surface);
                writer.WriteNullableString(answer.Shopper);
                writer.WriteCount(answer.Variant);
                writer.WriteCount(answer.Items.Length);
                for (var i = 0; i < answer.Items.Length; i++)
                {
                    writer.WriteString(ShopperSteps.Items.KeyOf(answer.Items[i]));
                    writer.WriteCount(answer.Sources[i]);
                    writer.WriteByte(answer.Marks[i]);
                }
            }
        }
    }

    /// <summary>Restores what <see cref="WriteTo"/> wrote into an empty ledger.</summary>
    public void ReadFrom(StateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (_lock)
        {
            if (_answers.Count > 0 || _counts.Count > 0) throw new InvalidOperationException("Restore into an empty ledger.");
            var sources = reader.ReadCount(byte.MaxValue + 1);
            _sources.Clear();
            for (var i = 0; i < sources; i++) _sources.Add(reader.ReadString());
            var variants = reader.ReadCount(ushort.MaxValue + 1);
            _variants.Clear();
            for (var i = 0; i < variants; i++) _variants.Add(reader.ReadString());
            if (_sources.Count == 0 || _variants.Count == 0) throw new InvalidDataException("The ledger's name tables are empty.");
            _unattributedEvents = reader.ReadLongCount();
            var counters = reader.ReadCount(int.MaxValue);
            for (var i = 0; i < counters; i++)
            {
                var surface = reader.ReadByte();
                var key = new CounterKey(surface, (byte)reader.ReadCount(_sources.Count - 1), reader.ReadByte(), (ushort)reader.ReadCount(_variants.Count - 1),
                    checked((int)reader.ReadSigned()));
                if (key.Bucket >= PositionBuckets.All.Count || (surface != UnattributedSurface && surface >= OnlineSurfaces.All.Count))
                    throw new InvalidDataException("A counter names an unknown surface or position bucket.");
                _counts[key] = new OnlineCounts
                {
                    Served = reader.ReadLongCount(),
                    Impressions = reader.ReadLongCount(),
                    Clicks = reader.ReadLongCount(),
                    Carts = reader.ReadLongCount(),
                    Purchases = reader.ReadLongCount(),
                    Revenue = reader.ReadDouble(),
                    RevenueSquares = reader.ReadDouble(),
                };
            }
            var answers = reader.ReadCount(int.MaxValue);
            for (var a = 0; a < answers; a++)
            {
                var id = new RequestId(reader.ReadSigned(), (ulong)reader.ReadInt64());
                var surface = reader.ReadByte();
                if (surface >= OnlineSurfaces.All.Count) throw new InvalidDataException("An answer names an unknown surface.");
                var shopper = reader.ReadNullableString();
                var variant = (ushort)reader.ReadCount(_variants.Count - 1);
                var count = reader.ReadCount(10_000);
                var answer = new ServedAnswer
                {
                    Id = id,
                    Surface = (OnlineSurface)surface,
                    Shopper = shopper,
                    Variant = variant,
                    Items = new int[count],
                    Sources = new byte[count],
                    Marks = new byte[count],
                };
                for (var i = 0; i < count; i++)
                {
                    answer.Items[i] = ShopperSteps.Items.Intern(reader.ReadString());
                    answer.Sources[i] = (byte)reader.ReadCount(_sources.Count - 1);
                    answer.Marks[i] = reader.ReadByte();
                }
                Hold(answer);
            }
        }
    }

    private void Hold(ServedAnswer answer)
    {
        _answers[answer.Id] = answer;
        _order.Enqueue(answer);
        if (answer.Shopper is null) return;
        ref var recent = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_byShopper, answer.Shopper, out var known);
        if (!known) recent = new RequestId[AnswersPerShopper];
        // Newest last: shift the ring's older ids down by one.
        Array.Copy(recent!, 1, recent!, 0, AnswersPerShopper - 1);
        recent![^1] = answer.Id;
    }

    private void Evict(DateTimeOffset now)
    {
        var oldest = (now - _window - TimeSpan.FromHours(1)).ToUnixTimeMilliseconds();
        while (_order.TryPeek(out var head) && (_order.Count > _maxAnswers || head.Id.Millis < oldest))
        {
            _order.Dequeue();
            _answers.Remove(head.Id);
            // The shopper's ring goes with their newest answer.
            if (head.Shopper is not null && _byShopper.TryGetValue(head.Shopper, out var recent) && recent[^1] == head.Id)
                _byShopper.Remove(head.Shopper);
        }
    }

    private (ServedAnswer Answer, int Index)? Find(StoredEvent e)
    {
        if (e.RequestId is not null)
        {
            if (!RequestId.TryParse(e.RequestId, out var id) || !_answers.TryGetValue(id, out var answer)) return null;
            // An answer served to one shopper is not attributed to another's events.
            if (answer.Shopper is not null && !string.Equals(answer.Shopper, e.UserId, StringComparison.Ordinal)) return null;
            var index = e.Position is { } position ? position - 1 : IndexOf(answer, e.ItemId);
            if (index < 0 || index >= answer.Items.Length) return null;
            if (e.ItemId is not null && ShopperSteps.Items.Find(e.ItemId) != answer.Items[index]) return null;
            return (answer, index);
        }
        // Last touch: only carts and purchases look back for the answer that showed the item.
        if (e.Type is not (EventType.AddToCart or EventType.Purchase) || e.ItemId is null) return null;
        if (!_byShopper.TryGetValue(e.UserId, out var recent)) return null;
        var earliest = (e.Timestamp - _window).ToUnixTimeMilliseconds();
        var latest = (e.Timestamp + ClockSkew).ToUnixTimeMilliseconds();
        for (var i = recent.Length - 1; i >= 0; i--)
        {
            if (recent[i] == default || recent[i].Millis > latest || recent[i].Millis < earliest) continue;
            if (!_answers.TryGetValue(recent[i], out var answer)) continue;
            var index = IndexOf(answer, e.ItemId);
            if (index >= 0) return (answer, index);
        }
        return null;
    }

    private static int IndexOf(ServedAnswer answer, string? itemId)
    {
        if (itemId is null) return -1;
        var item = ShopperSteps.Items.Find(itemId);
        return item < 0 ? -1 : Array.IndexOf(answer.Items, item);
    }

    private static bool Mark(ServedAnswer answer, int index, byte mark)
    {
        if ((answer.Marks[index] & mark) != 0) return false;
        answer.Marks[index] |= mark;
        return true;
    }

    private void CountUnattributed(StoredEvent e, Func<string, double?> priceOf)
    {
        Interlocked.Increment(ref _unattributedEvents);
        // An impression that names its surface in the channel still counts for that surface.
        var surface = e.Type == EventType.Impression && OnlineSurfaces.TryParse(e.Channel, out var named) ? (byte)named : UnattributedSurface;
        ref var counts = ref Counter(new CounterKey(surface, 0, PositionBuckets.Unknown, 0, HourOf(e.Timestamp)));
        switch (e.Type)
        {
            case EventType.Impression: counts.Impressions++; break;
            case EventType.Click: counts.Clicks++; break;
            case EventType.AddToCart: counts.Carts++; break;
            case EventType.Purchase:
                counts.Purchases++;
                var revenue = Revenue(e, priceOf);
                counts.Revenue += revenue;
                counts.RevenueSquares += revenue * revenue;
                break;
        }
    }

    private static double Revenue(StoredEvent e, Func<string, double?> priceOf)
    {
        var revenue = e.Value ?? (e.ItemId is null ? null : priceOf(e.ItemId)) ?? 0;
        return double.IsFinite(revenue) && revenue > 0 ? revenue : 0;
    }

    /// <summary>The counter of an answer's position; counted in the hour the answer was served, so its rates stay together.</summary>
    private ref OnlineCounts Count(ServedAnswer answer, int index) =>
        ref Counter(new CounterKey((byte)answer.Surface, answer.Sources[index], PositionBuckets.Of(index + 1), answer.Variant, HourOf(answer.Id.Time)));

    private ref OnlineCounts Counter(CounterKey key) =>
        ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, key, out _);

    private byte SourceIndex(string source)
    {
        var index = _sources.IndexOf(source);
        if (index >= 0) return (byte)index;
        // Sources are a short fixed list; a name beyond the table's room counts as unknown.
        if (_sources.Count > byte.MaxValue) return 0;
        _sources.Add(source);
        return (byte)(_sources.Count - 1);
    }

    private ushort VariantIndex(string? variant)
    {
        if (variant is null) return 0;
        var index = _variants.IndexOf(variant);
        if (index >= 0) return (ushort)index;
        if (_variants.Count > ushort.MaxValue) return 0;
        _variants.Add(variant);
        return (ushort)(_variants.Count - 1);
    }

    private static string SurfaceName(byte surface) => surface == UnattributedSurface ? Unattributed : ((OnlineSurface)surface).ToWire();

    private static int HourOf(DateTimeOffset time) => (int)Math.Floor(time.ToUnixTimeSeconds() / 3600.0);

    private readonly record struct CounterKey(byte Surface, byte Source, byte Bucket, ushort Variant, int Hour);

    private sealed class ServedAnswer
    {
        public required RequestId Id;
        public required OnlineSurface Surface;
        public string? Shopper;
        public required ushort Variant;
        /// <summary>Item ordinals (<see cref="ShopperSteps.Items"/>), in the order shown.</summary>
        public required int[] Items;
        /// <summary>Per position, the index of its strongest source.</summary>
        public required byte[] Sources;
        /// <summary>Per position, what was already counted (impression, click, cart, purchase), so repeats count once.</summary>
        public required byte[] Marks;
    }
}
