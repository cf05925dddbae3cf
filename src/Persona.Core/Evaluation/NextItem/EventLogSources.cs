using Persona.Abstractions;
using Persona.Core.Import;
using Persona.Core.Ingestion;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>
/// The Taobao (Tianchi) UserBehavior log as a next-item data set: one sequence per user in time order, read by
/// <see cref="TaobaoUserBehaviorReader"/> exactly as <c>persona import</c> reads it (pv → view, cart → add_to_cart,
/// fav → favorite, buy → purchase; the category id is the item's attribute). These are store events, so back-to-back
/// events on one item merge into one step with the latest type, as <c>persona train</c> builds them from a store.
/// </summary>
public sealed class TaobaoSequenceSource : INextItemSource
{
    public string Name => "taobao-userbehavior";

    public string PathHelp => "a UserBehavior CSV (user_id,item_id,category_id,behavior,timestamp) or a folder of them (the largest is read)";

    public async Task<NextItemData> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var (file, note) = LargestCsv(path);
        var reader = new TaobaoUserBehaviorReader(file);
        var items = new List<Item>();
        await foreach (var r in reader.ReadItemsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (r.Record is { } record) items.Add(record.Value);
        }
        var (events, errors) = await EventLog.ReadAsync(reader.ReadEventsAsync(cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        var source = $"{Path.GetFileName(file)}{note}: {events.Count:N0} events of {events.Select(e => e.UserId).Distinct(StringComparer.Ordinal).Count():N0} users" +
            $"{EventLog.Rejected(errors)}; pv/cart/fav/buy as view/add_to_cart/favorite/purchase, category as the item attribute ({items.Count:N0} items); back-to-back events on one item merged";
        return new NextItemData(events, items, new SequenceDataOptions(), source);
    }

    /// <summary>A file, or the largest <c>*.csv</c> of a folder (the folder may hold samples beside the log, and their users' days would not mix).</summary>
    private static (string File, string Note) LargestCsv(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path)) return (path, "");
        if (!Directory.Exists(path)) throw new FileNotFoundException($"No data set at '{path}' (neither a file nor a folder).");
        var files = Directory.GetFiles(path, "*.csv").Select(f => new FileInfo(f)).OrderByDescending(f => f.Length).ThenBy(f => f.Name, StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new FileNotFoundException($"'{path}' holds no *.csv file (user_id,item_id,category_id,behavior,timestamp).");
        return files.Length == 1 ? (files[0].FullName, "")
            : (files[0].FullName, $" (the largest of {files.Length} CSV files; left out: {string.Join(", ", files.Skip(1).Select(f => f.Name))})");
    }
}

/// <summary>
/// YOOCHOOSE clicks (session-rec's <c>rsc15</c> preparation, e.g. <c>yoochoose-100k</c>) as a next-item data set: one
/// sequence per session in time order. A folder's <c>*_train_full.txt</c> and <c>*_test.txt</c> are concatenated: the
/// preparation splits the sessions by time (the test file is the last day's sessions, none of them in train_full), so
/// together they are the whole sample, and leave-one-out then holds out the last click of every session, old or new;
/// train_full alone would drop the newest day. (<c>*_train_tr</c> and <c>*_train_valid</c>, when present, are a split
/// of train_full and are not read.) Back-to-back clicks on one item merge into one step, as store events do: they are
/// a reload or a return to the page just seen, not a new choice, and the ranking excludes seen items anyway.
/// The preparation already dropped items with fewer than 5 clicks and one-click sessions in the full log.
/// </summary>
public sealed class YoochooseSequenceSource : INextItemSource
{
    public const string TrainFullSuffix = "_train_full.txt";
    public const string TestSuffix = "_test.txt";

    public string Name => "yoochoose-100k";

    public string PathHelp => "the folder of session-rec's rsc15 files (*_train_full.txt and *_test.txt, concatenated) or one such TSV (SessionId, ItemId, Time)";

    public async Task<NextItemData> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        string[] files;
        if (File.Exists(path))
        {
            files = [path];
        }
        else
        {
            var trainFull = NextItemSources.SingleFile(path, "*" + TrainFullSuffix, "session-rec's rsc15 clicks: SessionId, ItemId, Time");
            var test = trainFull[..^TrainFullSuffix.Length] + TestSuffix;
            files = File.Exists(test) ? [trainFull, test] : [trainFull];
        }
        var events = new List<StoredEvent>();
        var errors = new List<ImportError>();
        var ids = new HashSet<string>(StringComparer.Ordinal); // one row in both files is one click
        foreach (var file in files)
        {
            var (read, failed) = await EventLog.ReadAsync(new YoochooseClicksReader(file).ReadEventsAsync(cancellationToken), cancellationToken, events.Count, ids).ConfigureAwait(false);
            events.AddRange(read);
            errors.AddRange(failed);
        }
        var source = $"{string.Join(" + ", files.Select(Path.GetFileName))}: {events.Count:N0} clicks of {events.Select(e => e.UserId).Distinct(StringComparer.Ordinal).Count():N0} sessions" +
            $"{EventLog.Rejected(errors)}; a session is a user; back-to-back clicks on one item merged; no item attributes";
        return new NextItemData(events, [], new SequenceDataOptions(), source);
    }
}

/// <summary>Reading an event log's import results into stored events, as an import would store them.</summary>
internal static class EventLog
{
    public static async Task<(List<StoredEvent> Events, List<ImportError> Errors)> ReadAsync(
        IAsyncEnumerable<ImportResult<Event>> results, CancellationToken cancellationToken, int firstSequence = 0, HashSet<string>? ids = null)
    {
        var events = new List<StoredEvent>();
        var errors = new List<ImportError>();
        ids ??= new HashSet<string>(StringComparer.Ordinal);
        var now = DateTimeOffset.UtcNow;
        await foreach (var r in results.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (r.Record is not { } record) errors.Add(r.Error!);
            else if (ids.Add(record.Value.Id!)) events.Add(EventNormalizer.Normalize(record.Value, now) with { Sequence = firstSequence + events.Count + 1 });
        }
        return (events, errors);
    }

    /// <summary>", 3 rows rejected (first: …)" or nothing.</summary>
    public static string Rejected(IReadOnlyList<ImportError> errors) =>
        errors.Count == 0 ? "" : $", {errors.Count:N0} rows rejected (first: {errors[0]})";
}
