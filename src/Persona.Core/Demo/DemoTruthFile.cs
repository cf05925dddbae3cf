using System.Text;
using System.Text.Json;
using Persona.Abstractions;

namespace Persona.Core.Demo;

/// <summary>Reads and writes <see cref="DemoTruth"/> as JSON Lines in the <see cref="PersonaJson"/> shape.</summary>
public static class DemoTruthFile
{
    public const string DefaultFileName = "truth.jsonl";

    public static async Task WriteAsync(string path, IEnumerable<DemoTruth> truth, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(truth);
        await using var writer = DemoShopWriter.CreateText(path);
        foreach (var row in truth)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await writer.WriteAsync(JsonSerializer.Serialize(row, PersonaJson.Options).AsMemory(), cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync("\n".AsMemory(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>All rows of the file; throws <see cref="InvalidDataException"/> naming the line of a malformed one.</summary>
    public static async Task<IReadOnlyList<DemoTruth>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var rows = new List<DemoTruth>();
        using var reader = new StreamReader(path, Encoding.UTF8);
        long line = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                rows.Add(JsonSerializer.Deserialize<DemoTruth>(text, PersonaJson.Options)
                    ?? throw new InvalidDataException($"{Path.GetFileName(path)} line {line}: expected a JSON object, found null"));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{Path.GetFileName(path)} line {line}: {ex.Message}", ex);
            }
        }
        return rows;
    }
}
