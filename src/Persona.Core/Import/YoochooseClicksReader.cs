using System.Globalization;
using System.Runtime.CompilerServices;
using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>
/// Reads RecSys Challenge 2015 (YOOCHOOSE) clicks as session-rec prepares them (<c>rsc15</c>): tab-separated with a
/// header, <c>SessionId ItemId Time</c>, time in unix seconds with a fraction. Each row becomes a <c>click</c> whose user
/// is the session (the log has no users) with id <c>yc-&lt;session&gt;-&lt;item&gt;-&lt;time&gt;</c>, so a row repeated
/// across files is stored once. The prepared files carry no categories, so items are implied.
/// </summary>
public sealed class YoochooseClicksReader
{
    private readonly string _path;

    public YoochooseClicksReader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    public async IAsyncEnumerable<ImportResult<Event>> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var source = ImportSource.Open(_path);
        var file = source.FileName;
        long line = 0;
        int session = -1, item = -1, time = -1;
        while (await source.Reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (text.Length == 0) continue;
            var fields = text.Split('\t');
            if (session < 0)
            {
                session = Array.IndexOf(fields, "SessionId");
                item = Array.IndexOf(fields, "ItemId");
                time = Array.IndexOf(fields, "Time");
                if (session < 0 || item < 0 || time < 0)
                {
                    yield return ImportResult<Event>.Failure(new ImportError(file, line, ImportError.RowField, "expected a header with SessionId, ItemId and Time (tab-separated)"));
                    yield break;
                }
                continue;
            }
            if (fields.Length <= Math.Max(session, Math.Max(item, time)))
            {
                yield return ImportResult<Event>.Failure(new ImportError(file, line, ImportError.RowField, $"expected the header's fields, found {fields.Length}"));
                continue;
            }
            if (!double.TryParse(fields[time], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds)
                || seconds < 0 || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            {
                yield return ImportResult<Event>.Failure(new ImportError(file, line, "Time", $"'{ImportValues.Shorten(fields[time])}' is not a unix time in seconds"));
                continue;
            }
            var (sessionId, itemId) = (fields[session].Trim(), fields[item].Trim());
            if (sessionId.Length == 0 || itemId.Length == 0)
            {
                yield return ImportResult<Event>.Failure(new ImportError(file, line, sessionId.Length == 0 ? "SessionId" : "ItemId", "a value is required"));
                continue;
            }
            yield return ImportResult<Event>.Success(new Event
            {
                Id = $"yc-{sessionId}-{itemId}-{fields[time].Trim()}",
                UserId = sessionId,
                SessionId = sessionId,
                Type = EventType.Click,
                ItemId = itemId,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)),
            }, file, line);
        }
    }
}
