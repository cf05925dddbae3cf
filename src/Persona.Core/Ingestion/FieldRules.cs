using System.Text;

namespace Persona.Core.Ingestion;

/// <summary>Checks shared by the validators; each appends to the caller's error list and never throws.</summary>
internal static class FieldRules
{
    /// <summary>A required identifier: non-blank after trimming, no control characters, at most <paramref name="maxBytes"/> UTF-8 bytes.</summary>
    public static void RequiredId(List<FieldError> errors, int? index, string field, string? value, int maxBytes)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add(new FieldError(index, field, "is required."));
            return;
        }
        Bounded(errors, index, field, value.Trim(), maxBytes, allowWhitespaceControls: false);
    }

    /// <summary>An optional identifier: when present it follows the rules of <see cref="RequiredId"/>.</summary>
    public static void OptionalId(List<FieldError> errors, int? index, string field, string? value, int maxBytes)
    {
        if (value is null) return;
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add(new FieldError(index, field, "must not be blank when present (leave it out instead)."));
            return;
        }
        Bounded(errors, index, field, value.Trim(), maxBytes, allowWhitespaceControls: false);
    }

    /// <summary>Free text: at most <paramref name="maxBytes"/> UTF-8 bytes; tabs and line breaks allowed, other control characters not.</summary>
    public static void Text(List<FieldError> errors, int? index, string field, string? value, int maxBytes)
    {
        if (value is null) return;
        Bounded(errors, index, field, value, maxBytes, allowWhitespaceControls: true);
    }

    public static void Bounded(List<FieldError> errors, int? index, string field, string value, int maxBytes, bool allowWhitespaceControls)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) && !(allowWhitespaceControls && (c == '\t' || c == '\n' || c == '\r')))
            {
                errors.Add(new FieldError(index, field, "must not contain control characters."));
                break;
            }
        }
        var bytes = Utf8Length(value);
        if (bytes > maxBytes)
            errors.Add(new FieldError(index, field, $"is {bytes} UTF-8 bytes long; at most {maxBytes} are allowed."));
    }

    /// <summary>Bytes the string takes in UTF-8; lone surrogates count as the 3-byte replacement character.</summary>
    public static int Utf8Length(string value) => Encoding.UTF8.GetByteCount(value);

    public static void Attributes(
        List<FieldError> errors, int? index, IReadOnlyDictionary<string, string>? attributes, IngestionOptions options)
    {
        if (attributes is null) return;
        if (attributes.Count > options.MaxAttributes)
            errors.Add(new FieldError(index, "attributes", $"has {attributes.Count} entries; at most {options.MaxAttributes} are allowed."));
        foreach (var (key, value) in attributes)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                errors.Add(new FieldError(index, "attributes", "has a blank key."));
                continue;
            }
            var field = "attributes." + key;
            Bounded(errors, index, field, key, options.MaxIdLength, allowWhitespaceControls: false);
            if (value is null)
                errors.Add(new FieldError(index, field, "must not be null."));
            else
                Text(errors, index, field, value, options.MaxTextBytes);
        }
    }

    public static void Batch<T>(List<FieldError> errors, string collection, IReadOnlyList<T>? batch, int maxBatchSize)
    {
        if (batch is null || batch.Count == 0)
            errors.Add(new FieldError(null, collection, "must contain at least one record."));
        else if (batch.Count > maxBatchSize)
            errors.Add(new FieldError(null, collection, $"has {batch.Count} records; at most {maxBatchSize} are allowed per request."));
    }
}
