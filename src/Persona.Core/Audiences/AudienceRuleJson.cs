using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Audiences;

/// <summary>Reads an <see cref="AudienceRule"/> from JSON (snake_case); unknown fields are errors, so a typo cannot silently widen an audience.</summary>
public static class AudienceRuleJson
{
    private static readonly JsonSerializerOptions Strict = CreateStrict();

    // Read-only with the reflection resolver filled in, so GetTypeInfo works before any other use of the options.
    private static JsonSerializerOptions CreateStrict()
    {
        var options = new JsonSerializerOptions(PersonaJson.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>What each field of a rule takes, in the words of the JSON a caller writes.</summary>
    private static readonly Dictionary<string, string> Expected = new(StringComparer.Ordinal)
    {
        ["name"] = "a string",
        ["segments"] = "an array of segment ids (strings)",
        ["tags_all"] = "an array of tag keys (strings)",
        ["tags_any"] = "an array of tag keys (strings)",
        ["lifecycle"] = "an array of lifecycle stages (strings)",
        ["affinities"] = "an object of category keys to minimum shares between 0 and 1",
        ["predictions"] = "an object of prediction names to {\"min\": number, \"max\": number}",
        ["min_count"] = "a whole number",
        ["epsilon"] = "a number",
    };

    /// <summary>The rule's JSON field names, in declaration order.</summary>
    public static IReadOnlyList<string> Fields { get; } = [.. Strict.GetTypeInfo(typeof(AudienceRule)).Properties.Select(p => p.Name)];

    private static IReadOnlyList<string> ThresholdFields { get; } = [.. Strict.GetTypeInfo(typeof(Threshold)).Properties.Select(p => p.Name)];

    /// <summary>The rule, or the errors naming each bad field (parse errors first, then <see cref="AudienceRule.Validate"/>).</summary>
    public static (AudienceRule? Rule, IReadOnlyList<FieldError> Errors) Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            return (null, [new FieldError(null, "rule", $"Not valid JSON{where}.")]);
        }
    }

    /// <inheritdoc cref="Parse(string)"/>
    public static (AudienceRule? Rule, IReadOnlyList<FieldError> Errors) Parse(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object) return (null, [new FieldError(null, "rule", "Expected a JSON object.")]);
        AudienceRule? rule;
        try
        {
            rule = json.Deserialize<AudienceRule>(Strict);
        }
        catch (JsonException ex)
        {
            return (null, [Explain(ex)]);
        }
        if (rule is null) return (null, [new FieldError(null, "rule", "Expected a JSON object.")]);
        var errors = rule.Validate();
        return errors.Count > 0 ? (null, errors) : (rule, []);
    }

    /// <summary>A serializer error in the caller's terms: the field's path and what it takes, never a .NET type name.</summary>
    private static FieldError Explain(JsonException ex)
    {
        var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : ex.Path.TrimStart('$', '.');
        var segments = path.Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal) && segments.Length > 0)
        {
            // An unknown property: at the top level a rule field, inside predictions.KEY a threshold bound.
            var inRange = segments is ["predictions", _, _];
            return new FieldError(null, path,
                $"Unknown field '{segments[^1]}'; {(inRange ? "a prediction range" : "a rule")} takes {string.Join(", ", inRange ? ThresholdFields : Fields)}.");
        }
        var top = segments.Length > 0 ? segments[0].Split('[')[0] : "";
        return Expected.TryGetValue(top, out var expected)
            ? new FieldError(null, path, $"Invalid value; {top} takes {expected}.")
            : new FieldError(null, path.Length > 0 ? path : "rule", $"Invalid value; a rule is an object with the fields {string.Join(", ", Fields)}.");
    }
}
