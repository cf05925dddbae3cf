using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>Parsers for the text forms that import files use.</summary>
public static class ImportValues
{
    /// <summary>Integers at or above this are unix milliseconds, below it unix seconds (1e11 s is in the year 5138).</summary>
    public const long MillisecondsThreshold = 100_000_000_000;

    /// <summary>
    /// Parses a timestamp: ISO-8601 (<c>2026-10-31T20:15:00Z</c>, <c>2026-10-31 20:15:00+08:00</c>, <c>2026-10-31</c>;
    /// no offset means UTC), or a unix time: an integer below <see cref="MillisecondsThreshold"/> is seconds, at or above
    /// it milliseconds; a decimal number is seconds with a fraction.
    /// </summary>
    public static bool TryParseTimestamp(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        if (IsUnixNumber(s))
        {
            if (s.Contains('.', StringComparison.Ordinal))
            {
                if (!double.TryParse(s, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)) return false;
                var ms = seconds * 1000;
                if (ms < DateTimeOffset.MinValue.ToUnixTimeMilliseconds() || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()) return false;
                value = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(ms));
                return true;
            }
            if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)) return false;
            try
            {
                value = Math.Abs(number) < MillisecondsThreshold
                    ? DateTimeOffset.FromUnixTimeSeconds(number)
                    : DateTimeOffset.FromUnixTimeMilliseconds(number);
                return true;
            }
            catch (ArgumentOutOfRangeException)
            {
                return false;
            }
        }
        // ISO-8601 only: a four-digit year and a dash first, so locale-dependent forms like 01/02/2024 are refused.
        if (s.Length < 10 || !char.IsAsciiDigit(s[0]) || !char.IsAsciiDigit(s[1]) || !char.IsAsciiDigit(s[2]) || !char.IsAsciiDigit(s[3]) || s[4] != '-')
            return false;
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    private static bool IsUnixNumber(string s)
    {
        var start = s[0] == '-' ? 1 : 0;
        if (start == s.Length) return false;
        var dots = 0;
        for (var i = start; i < s.Length; i++)
        {
            if (s[i] == '.') dots++;
            else if (!char.IsAsciiDigit(s[i])) return false;
        }
        return dots <= 1;
    }

    /// <summary>An invariant-culture number (<c>12.5</c>, <c>-3</c>, <c>1e3</c>); NaN and infinities are refused.</summary>
    public static bool TryParseNumber(string? text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary><c>true/false</c>, <c>1/0</c>, <c>yes/no</c>, <c>y/n</c>, case-insensitive.</summary>
    public static bool TryParseBool(string? text, out bool value)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "true" or "1" or "yes" or "y":
                value = true;
                return true;
            case "false" or "0" or "no" or "n":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>
    /// Splits a category path: on <c>&gt;</c> when the text holds one (<c>Beauty &gt; Makeup</c>), otherwise on
    /// <c>/</c> (<c>Beauty/Makeup</c>). Segments are trimmed; empty ones dropped.
    /// </summary>
    public static IReadOnlyList<string> ParseCategoryPath(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var separator = text.Contains('>', StringComparison.Ordinal) ? '>' : '/';
        return text.Split(separator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>
    /// Parses attributes given as a JSON object (<c>{"color":"red","size":3}</c>; numbers and booleans keep their
    /// JSON text, nulls are dropped) or as <c>k=v;k=v</c> pairs (split at the first <c>=</c>). Returns an error
    /// message, or null on success.
    /// </summary>
    public static string? TryParseAttributes(string? text, out IReadOnlyDictionary<string, string> attributes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        attributes = result;
        if (string.IsNullOrWhiteSpace(text)) return null;
        var s = text.Trim();
        if (s[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(s);
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    switch (property.Value.ValueKind)
                    {
                        case JsonValueKind.String:
                            result[property.Name] = property.Value.GetString()!;
                            break;
                        case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                            result[property.Name] = property.Value.GetRawText();
                            break;
                        case JsonValueKind.Null:
                            break;
                        default:
                            return $"attribute '{property.Name}' is {Article(property.Value.ValueKind)}, expected a string, number or boolean";
                    }
                }
                return null;
            }
            catch (JsonException ex)
            {
                return $"'{Shorten(s)}' is not a valid JSON object ({JsonMessage(ex)})";
            }
        }
        foreach (var part in s.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) return $"'{Shorten(part)}' is not a key=value pair (write k=v;k=v or a JSON object)";
            result[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }
        return null;
    }

    public static string EventTypeList => string.Join(", ", EventTypes.All);

    /// <summary>Long values are cut in messages, so a bad multi-kilobyte field does not flood the error list.</summary>
    internal static string Shorten(string value, int max = 60) =>
        value.Length <= max ? value : string.Concat(value.AsSpan(0, max), "…");

    internal static string Article(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    /// <summary>The reader's message without its "LineNumber: 0 | BytePositionInLine: n." tail, with the position in words.</summary>
    internal static string JsonMessage(JsonException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        message = message.TrimEnd().TrimEnd('.');
        return ex.BytePositionInLine is { } position ? $"{message} at byte {position + 1}" : message;
    }
}
