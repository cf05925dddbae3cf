using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Core.Ingestion;

/// <summary>
/// Reads an event batch from JSON by hand, so that a wrong JSON type is reported as a field error of that
/// event (by index) instead of failing the whole body with one opaque message.
/// Accepts a bare array or <c>{"events": [...]}</c>; <c>device</c>/<c>channel</c> may also sit in a
/// <c>context</c> object. Timestamps are ISO-8601 strings or unix numbers (seconds, or milliseconds when
/// above 10^11). Text fields (ids included) must be JSON strings: a number is an error, not coerced. Unknown
/// properties are ignored.
/// </summary>
public static class EventBatchReader
{
    /// <summary>
    /// One <see cref="RawEvent"/> per array element, in order (null where the element is not an object), plus
    /// the JSON type errors found; <see cref="EventValidator.ValidateRaw"/> then checks the rules.
    /// </summary>
    public static (List<RawEvent?> Events, List<FieldError> Errors) Read(JsonElement root)
    {
        var events = new List<RawEvent?>();
        var errors = new List<FieldError>();
        JsonElement array;
        if (root.ValueKind == JsonValueKind.Array)
        {
            array = root;
        }
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("events", out var inner) && inner.ValueKind == JsonValueKind.Array)
        {
            array = inner;
        }
        else
        {
            errors.Add(new FieldError(null, "events", "The body must be a JSON array of events or an object with an \"events\" array."));
            return (events, errors);
        }

        var index = 0;
        foreach (var element in array.EnumerateArray())
            events.Add(ReadEvent(element, index++, errors));
        return (events, errors);
    }

    private static RawEvent? ReadEvent(JsonElement element, int index, List<FieldError> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(index, "event", "Each event must be a JSON object."));
            return null;
        }
        var fields = new FieldReader(element, index, errors);
        var device = fields.String("device");
        var channel = fields.String("channel");
        if (element.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object)
        {
            var contextFields = new FieldReader(context, index, errors, "context.");
            device ??= contextFields.String("device");
            channel ??= contextFields.String("channel");
        }
        return new RawEvent
        {
            Id = fields.String("id"),
            UserId = fields.String("user_id"),
            Type = fields.String("type"),
            ItemId = fields.String("item_id"),
            Query = fields.String("query"),
            Value = fields.Number("value"),
            Timestamp = fields.Timestamp("timestamp"),
            SessionId = fields.String("session_id"),
            Device = device,
            Channel = channel,
            RequestId = fields.String("request_id"),
            Position = fields.Number("position"),
        };
    }

    public static string Truncate(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");

    /// <summary>Typed access to an object's properties that records a field error on a wrong JSON type.</summary>
    public readonly struct FieldReader(JsonElement element, int? index, List<FieldError> errors, string prefix = "")
    {
        public string? String(string name)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind == JsonValueKind.String) return value.GetString();
            // Not coerced: 12345, 12345.0 and 1.2345e4 would name three different users. JSON Lines imports refuse numbers too.
            errors.Add(new FieldError(index, prefix + name, value.ValueKind == JsonValueKind.Number
                ? $"Expected a string, got the number {Truncate(value.GetRawText())}; send ids and text as JSON strings (\"{Truncate(value.GetRawText())}\")."
                : $"Expected a string, got {Describe(value)}."));
            return null;
        }

        public double? Number(string name)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number)) return number;
            errors.Add(new FieldError(index, prefix + name, $"Expected a number, got {Describe(value)}."));
            return null;
        }

        public bool? Boolean(string name)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
            errors.Add(new FieldError(index, prefix + name, $"Expected true or false, got {Describe(value)}."));
            return null;
        }

        public DateTimeOffset? Timestamp(string name)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind == JsonValueKind.String)
            {
                if (DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                    return parsed;
                errors.Add(new FieldError(index, prefix + name, $"'{Truncate(value.GetString() ?? "")}' is not an ISO-8601 date and time."));
                return null;
            }
            if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var unix) && double.IsFinite(unix))
            {
                var millis = Math.Abs(unix) > 1e11 ? unix : unix * 1000;
                if (millis is > -62_135_596_800_000d and < 253_402_300_799_000d)
                    return DateTimeOffset.FromUnixTimeMilliseconds((long)millis);
            }
            errors.Add(new FieldError(index, prefix + name, $"Expected an ISO-8601 string or unix time, got {Describe(value)}."));
            return null;
        }

        public JsonElement? Property(string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => value.ValueKind.ToString().ToLowerInvariant(),
        };
    }
}
