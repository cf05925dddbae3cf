using System.Runtime.CompilerServices;
using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>
/// Reads the Taobao (Tianchi) UserBehavior log: CSV without a header, <c>user_id,item_id,category_id,behavior,timestamp</c>,
/// behaviour <c>pv</c> → view, <c>cart</c> → add_to_cart, <c>fav</c> → favorite, <c>buy</c> → purchase, timestamps in
/// unix seconds. The path is one file or a directory whose <c>*.csv</c> files are read in name order.
/// <para>Event ids are content ids, <c>tb-&lt;user&gt;-&lt;item&gt;-&lt;behavior&gt;-&lt;timestamp&gt;</c>, so the same row in two
/// files (or twice in one) is stored once. The log has no catalog, so items are implied: id = item_id,
/// <c>CategoryPath</c> = [<c>cat-&lt;category_id&gt;</c>] (the first category an item is seen with), attribute
/// <c>category_id</c>, title <c>Taobao item &lt;id&gt;</c>; no price or brand.</para>
/// </summary>
public sealed class TaobaoUserBehaviorReader
{
    private readonly string _path;

    public TaobaoUserBehaviorReader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    /// <summary>The files that will be read.</summary>
    public IReadOnlyList<string> Files =>
        Directory.Exists(_path)
            ? [.. Directory.GetFiles(_path, "*.csv").Order(StringComparer.Ordinal)]
            : [_path];

    public static bool TryMapBehavior(string behavior, out EventType type)
    {
        switch (behavior)
        {
            case "pv": type = EventType.View; return true;
            case "cart": type = EventType.AddToCart; return true;
            case "fav": type = EventType.Favorite; return true;
            case "buy": type = EventType.Purchase; return true;
            default: type = default; return false;
        }
    }

    public async IAsyncEnumerable<ImportResult<Event>> ReadEventsAsync(
        IProgress<ImportProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var path in Files)
        {
            await foreach (var row in ReadRowsAsync(path, progress, cancellationToken).ConfigureAwait(false))
            {
                yield return row.Error is { } error
                    ? ImportResult<Event>.Failure(error)
                    : ImportResult<Event>.Success(new Event
                    {
                        Id = $"tb-{row.User}-{row.Item}-{row.Behavior}-{row.Seconds}",
                        UserId = row.User,
                        Type = row.Type,
                        ItemId = row.Item,
                        Timestamp = DateTimeOffset.FromUnixTimeSeconds(row.Seconds),
                    }, row.File, row.Line);
            }
        }
    }

    /// <summary>One item per distinct item id, in order of first appearance; rows with errors are reported.</summary>
    public async IAsyncEnumerable<ImportResult<Item>> ReadItemsAsync(
        IProgress<ImportProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in Files)
        {
            await foreach (var row in ReadRowsAsync(path, progress, cancellationToken).ConfigureAwait(false))
            {
                if (row.Error is { } error)
                {
                    yield return ImportResult<Item>.Failure(error);
                    continue;
                }
                if (!seen.Add(row.Item)) continue;
                yield return ImportResult<Item>.Success(new Item
                {
                    Id = row.Item,
                    Title = $"Taobao item {row.Item}",
                    CategoryPath = [$"cat-{row.Category}"],
                    Attributes = new Dictionary<string, string> { ["category_id"] = row.Category },
                }, row.File, row.Line);
            }
        }
    }

    private readonly record struct Row(string File, long Line, string User, string Item, string Category, string Behavior, EventType Type, long Seconds, ImportError? Error);

    private static async IAsyncEnumerable<Row> ReadRowsAsync(
        string path, IProgress<ImportProgress>? progress, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var source = ImportSource.Open(path);
        var file = source.FileName;
        long line = 0, records = 0, errors = 0;
        while (await source.Reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (text.Length == 0) continue;
            var row = Parse(text, file, line);
            if (row.Error is null) records++;
            else errors++;
            yield return row;
            if (line % CsvImport.ProgressEvery == 0) progress?.Report(source.Progress(records, errors));
        }
        progress?.Report(source.Progress(records, errors));
    }

    private static Row Parse(string text, string file, long line)
    {
        var fields = text.Split(',', StringSplitOptions.TrimEntries);
        Row Fail(string field, string message) => new(file, line, "", "", "", "", default, 0, new ImportError(file, line, field, message));

        if (fields.Length != 5) return Fail(ImportError.RowField, $"expected 5 fields (user_id,item_id,category_id,behavior,timestamp), found {fields.Length}");
        string[] names = ["user_id", "item_id", "category_id"];
        for (var i = 0; i < 3; i++)
            if (fields[i].Length == 0) return Fail(names[i], "a value is required");
        if (!TryMapBehavior(fields[3], out var type)) return Fail("behavior", $"'{ImportValues.Shorten(fields[3])}' is not a behavior (expected pv, cart, fav or buy)");
        if (!long.TryParse(fields[4], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            return Fail("timestamp", $"'{ImportValues.Shorten(fields[4])}' is not a unix time in seconds");
        return new Row(file, line, fields[0], fields[1], fields[2], fields[3], type, seconds, null);
    }
}
