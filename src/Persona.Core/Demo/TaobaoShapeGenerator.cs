using System.Globalization;
using System.Text;

namespace Persona.Core.Demo;

/// <summary>Taobao UserBehavior's four behaviours, in the log's spelling.</summary>
public enum TaobaoBehavior : byte
{
    Pv,
    Cart,
    Fav,
    Buy,
}

/// <summary>One line of a Taobao UserBehavior log: <c>user,item,category,behavior,timestamp</c> (unix seconds).</summary>
public readonly record struct TaobaoRow(int User, int Item, int Category, TaobaoBehavior Behavior, long Timestamp)
{
    public static string Name(TaobaoBehavior behavior) => behavior switch
    {
        TaobaoBehavior.Pv => "pv",
        TaobaoBehavior.Cart => "cart",
        TaobaoBehavior.Fav => "fav",
        _ => "buy",
    };

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{User},{Item},{Category},{Name(Behavior)},{Timestamp}");
}

/// <summary>The size of a synthetic shop in Taobao UserBehavior's shape.</summary>
public sealed record TaobaoShapeOptions
{
    /// <summary>2017-11-25 00:00 China time, where the public log starts.</summary>
    public const long DefaultStart = 1_511_539_200;

    /// <summary>The public log covers nine days.</summary>
    public const int DefaultDays = 9;

    /// <summary>Most events one shopper may have on average: Taobao's log averages about 100.</summary>
    public const int MaxEventsPerUser = 1000;

    /// <summary>Items per category in the public log: 4.16M items in 9,439 categories.</summary>
    public const int ItemsPerCategory = 440;

    /// <summary>Shoppers, with ids 1..Users; each has at least one event.</summary>
    public int Users { get; init; } = 10_000;

    /// <summary>Catalog size, item ids 1..Items (only items someone touched appear in the log).</summary>
    public int Items { get; init; } = 50_000;

    /// <summary>Lines in the log; at least <see cref="Users"/>, at most <see cref="MaxEventsPerUser"/> times it.</summary>
    public long Events { get; init; } = 1_000_000;

    public int Seed { get; init; } = 1;

    /// <summary>Categories, ids 1..Categories: by default one per <see cref="ItemsPerCategory"/> items.</summary>
    public int Categories => Math.Max(1, (int)Math.Ceiling(Items / (double)ItemsPerCategory));

    public long Start { get; init; } = DefaultStart;

    /// <summary>Last second of the window (inclusive).</summary>
    public long End => Start + DefaultDays * 86_400L - 1;

    /// <summary>What is wrong with the sizes, naming the property; null when they are usable.</summary>
    public string? Problem() =>
        Users < 1 ? "Users must be at least 1."
        : Items < 1 ? "Items must be at least 1."
        : Events < Users ? "Events must be at least Users: every shopper has at least one event."
        : Events > (long)Users * MaxEventsPerUser ? $"Events must be at most {MaxEventsPerUser} times Users."
        : null;
}

/// <summary>
/// A synthetic shop in the shape of Taobao's public UserBehavior log, generated as a stream so that tens of millions
/// of lines never sit in memory (only the catalog's rank tables, O(items), and one shopper's events at a time):
/// <list type="bullet">
/// <item>item popularity Zipf–Mandelbrot (exponent 1, offset 10): the top 1 % of items take 40–60 % of the events
/// (more the larger the catalog); popularity ranks are shuffled over item ids;</item>
/// <item>items grouped into categories of skewed sizes; a session stays mostly in the category it started in, drawing
/// there by the same popularity;</item>
/// <item>shopper activity log-normal (σ = 1), at least one event each, totals exact;</item>
/// <item>sessions of about 8 events a few seconds to minutes apart, at random moments of the nine days; each
/// shopper's timestamps strictly increase, so no two lines are the same event;</item>
/// <item>behaviour mix as in the public log: pv 89.6 %, cart 5.5 %, fav 2.9 %, buy 2.0 %; carts, favourites and
/// purchases mostly of an item viewed earlier in the session.</item>
/// </list>
/// Lines come grouped by shopper (ids ascending), like the public file. The same options give the same lines.
/// </summary>
public sealed class TaobaoShapeGenerator
{
    private const double ZipfOffset = 10;
    private const double MeanSessionLength = 8;
    private const double MeanStepSeconds = 40;
    private const double SameCategoryShare = 0.75;
    private const double RevisitShare = 0.85;

    private readonly TaobaoShapeOptions _options;
    private readonly int[] _itemByRank;      // popularity rank → item id
    private readonly int[] _categoryByRank;  // popularity rank → category id
    private readonly int[] _categoryStart;   // category id → offset into _ranksByCategory (Categories + 2 entries)
    private readonly int[] _ranksByCategory; // ranks grouped by category, most popular first within each
    private readonly double[] _weightSums;   // running sum of the global Zipf weights along _ranksByCategory
    private readonly int[] _eventsByUser;    // user id - 1 → its number of events

    public TaobaoShapeGenerator(TaobaoShapeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        _options = options;
        var random = new Random(DemoRandom.DeriveSeed(options.Seed, stream: 1, index: 0));
        var items = options.Items;
        var categories = options.Categories;

        _itemByRank = new int[items];
        for (var i = 0; i < items; i++) _itemByRank[i] = i + 1;
        random.Shuffle(_itemByRank);

        // Category sizes are skewed too: each item joins a category drawn Zipf-like over the category ids.
        _categoryByRank = new int[items];
        _categoryStart = new int[categories + 2];
        for (var r = 0; r < items; r++)
        {
            var c = ZipfRank(categories, random.NextDouble()) + 1;
            _categoryByRank[r] = c;
            _categoryStart[c + 1]++;
        }
        for (var c = 1; c <= categories + 1; c++) _categoryStart[c] += _categoryStart[c - 1];
        _ranksByCategory = new int[items];
        var fill = (int[])_categoryStart.Clone();
        for (var r = 0; r < items; r++) _ranksByCategory[fill[_categoryByRank[r]]++] = r;
        _weightSums = new double[items];
        var sum = 0.0;
        for (var i = 0; i < items; i++) _weightSums[i] = sum += 1 / (_ranksByCategory[i] + ZipfOffset);

        _eventsByUser = SplitEvents(options, new Random(DemoRandom.DeriveSeed(options.Seed, stream: 2, index: 0)));
    }

    public TaobaoShapeOptions Options => _options;

    /// <summary>The number of events of shopper <paramref name="user"/> (1-based).</summary>
    public int EventsOf(int user) => _eventsByUser[user - 1];

    /// <summary>A category drawn as shoppers browse: that of an item drawn by popularity.</summary>
    public int PopularCategory(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return _categoryByRank[ZipfRank(_itemByRank.Length, random.NextDouble())];
    }

    /// <summary>Every line, shopper by shopper; lazily generated.</summary>
    public IEnumerable<TaobaoRow> Rows()
    {
        var session = new List<TaobaoRow>();
        for (var user = 1; user <= _options.Users; user++)
        {
            UserRows(user, session);
            foreach (var row in session) yield return row;
        }
    }

    /// <summary>
    /// Writes every line (no header, <c>\n</c> endings) to <paramref name="writer"/>; returns the line count.
    /// <paramref name="progress"/> receives the lines written so far, every 100,000 lines and at the end.
    /// </summary>
    public long Write(TextWriter writer, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> line = stackalloc char[96];
        var rows = new List<TaobaoRow>();
        long written = 0;
        for (var user = 1; user <= _options.Users; user++)
        {
            UserRows(user, rows);
            foreach (var row in rows)
            {
                writer.Write(line[..Format(row, line)]);
                if (++written % 100_000 == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Report(written);
                }
            }
        }
        progress?.Report(written);
        return written;
    }

    /// <summary>Writes the log to <paramref name="path"/> (UTF-8, no BOM); returns the line count.</summary>
    public long WriteFile(string path, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 20);
        return Write(writer, progress, cancellationToken);
    }

    private static int Format(TaobaoRow row, Span<char> line)
    {
        var c = CultureInfo.InvariantCulture;
        row.User.TryFormat(line, out var n, default, c);
        line[n++] = ',';
        row.Item.TryFormat(line[n..], out var k, default, c);
        n += k;
        line[n++] = ',';
        row.Category.TryFormat(line[n..], out k, default, c);
        n += k;
        line[n++] = ',';
        TaobaoRow.Name(row.Behavior).AsSpan().CopyTo(line[n..]);
        n += TaobaoRow.Name(row.Behavior).Length;
        line[n++] = ',';
        row.Timestamp.TryFormat(line[n..], out k, default, c);
        n += k;
        line[n++] = '\n';
        return n;
    }

    /// <summary>One shopper's events in time order, drawn from the shopper's own random stream.</summary>
    private void UserRows(int user, List<TaobaoRow> rows)
    {
        rows.Clear();
        var random = new Random(DemoRandom.DeriveSeed(_options.Seed, stream: 3, index: user));
        var remaining = _eventsByUser[user - 1];
        var window = _options.End - _options.Start + 1;

        // Session lengths first (about MeanSessionLength, geometric), then their start moments, sorted.
        var lengths = new List<int>();
        while (remaining > 0)
        {
            var length = 1;
            while (length < remaining && random.NextDouble() > 1 / MeanSessionLength) length++;
            lengths.Add(length);
            remaining -= length;
        }
        var starts = new long[lengths.Count];
        for (var s = 0; s < starts.Length; s++) starts[s] = _options.Start + (long)(random.NextDouble() * window);
        Array.Sort(starts);

        var viewed = new List<int>();
        var time = _options.Start - 1;
        for (var s = 0; s < lengths.Count; s++)
        {
            viewed.Clear();
            time = Math.Max(starts[s], time + 1);
            var focus = -1;
            for (var e = 0; e < lengths[s]; e++)
            {
                if (e > 0) time += 1 + (long)(-MeanStepSeconds * Math.Log(1 - random.NextDouble()));
                var behavior = Behavior(random.NextDouble());
                int rank;
                if (behavior != TaobaoBehavior.Pv && viewed.Count > 0 && random.NextDouble() < RevisitShare)
                    rank = viewed[random.Next(viewed.Count)];
                else
                {
                    rank = focus >= 0 && random.NextDouble() < SameCategoryShare ? InCategory(focus, random) : ZipfRank(_itemByRank.Length, random.NextDouble());
                    focus = _categoryByRank[rank];
                }
                if (behavior == TaobaoBehavior.Pv) viewed.Add(rank);
                rows.Add(new TaobaoRow(user, _itemByRank[rank], _categoryByRank[rank], behavior, time));
            }
        }

        // A very active shopper may run past the window's end: pull the tail back, one second apart, keeping the order.
        if (rows.Count > 0 && rows[^1].Timestamp > _options.End)
            for (var i = rows.Count - 1; i >= 0; i--)
            {
                var latest = _options.End - (rows.Count - 1 - i);
                if (rows[i].Timestamp <= latest) break;
                rows[i] = rows[i] with { Timestamp = latest };
            }
    }

    /// <summary>
    /// An item of <paramref name="category"/> drawn by its global popularity weight, so that staying in a category does
    /// not change how popular an item is overall.
    /// </summary>
    private int InCategory(int category, Random random)
    {
        var from = _categoryStart[category];
        var to = _categoryStart[category + 1];
        var before = from == 0 ? 0 : _weightSums[from - 1];
        var target = before + random.NextDouble() * (_weightSums[to - 1] - before);
        var index = Array.BinarySearch(_weightSums, from, to - from, target);
        if (index < 0) index = ~index;
        return _ranksByCategory[Math.Min(index, to - 1)];
    }

    /// <summary>Taobao's mix: pv 89.6 %, cart 5.5 %, fav 2.9 %, buy 2.0 %.</summary>
    private static TaobaoBehavior Behavior(double u) =>
        u < 0.896 ? TaobaoBehavior.Pv : u < 0.951 ? TaobaoBehavior.Cart : u < 0.980 ? TaobaoBehavior.Fav : TaobaoBehavior.Buy;

    /// <summary>
    /// A rank in [0, n) drawn from a continuous Zipf–Mandelbrot law, density ∝ 1/(x + q) with q = 10, by inverting its
    /// CDF: O(1) and no table, so the catalog's size costs nothing here.
    /// </summary>
    internal static int ZipfRank(int n, double u)
    {
        var x = ZipfOffset * Math.Exp(u * Math.Log((n + ZipfOffset) / ZipfOffset)) - ZipfOffset;
        return Math.Clamp((int)x, 0, n - 1);
    }

    /// <summary>Events per shopper: one each, the rest shared in proportion to log-normal activity; sums to Events exactly.</summary>
    private static int[] SplitEvents(TaobaoShapeOptions options, Random random)
    {
        var users = options.Users;
        var weights = new double[users];
        var total = 0.0;
        for (var u = 0; u < users; u++) total += weights[u] = random.LogNormal(1, 1);
        var counts = new int[users];
        var extra = options.Events - users;
        long assigned = 0;
        for (var u = 0; u < users; u++)
        {
            counts[u] = 1 + (int)(extra * weights[u] / total);
            assigned += counts[u];
        }
        // What rounding down left over: one more each for shoppers from a random one on.
        var next = random.Next(users);
        for (; assigned < options.Events; assigned++, next = (next + 1) % users) counts[next]++;
        return counts;
    }
}
