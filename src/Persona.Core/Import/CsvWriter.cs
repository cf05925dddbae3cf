using System.Text;

namespace Persona.Core.Import;

/// <summary>Writes RFC 4180 CSV: fields holding the delimiter, quotes, line breaks or edge spaces are quoted, quotes doubled. Rows end with LF.</summary>
public sealed class CsvWriter(TextWriter writer, char delimiter = ',')
{
    private readonly StringBuilder _line = new();

    public static string Escape(string? value, char delimiter = ',')
    {
        if (string.IsNullOrEmpty(value)) return "";
        var needsQuotes = value.AsSpan().IndexOfAny(['"', '\r', '\n', delimiter]) >= 0 || value[0] == ' ' || value[^1] == ' ';
        return needsQuotes ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
    }

    public void WriteRow(IEnumerable<string?> fields)
    {
        BuildLine(fields);
        writer.Write(_line);
    }

    public Task WriteRowAsync(IEnumerable<string?> fields, CancellationToken cancellationToken = default)
    {
        BuildLine(fields);
        return writer.WriteAsync(_line, cancellationToken);
    }

    private void BuildLine(IEnumerable<string?> fields)
    {
        _line.Clear();
        var first = true;
        foreach (var field in fields)
        {
            if (!first) _line.Append(delimiter);
            _line.Append(Escape(field, delimiter));
            first = false;
        }
        _line.Append('\n');
    }
}
