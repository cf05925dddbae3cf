namespace Persona.Core.Import;

/// <summary>File formats the importers read.</summary>
public enum ImportFormat
{
    /// <summary>RFC 4180 CSV with a header row.</summary>
    Csv,
    /// <summary>JSON Lines: one snake_case JSON object per line.</summary>
    JsonLines,
}

public static class ImportFormats
{
    /// <summary>The format from the file extension: <c>.csv</c>, or <c>.jsonl</c>/<c>.ndjson</c>/<c>.json</c>.</summary>
    public static ImportFormat FromPath(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".csv" => ImportFormat.Csv,
            ".jsonl" or ".ndjson" or ".json" => ImportFormat.JsonLines,
            _ => throw new ArgumentException($"Cannot tell the format of '{Path.GetFileName(path)}': use a .csv, .jsonl or .ndjson file.", nameof(path)),
        };
    }
}

/// <summary>The plumbing shared by the event, item and user importers.</summary>
internal sealed class Importer<T>(CsvSchema<T> csv, JsonLinesSchema<T> jsonLines) where T : class
{
    public IAsyncEnumerable<ImportResult<T>> Read(string path, ImportFormat format, IProgress<ImportProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(() => ImportSource.Open(path), format, progress, cancellationToken);
    }

    public IAsyncEnumerable<ImportResult<T>> Read(Stream stream, string fileName, ImportFormat format, IProgress<ImportProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Read(() => ImportSource.FromStream(stream, fileName), format, progress, cancellationToken);
    }

    private IAsyncEnumerable<ImportResult<T>> Read(Func<ImportSource> open, ImportFormat format, IProgress<ImportProgress>? progress, CancellationToken cancellationToken) =>
        format == ImportFormat.Csv
            ? CsvImport.ReadAsync(open, csv, progress, cancellationToken)
            : JsonLinesImport.ReadAsync(open, jsonLines, progress, cancellationToken);
}
