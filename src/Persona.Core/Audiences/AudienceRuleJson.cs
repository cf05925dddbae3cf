using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Audiences;

/// <summary>Reads an <see cref="AudienceRule"/> from JSON (snake_case); unknown fields are errors, so a typo cannot silently widen an audience.</summary>
public static class AudienceRuleJson
{
    private static readonly JsonSerializerOptions Strict = new(PersonaJson.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>The rule, or the errors naming each bad field (parse errors first, then <see cref="AudienceRule.Validate"/>).</summary>
    public static (AudienceRule? Rule, IReadOnlyList<FieldError> Errors) Parse(string json)
    {
        AudienceRule? rule;
        try
        {
            rule = JsonSerializer.Deserialize<AudienceRule>(json, Strict);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "rule" : ex.Path.TrimStart('$', '.');
            var message = ex.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "Unknown field." + FirstSentence(ex.Message)
                : "Invalid value: " + FirstSentence(ex.Message);
            return (null, [new FieldError(null, field, message)]);
        }
        if (rule is null) return (null, [new FieldError(null, "rule", "Expected a JSON object.")]);
        var errors = rule.Validate();
        return errors.Count > 0 ? (null, errors) : (rule, []);
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return " " + (end < 0 ? message : message[..(end + 1)]);
    }
}
