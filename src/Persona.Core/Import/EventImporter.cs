using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>
/// Streams events from CSV or JSON Lines. CSV needs a header row naming any of <see cref="CsvColumns"/> in any
/// order; only <c>user_id</c> and <c>type</c> are required, other cells may be empty. <c>timestamp</c> is ISO-8601
/// (no offset = UTC) or unix time: integers below 10^11 are seconds, larger ones milliseconds. <c>type</c> is a
/// wire name (<c>add_to_cart</c>). JSON Lines hold one <see cref="PersonaJson"/> event per line. Only syntax and
/// types are checked here; what an event means (a search needs a query) is the ingestion validators' job.
/// </summary>
public static class EventImporter
{
    public static IReadOnlyList<string> CsvColumns { get; } =
        ["id", "user_id", "type", "item_id", "query", "value", "timestamp", "session_id", "device", "channel", "request_id", "position"];

    private static readonly Importer<Event> Engine = new(
        new CsvSchema<Event>([.. CsvColumns], ["user_id", "type"], ParseRow),
        new JsonLinesSchema<Event>(["user_id", "type"], Check));

    /// <summary>Reads a .csv or .jsonl file, chosen by extension.</summary>
    public static IAsyncEnumerable<ImportResult<Event>> ReadAsync(string path, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(path, ImportFormats.FromPath(path), progress, cancellationToken);

    public static IAsyncEnumerable<ImportResult<Event>> ReadAsync(string path, ImportFormat format, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(path, format, progress, cancellationToken);

    /// <summary>Reads from a stream (an upload); <paramref name="fileName"/> names it in errors. The stream is left open.</summary>
    public static IAsyncEnumerable<ImportResult<Event>> ReadAsync(Stream stream, string fileName, ImportFormat format, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(stream, fileName, format, progress, cancellationToken);

    private static Event? ParseRow(CsvFields row)
    {
        var userId = row.Required("user_id");
        var type = row.EventType("type");
        var value = row.Number("value");
        var timestamp = row.Timestamp("timestamp");
        var position = row.Number("position");
        if (position is { } p && (p != Math.Floor(p) || p < 1 || p > Ingestion.EventValidator.MaxPosition))
        {
            row.Fail("position", $"must be a whole number from 1 to {Ingestion.EventValidator.MaxPosition}");
            return null;
        }
        if (userId is null || type is null) return null;
        return new Event
        {
            Id = row.Trimmed("id"),
            UserId = userId,
            Type = type.Value,
            ItemId = row.Trimmed("item_id"),
            Query = row.Text("query"),
            Value = value,
            Timestamp = timestamp,
            SessionId = row.Trimmed("session_id"),
            Device = row.Trimmed("device"),
            Channel = row.Trimmed("channel"),
            RequestId = row.Trimmed("request_id"),
            Position = position is { } whole ? (int)whole : null,
        };
    }

    private static Event Check(Event e, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(e.UserId)) fail("user_id", "a value is required");
        return e;
    }
}
