using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Server.Json;

/// <summary>
/// Reads items and users from JSON by hand, reporting each wrong type as an error on its field.
/// The id comes from the route; an <c>id</c> in the body must match it.
/// </summary>
public static class CatalogJsonReader
{
    public static (Item? Item, List<FieldError> Errors) ReadItem(string id, JsonElement body)
    {
        var errors = new List<FieldError>();
        if (!RequireObject(body, errors)) return (null, errors);
        var fields = new EventBatchReader.FieldReader(body, null, errors);
        CheckId(id, fields.String("id"), errors);
        var item = new Item
        {
            Id = id,
            Title = fields.String("title") ?? "",
            Description = fields.String("description"),
            CategoryPath = ReadCategoryPath(fields.Property("category_path"), errors),
            Brand = fields.String("brand"),
            Price = fields.Number("price"),
            Currency = fields.String("currency") ?? "CNY",
            Attributes = ReadAttributes(fields.Property("attributes"), errors),
            Available = fields.Boolean("available") ?? true,
            CreatedAt = fields.Timestamp("created_at"),
            UpdatedAt = fields.Timestamp("updated_at"),
        };
        return (errors.Count == 0 ? item : null, errors);
    }

    public static (User? User, List<FieldError> Errors) ReadUser(string id, JsonElement body)
    {
        var errors = new List<FieldError>();
        if (!RequireObject(body, errors)) return (null, errors);
        var fields = new EventBatchReader.FieldReader(body, null, errors);
        CheckId(id, fields.String("id"), errors);
        var consent = new Consent();
        if (fields.Property("consent") is { } consentElement)
        {
            if (consentElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new FieldError(null, "consent", "Expected an object with personalization and marketing flags."));
            }
            else
            {
                var consentFields = new EventBatchReader.FieldReader(consentElement, null, errors, "consent.");
                consent = new Consent
                {
                    Personalization = consentFields.Boolean("personalization") ?? true,
                    Marketing = consentFields.Boolean("marketing") ?? true,
                };
            }
        }
        var user = new User
        {
            Id = id,
            AgeBand = fields.String("age_band"),
            Gender = fields.String("gender"),
            Region = fields.String("region"),
            SignupAt = fields.Timestamp("signup_at"),
            Attributes = ReadAttributes(fields.Property("attributes"), errors),
            Consent = consent,
        };
        return (errors.Count == 0 ? user : null, errors);
    }

    private static bool RequireObject(JsonElement body, List<FieldError> errors)
    {
        if (body.ValueKind == JsonValueKind.Object) return true;
        errors.Add(new FieldError(null, "body", "The body must be a JSON object."));
        return false;
    }

    private static void CheckId(string routeId, string? bodyId, List<FieldError> errors)
    {
        if (bodyId is not null && bodyId != routeId)
            errors.Add(new FieldError(null, "id", $"The body's id '{EventBatchReader.Truncate(bodyId)}' differs from the id in the URL."));
    }

    /// <summary>An array of names, or one string split on " > " or "/".</summary>
    private static IReadOnlyList<string> ReadCategoryPath(JsonElement? element, List<FieldError> errors)
    {
        if (element is not { } value) return [];
        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString() ?? "";
            var separator = text.Contains(CategoryPaths.Separator, StringComparison.Ordinal) ? CategoryPaths.Separator : "/";
            return text.Split(separator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }
        if (value.ValueKind == JsonValueKind.Array)
        {
            var path = new List<string>();
            var position = 0;
            foreach (var segment in value.EnumerateArray())
            {
                if (segment.ValueKind == JsonValueKind.String) path.Add(segment.GetString() ?? "");
                else errors.Add(new FieldError(null, $"category_path[{position}]", "Each category must be a string."));
                position++;
            }
            return path;
        }
        errors.Add(new FieldError(null, "category_path", "Expected an array of category names or a string like \"Beauty > Makeup\"."));
        return [];
    }

    /// <summary>An object whose values are strings; numbers and booleans are kept as their JSON text.</summary>
    private static IReadOnlyDictionary<string, string> ReadAttributes(JsonElement? element, List<FieldError> errors)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (element is not { } value) return attributes;
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(null, "attributes", "Expected an object of names to string values."));
            return attributes;
        }
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    attributes[property.Name] = property.Value.GetString() ?? "";
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    attributes[property.Name] = property.Value.GetRawText();
                    break;
                default:
                    errors.Add(new FieldError(null, $"attributes.{property.Name}", "Attribute values must be strings, numbers or booleans."));
                    break;
            }
        }
        return attributes;
    }
}
