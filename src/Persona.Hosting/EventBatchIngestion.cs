using System.Text.Json;
using Persona.Core.Ingestion;

namespace Persona.Hosting;

/// <summary>
/// An event batch as JSON (a bare array or <c>{"events": [...]}</c>), read and ingested the one way every way in does:
/// the HTTP API and the message queue consumers. All or nothing; errors name the event's index and field.
/// </summary>
public static class EventBatchIngestion
{
    /// <summary>Reads and ingests <paramref name="root"/>; returns the number of events it held and what was stored, or every error.</summary>
    public static async Task<(int Received, IngestOutcome Outcome)> IngestAsync(PersonaEngine engine, JsonElement root, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var (raw, readErrors) = EventBatchReader.Read(root);
        if (readErrors.Count == 0) return (raw.Count, await engine.IngestRawEventsAsync(raw!, cancellationToken));
        // A field with a JSON type error is reported once, with that error, not again as missing; an element that was not
        // an object has its one error already.
        var seen = readErrors.Select(e => (e.Index, e.Field)).ToHashSet();
        var ruleErrors = engine.ValidateRawEvents(raw!).Errors
            .Where(e => !seen.Contains((e.Index, e.Field)) && !(e.Index is { } i && i < raw.Count && raw[i] is null));
        return (raw.Count, IngestOutcome.Invalid([.. readErrors, .. ruleErrors]));
    }
}
