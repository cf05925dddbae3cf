using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Import;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>
/// Reads a next-item benchmark into the product's records: <c>user item item …</c> lines (time order) become
/// <c>purchase</c> events with the synthetic timestamps of <see cref="AmazonBeautyReader"/>; items come from
/// <c>items.tsv</c> when present (brand and category names), otherwise from a <c>*_item2attributes.json</c> beside the
/// sequence file (anonymous attribute ids under <see cref="Models.Sequence.SequenceVocabulary.AttributeListKey"/>).
/// </summary>
public static class SequenceFileReader
{
    /// <summary>Loads events and items from a folder (its single <c>*.txt</c>, or <c>Beauty.txt</c>) or a sequence file.</summary>
    public static async Task<(List<StoredEvent> Events, List<Item> Items)> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file;
        if (Directory.Exists(path))
        {
            var preferred = Path.Combine(path, AmazonBeautyReader.EventsFileName);
            var candidates = Directory.GetFiles(path, "*.txt");
            file = File.Exists(preferred) ? preferred
                : candidates.Length == 1 ? candidates[0]
                : throw new FileNotFoundException($"'{path}' holds {candidates.Length} *.txt files; pass the sequence file itself.");
        }
        else if (File.Exists(path))
        {
            file = path;
        }
        else
        {
            throw new FileNotFoundException($"No data set at '{path}'.");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var events = new List<StoredEvent>();
        var lineNumber = 0;
        foreach (var line in await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false))
        {
            lineNumber++;
            var tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length < 2) continue;
            var offset = TimeSpan.FromMinutes((lineNumber - 1) % 1440);
            for (var i = 1; i < tokens.Length; i++)
            {
                events.Add(new StoredEvent
                {
                    Sequence = events.Count + 1,
                    Id = $"seq-{tokens[0]}-{i - 1}",
                    UserId = tokens[0],
                    Type = EventType.Purchase,
                    ItemId = tokens[i],
                    Timestamp = AmazonBeautyReader.Epoch.AddDays(i - 1) + offset,
                });
            }
        }

        var items = new List<Item>();
        if (File.Exists(Path.Combine(directory, AmazonBeautyReader.ItemsFileName)))
        {
            await foreach (var r in new AmazonBeautyReader(directory).ReadItemsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (r.Record is { } record) items.Add(record.Value);
            }
        }
        else if (Directory.GetFiles(directory, "*_item2attributes.json").FirstOrDefault() is { } json)
        {
            using var stream = File.OpenRead(json);
            var map = await JsonSerializer.DeserializeAsync<Dictionary<string, int[]>>(stream, cancellationToken: cancellationToken).ConfigureAwait(false) ?? [];
            foreach (var (id, attributes) in map)
            {
                items.Add(new Item
                {
                    Id = id,
                    Attributes = new Dictionary<string, string>
                    {
                        [Models.Sequence.SequenceVocabulary.AttributeListKey] = string.Join(",", attributes.Select(a => a.ToString(CultureInfo.InvariantCulture))),
                    },
                });
            }
        }
        return (events, items);
    }
}
