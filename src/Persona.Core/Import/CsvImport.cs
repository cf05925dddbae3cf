using System.Runtime.CompilerServices;
using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>The columns a CSV file of <typeparamref name="T"/> may have, which are required, and how a row becomes a value.</summary>
internal sealed record CsvSchema<T>(string[] Columns, string[] Required, Func<CsvFields, T?> Parse) where T : class;

/// <summary>One data row seen through the header: typed accessors that record an error per bad field.</summary>
internal sealed class CsvFields(string file, IReadOnlyDictionary<string, int> columns)
{
    private IReadOnlyList<string> _values = [];

    public string File { get; } = file;
    public long Line { get; private set; }
    public List<ImportError> Errors { get; } = [];

    public void Load(CsvRow row)
    {
        _values = row.Fields;
        Line = row.Line;
        Errors.Clear();
    }

    /// <summary>The raw value, or null when the column is absent or the cell empty.</summary>
    public string? Text(string column) =>
        columns.TryGetValue(column, out var index) && index < _values.Count && _values[index].Length > 0 ? _values[index] : null;

    /// <summary>The trimmed value, or null when absent, empty or blank.</summary>
    public string? Trimmed(string column)
    {
        var text = Text(column)?.Trim();
        return string.IsNullOrEmpty(text) ? null : text;
    }

    public string? Required(string column)
    {
        var value = Trimmed(column);
        if (value is null) Fail(column, "a value is required");
        return value;
    }

    public double? Number(string column)
    {
        var text = Trimmed(column);
        if (text is null) return null;
        if (ImportValues.TryParseNumber(text, out var value)) return value;
        Fail(column, $"'{ImportValues.Shorten(text)}' is not a number");
        return null;
    }

    public DateTimeOffset? Timestamp(string column)
    {
        var text = Trimmed(column);
        if (text is null) return null;
        if (ImportValues.TryParseTimestamp(text, out var value)) return value;
        Fail(column, $"'{ImportValues.Shorten(text)}' is not a date (use ISO-8601 or unix seconds/milliseconds)");
        return null;
    }

    public bool? Bool(string column)
    {
        var text = Trimmed(column);
        if (text is null) return null;
        if (ImportValues.TryParseBool(text, out var value)) return value;
        Fail(column, $"'{ImportValues.Shorten(text)}' is not a boolean (use true/false, 1/0 or yes/no)");
        return null;
    }

    public EventType? EventType(string column)
    {
        var text = Required(column);
        if (text is null) return null;
        if (EventTypes.TryParse(text, out var type)) return type;
        Fail(column, $"'{ImportValues.Shorten(text)}' is not an event type (expected one of {ImportValues.EventTypeList})");
        return null;
    }

    public IReadOnlyDictionary<string, string> Attributes(string column)
    {
        var error = ImportValues.TryParseAttributes(Text(column), out var attributes);
        if (error is not null) Fail(column, error);
        return attributes;
    }

    public void Fail(string column, string message) => Errors.Add(new ImportError(File, Line, column, message));
}

/// <summary>Reads a headed CSV file through a <see cref="CsvSchema{T}"/>: one record or the row's errors per data row.</summary>
internal static class CsvImport
{
    public const int ProgressEvery = 4096;

    public static async IAsyncEnumerable<ImportResult<T>> ReadAsync<T>(
        Func<ImportSource> open, CsvSchema<T> schema, IProgress<ImportProgress>? progress,
        [EnumeratorCancellation] CancellationToken cancellationToken) where T : class
    {
        using var source = open();
        var parser = new CsvParser(source.Reader);
        var file = source.FileName;
        long records = 0, errors = 0;

        var header = await parser.ReadRowAsync(cancellationToken).ConfigureAwait(false);
        if (header is null)
        {
            yield return ImportResult<T>.Failure(new ImportError(file, 1, ImportError.RowField,
                $"the file is empty; a header row is required ({string.Join(",", schema.Columns)})"));
            yield break;
        }

        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        var headerErrors = new List<ImportError>();
        if (header.Error is not null) headerErrors.Add(new ImportError(file, header.Line, ImportError.RowField, header.Error));
        for (var i = 0; i < header.Fields.Count; i++)
        {
            // A UTF-8 BOM the decoder did not strip, stray spaces and capitals are forgiven in names.
            var name = header.Fields[i].Trim().TrimStart('\uFEFF').ToLowerInvariant();
            if (!schema.Columns.Contains(name))
                headerErrors.Add(new ImportError(file, header.Line, name.Length == 0 ? $"column {i + 1}" : name,
                    $"unknown column (expected {string.Join(", ", schema.Columns)})"));
            else if (!columns.TryAdd(name, i))
                headerErrors.Add(new ImportError(file, header.Line, name, "the column appears more than once"));
        }
        var missing = schema.Required.Where(r => !columns.ContainsKey(r)).ToArray();
        foreach (var column in missing)
            headerErrors.Add(new ImportError(file, header.Line, column, "required column is missing from the header row"));
        foreach (var error in headerErrors)
        {
            errors++;
            yield return ImportResult<T>.Failure(error);
        }
        if (missing.Length > 0) yield break;

        var fields = new CsvFields(file, columns);
        while (await parser.ReadRowAsync(cancellationToken).ConfigureAwait(false) is { } row)
        {
            if (row.Error is not null)
            {
                errors++;
                yield return ImportResult<T>.Failure(new ImportError(file, row.Line, ImportError.RowField, row.Error));
            }
            else if (row.Fields.Count != header.Fields.Count)
            {
                errors++;
                yield return ImportResult<T>.Failure(new ImportError(file, row.Line, ImportError.RowField,
                    $"expected {header.Fields.Count} fields as in the header, found {row.Fields.Count}"));
            }
            else
            {
                fields.Load(row);
                var value = schema.Parse(fields);
                if (fields.Errors.Count == 0 && value is not null)
                {
                    records++;
                    yield return ImportResult<T>.Success(value, file, row.Line);
                }
                else
                {
                    foreach (var error in fields.Errors.ToArray())
                    {
                        errors++;
                        yield return ImportResult<T>.Failure(error);
                    }
                }
            }
            if ((records + errors) % ProgressEvery == 0) progress?.Report(source.Progress(records, errors));
        }
        progress?.Report(source.Progress(records, errors));
    }
}
