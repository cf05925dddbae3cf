using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// Checks a batch of events against <see cref="IngestionOptions"/> and reports every problem, each with the
/// event's index and the field's wire name. Stateless and thread-safe.
/// </summary>
/// <remarks>
/// Rules: the batch is non-empty and at most <see cref="IngestionOptions.MaxBatchSize"/>; <c>user_id</c> is
/// required; <c>id</c>, <c>session_id</c>, <c>device</c> and <c>channel</c> are optional but, when present,
/// non-blank, free of control characters and at most <see cref="IngestionOptions.MaxIdLength"/> UTF-8 bytes
/// (as is every id); <c>item_id</c> is required for every type but <c>search</c>; <c>query</c> is required for
/// <c>search</c> and at most <see cref="IngestionOptions.MaxQueryBytes"/> bytes; <c>value</c> is finite,
/// non-negative and at most <see cref="IngestionOptions.MaxValue"/>, and for <c>rate</c> required and within
/// <see cref="IngestionOptions.MinRating"/>..<see cref="IngestionOptions.MaxRating"/>; <c>timestamp</c> is
/// not before <see cref="IngestionOptions.MinTimestamp"/> nor after now + <see cref="IngestionOptions.MaxFutureSkew"/>;
/// <c>request_id</c> is an optional id, and <c>position</c> a whole number from 1 to <see cref="MaxPosition"/> that
/// needs a <c>request_id</c> (the place in that answer).
/// </remarks>
public sealed class EventValidator(IngestionOptions options)
{
    private readonly IngestionOptions _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>The deepest place an answer can show an item at (the API serves at most 1,000).</summary>
    public const int MaxPosition = 10_000;

    /// <summary>All problems of the batch; empty when every event is acceptable.</summary>
    public IReadOnlyList<FieldError> Validate(IReadOnlyList<Event> batch, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        FieldRules.Batch(errors, "events", batch, _options.MaxBatchSize);
        if (batch is null) return errors;
        for (var i = 0; i < batch.Count; i++)
        {
            var e = batch[i];
            if (e is null)
            {
                errors.Add(new FieldError(i, "event", "must not be null."));
                continue;
            }
            if (!Enum.IsDefined(e.Type))
            {
                errors.Add(new FieldError(i, "type", $"must be one of {string.Join(", ", EventTypes.All)}."));
                CheckCommon(errors, i, e.Id, e.UserId, e.Query, e.Value, e.Timestamp, e.SessionId, e.Device, e.Channel, now);
                FieldRules.OptionalId(errors, i, "item_id", e.ItemId, _options.MaxIdLength);
                CheckAttribution(errors, i, e.RequestId, e.Position);
                continue;
            }
            CheckEvent(errors, i, e.Type, e.Id, e.UserId, e.ItemId, e.Query, e.Value, e.Timestamp, e.SessionId, e.Device, e.Channel, now);
            CheckAttribution(errors, i, e.RequestId, e.Position);
        }
        return errors;
    }

    /// <summary>
    /// Parses and validates events whose type is still a string. An unknown or missing type is reported as a
    /// <c>type</c> error with the event's index; the other fields are still checked, so the client sees every
    /// problem at once. <see cref="RawEventValidation.Events"/> is filled only when there are no errors.
    /// </summary>
    public RawEventValidation ValidateRaw(IReadOnlyList<RawEvent> batch, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        FieldRules.Batch(errors, "events", batch, _options.MaxBatchSize);
        if (batch is null) return new RawEventValidation([], errors);
        var events = new List<Event>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var raw = batch[i];
            if (raw is null)
            {
                errors.Add(new FieldError(i, "event", "must not be null."));
                continue;
            }
            if (!EventTypes.TryParse(raw.Type, out var type))
            {
                errors.Add(UnknownType(i, raw.Type));
                CheckCommon(errors, i, raw.Id, raw.UserId, raw.Query, raw.Value, raw.Timestamp, raw.SessionId, raw.Device, raw.Channel, now);
                FieldRules.OptionalId(errors, i, "item_id", raw.ItemId, _options.MaxIdLength);
                CheckAttribution(errors, i, raw.RequestId, raw.Position);
                continue;
            }
            CheckEvent(errors, i, type.Value, raw.Id, raw.UserId, raw.ItemId, raw.Query, raw.Value, raw.Timestamp, raw.SessionId, raw.Device, raw.Channel, now);
            CheckAttribution(errors, i, raw.RequestId, raw.Position);
            if (errors.Count == 0)
            {
                events.Add(new Event
                {
                    Id = raw.Id,
                    UserId = raw.UserId!,
                    Type = type.Value,
                    ItemId = raw.ItemId,
                    Query = raw.Query,
                    Value = raw.Value,
                    Timestamp = raw.Timestamp,
                    SessionId = raw.SessionId,
                    Device = raw.Device,
                    Channel = raw.Channel,
                    RequestId = raw.RequestId,
                    Position = raw.Position is { } p ? (int)p : null,
                });
            }
        }
        return new RawEventValidation(errors.Count == 0 ? events : [], errors);
    }

    /// <summary>The error the API reports for a type string that is not a known wire name.</summary>
    public static FieldError UnknownType(int? index, string? wire) =>
        string.IsNullOrWhiteSpace(wire)
            ? new FieldError(index, "type", $"is required; one of {string.Join(", ", EventTypes.All)}.")
            : new FieldError(index, "type", $"'{Truncate(wire)}' is not a known event type; use one of {string.Join(", ", EventTypes.All)}.");

    private void CheckEvent(
        List<FieldError> errors, int i, EventType type, string? id, string? userId, string? itemId, string? query,
        double? value, DateTimeOffset? timestamp, string? sessionId, string? device, string? channel, DateTimeOffset now)
    {
        CheckCommon(errors, i, id, userId, query, value, timestamp, sessionId, device, channel, now);
        if (type == EventType.Search)
        {
            FieldRules.OptionalId(errors, i, "item_id", itemId, _options.MaxIdLength);
            if (string.IsNullOrWhiteSpace(query))
                errors.Add(new FieldError(i, "query", "is required for search events."));
        }
        else
        {
            FieldRules.RequiredId(errors, i, "item_id", itemId, _options.MaxIdLength);
        }
        if (type == EventType.Rate)
        {
            if (value is null)
                errors.Add(new FieldError(i, "value", $"is required for rate events (a rating from {_options.MinRating} to {_options.MaxRating})."));
            else if (double.IsFinite(value.Value) && (value.Value < _options.MinRating || value.Value > _options.MaxRating))
                errors.Add(new FieldError(i, "value", $"must be a rating from {_options.MinRating} to {_options.MaxRating}."));
        }
    }

    private void CheckCommon(
        List<FieldError> errors, int i, string? id, string? userId, string? query, double? value,
        DateTimeOffset? timestamp, string? sessionId, string? device, string? channel, DateTimeOffset now)
    {
        FieldRules.OptionalId(errors, i, "id", id, _options.MaxIdLength);
        FieldRules.RequiredId(errors, i, "user_id", userId, _options.MaxIdLength);
        FieldRules.Text(errors, i, "query", query, _options.MaxQueryBytes);
        if (value is { } v)
        {
            if (!double.IsFinite(v))
                errors.Add(new FieldError(i, "value", "must be a finite number."));
            else if (v < 0)
                errors.Add(new FieldError(i, "value", "must not be negative."));
            else if (v > _options.MaxValue)
                errors.Add(new FieldError(i, "value", $"must be at most {_options.MaxValue}."));
        }
        if (timestamp is { } t)
        {
            if (t < _options.MinTimestamp)
                errors.Add(new FieldError(i, "timestamp", $"must not be before {_options.MinTimestamp:O}."));
            else if (t > now + _options.MaxFutureSkew)
                errors.Add(new FieldError(i, "timestamp", $"lies in the future (more than {_options.MaxFutureSkew} after the server clock {now:O})."));
        }
        FieldRules.OptionalId(errors, i, "session_id", sessionId, _options.MaxIdLength);
        FieldRules.OptionalId(errors, i, "device", device, _options.MaxIdLength);
        FieldRules.OptionalId(errors, i, "channel", channel, _options.MaxIdLength);
    }

    /// <summary><c>request_id</c> is an optional id; <c>position</c> a whole number in 1..<see cref="MaxPosition"/>, only with a request id.</summary>
    private void CheckAttribution(List<FieldError> errors, int i, string? requestId, double? position)
    {
        FieldRules.OptionalId(errors, i, "request_id", requestId, _options.MaxIdLength);
        if (position is not { } p) return;
        if (!double.IsFinite(p) || p != Math.Floor(p) || p < 1 || p > MaxPosition)
            errors.Add(new FieldError(i, "position", $"must be a whole number from 1 to {MaxPosition} (the item's place in the answer, first = 1)."));
        else if (string.IsNullOrWhiteSpace(requestId))
            errors.Add(new FieldError(i, "position", "needs a request_id: it is the item's place in that answer."));
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
