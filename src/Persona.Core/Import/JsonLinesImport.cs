using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Core.Import;

/// <param name="Required">Top-level properties that must be present and non-null.</param>
/// <param name="Check">Returns the record, with nulls replaced by defaults, or adds errors for empty required values.</param>
internal sealed record JsonLinesSchema<T>(string[] Required, Func<T, Action<string, string>, T> Check) where T : class;

/// <summary>
/// Reads JSON Lines: one <see cref="PersonaJson"/> object per line, blank lines skipped. When a line does not
/// deserialise, it is parsed again to say which property was wrong and why.
/// </summary>
internal static class JsonLinesImport
{
    public static async IAsyncEnumerable<ImportResult<T>> ReadAsync<T>(
        Func<ImportSource> open, JsonLinesSchema<T> schema, IProgress<ImportProgress>? progress,
        [EnumeratorCancellation] CancellationToken cancellationToken) where T : class
    {
        using var source = open();
        var file = source.FileName;
        long line = 0, records = 0, errors = 0;
        var lineErrors = new List<ImportError>();
        while (await source.Reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            lineErrors.Clear();
            var value = Parse(text, schema, file, line, lineErrors);
            if (value is not null && lineErrors.Count == 0)
            {
                records++;
                yield return ImportResult<T>.Success(value, file, line);
            }
            else
            {
                foreach (var error in lineErrors.ToArray())
                {
                    errors++;
                    yield return ImportResult<T>.Failure(error);
                }
            }
            if ((records + errors) % CsvImport.ProgressEvery == 0) progress?.Report(source.Progress(records, errors));
        }
        progress?.Report(source.Progress(records, errors));
    }

    private static T? Parse<T>(string text, JsonLinesSchema<T> schema, string file, long line, List<ImportError> errors) where T : class
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(text, PersonaJson.Options);
        }
        catch (JsonException ex)
        {
            errors.Add(Explain<T>(ex, text, schema, file, line));
            return null;
        }
        if (value is null)
        {
            errors.Add(new ImportError(file, line, ImportError.RowField, "expected a JSON object, found null"));
            return null;
        }
        return schema.Check(value, (field, message) => errors.Add(new ImportError(file, line, field, message)));
    }

    private static ImportError Explain<T>(JsonException ex, string text, JsonLinesSchema<T> schema, string file, long line) where T : class
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException syntax)
        {
            return new ImportError(file, line, ImportError.RowField, $"invalid JSON: {ImportValues.JsonMessage(syntax)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new ImportError(file, line, ImportError.RowField, $"expected a JSON object, found {ImportValues.Article(root.ValueKind)}");
            foreach (var name in schema.Required)
            {
                if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
                    return new ImportError(file, line, name, "a value is required");
            }

            var segments = ParsePath(ex.Path);
            if (segments.Count == 0)
                return new ImportError(file, line, ImportError.RowField, ImportValues.JsonMessage(ex));
            var field = string.Join(".", segments);
            var expected = Describe(typeof(T), segments);
            var found = Navigate(root, segments);
            var shown = found switch
            {
                null => "the value",
                { ValueKind: JsonValueKind.String } s => $"'{ImportValues.Shorten(s.GetString()!)}'",
                { } other => ImportValues.Shorten(other.GetRawText()),
            };
            return new ImportError(file, line, field, expected is null ? ImportValues.JsonMessage(ex) : $"{shown} is not {expected}");
        }
    }

    /// <summary>Splits <c>$.a.b[2]['c d']</c> into <c>a</c>, <c>b</c>, <c>2</c>, <c>c d</c>.</summary>
    private static List<string> ParsePath(string? path)
    {
        var segments = new List<string>();
        if (string.IsNullOrEmpty(path)) return segments;
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                if (end < 0) end = path.Length;
                segments.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path[i] == '[')
            {
                if (i + 1 < path.Length && path[i + 1] == '\'')
                {
                    var close = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                    if (close < 0) break;
                    segments.Add(path[(i + 2)..close]);
                    i = close + 2;
                }
                else
                {
                    var close = path.IndexOf(']', i + 1);
                    if (close < 0) break;
                    segments.Add(path[(i + 1)..close]);
                    i = close + 1;
                }
            }
            else
            {
                break;
            }
        }
        return segments;
    }

    private static JsonElement? Navigate(JsonElement element, List<string> segments)
    {
        foreach (var segment in segments)
        {
            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(segment, out var child))
                element = child;
            else if (element.ValueKind == JsonValueKind.Array && int.TryParse(segment, out var index) && index >= 0 && index < element.GetArrayLength())
                element = element[index];
            else
                return null;
        }
        return element;
    }

    private static readonly ConcurrentDictionary<Type, Dictionary<string, Type>> PropertyTypes = new();

    /// <summary>What the property at the path should hold, in words, from the record type's properties.</summary>
    private static string? Describe(Type type, List<string> segments)
    {
        foreach (var segment in segments)
        {
            var elementType = ElementType(type);
            if (elementType is not null)
            {
                type = elementType;
                continue;
            }
            var properties = PropertyTypes.GetOrAdd(type, t => t
                .GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), p => p.PropertyType, StringComparer.Ordinal));
            if (!properties.TryGetValue(segment, out var next)) return null;
            type = next;
        }
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "a string";
        if (type == typeof(double) || type == typeof(float) || type == typeof(int) || type == typeof(long)) return "a number";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime)) return "an ISO-8601 date";
        if (type == typeof(EventType)) return $"an event type (expected one of {ImportValues.EventTypeList})";
        if (IsDictionary(type)) return "an object of string values";
        if (ElementType(type) is { } element) return element == typeof(string) ? "an array of strings" : "an array";
        return type.IsClass ? "an object" : null;
    }

    private static bool IsDictionary(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(IReadOnlyDictionary<,>) || d == typeof(Dictionary<,>) || d == typeof(IDictionary<,>));

    /// <summary>The value type of a dictionary or the element type of a list; null for other types.</summary>
    private static Type? ElementType(Type type)
    {
        if (type == typeof(string)) return null;
        if (type.IsArray) return type.GetElementType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        if (IsDictionary(type)) return arguments[1];
        return definition == typeof(IReadOnlyList<>) || definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(IEnumerable<>)
            ? arguments[0]
            : null;
    }
}
