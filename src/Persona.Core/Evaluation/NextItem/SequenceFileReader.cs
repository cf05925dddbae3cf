using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Import;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>
/// Reads an S3-Rec style sequence file <c>NAME.txt</c> into the product's records: <c>user item item …</c> lines (time
/// order) become <c>purchase</c> events with the synthetic timestamps of <see cref="AmazonBeautyReader"/>. Items come
/// from <c>NAME_item2attributes.json</c> beside the file (anonymous attribute ids under
/// <see cref="SequenceVocabulary.AttributeListKey"/>); only the Amazon Beauty release's <c>Beauty.txt</c> takes its
/// <c>items.tsv</c> instead (brand and category names). No other data set's files in the folder are read.
/// The sequences are kept as given (<see cref="SequenceDataOptions.MergeRepeats"/> off): the file is the benchmark.
/// </summary>
public static class SequenceFileReader
{
    /// <summary>Ends the name of a sequence file's attribute map: <c>Beauty.txt</c> → <c>Beauty_item2attributes.json</c>.</summary>
    public const string AttributesSuffix = "_item2attributes.json";

    /// <summary>The sequence file a path names: the path itself, or the only <c>*.txt</c> of a folder.</summary>
    public static string ResolveFile(string path) =>
        NextItemSources.SingleFile(path, "*.txt", "a sequence file, `user item item ...` per line");

    /// <summary>The attribute map that belongs to a sequence file (it may not exist).</summary>
    public static string AttributesFile(string sequenceFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sequenceFile))!, Path.GetFileNameWithoutExtension(sequenceFile) + AttributesSuffix);

    /// <summary>Loads events and items from a sequence file, or a folder holding exactly one <c>*.txt</c>.</summary>
    public static async Task<NextItemData> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = ResolveFile(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var events = new List<StoredEvent>();
        var lineNumber = 0;
        var users = 0;
        foreach (var line in await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false))
        {
            lineNumber++;
            var tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length < 2) continue;
            users++;
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

        var fileName = Path.GetFileName(file);
        var attributesFile = AttributesFile(file);
        var items = new List<Item>();
        string itemsNote;
        if (string.Equals(fileName, AmazonBeautyReader.EventsFileName, StringComparison.Ordinal) && File.Exists(Path.Combine(directory, AmazonBeautyReader.ItemsFileName)))
        {
            await foreach (var r in new AmazonBeautyReader(directory).ReadItemsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (r.Record is { } record) items.Add(record.Value);
            }
            itemsNote = $"items: {AmazonBeautyReader.ItemsFileName} (Amazon Beauty release, brand and category names), {items.Count:N0} items";
        }
        else if (File.Exists(attributesFile))
        {
            items = await ReadAttributeMapAsync(attributesFile, cancellationToken).ConfigureAwait(false);
            itemsNote = $"attributes: {Path.GetFileName(attributesFile)}, {items.Count:N0} items";
        }
        else
        {
            itemsNote = $"no attributes file {Path.GetFileName(attributesFile)} beside {fileName}";
        }

        var source = $"{fileName}: {users:N0} users, {events.Count:N0} interactions; {itemsNote}";
        return new NextItemData(events, items, new SequenceDataOptions { MergeRepeats = false }, source);
    }

    /// <summary>Reads an S3-Rec attribute map (<c>{"item": [attribute id, …]}</c>) as items with anonymous attribute ids.</summary>
    public static async Task<List<Item>> ReadAttributeMapAsync(string file, CancellationToken cancellationToken = default)
    {
        Dictionary<string, int[]> map;
        await using (var stream = File.OpenRead(file))
        {
            try
            {
                map = await JsonSerializer.DeserializeAsync<Dictionary<string, int[]>>(stream, cancellationToken: cancellationToken).ConfigureAwait(false) ?? [];
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{Path.GetFileName(file)} is not an item → attribute-id map ({{\"item\": [1, 2]}}): {ex.Message}", ex);
            }
        }
        return map.Select(p => new Item
        {
            Id = p.Key,
            Attributes = new Dictionary<string, string>
            {
                [SequenceVocabulary.AttributeListKey] = string.Join(",", p.Value.Select(a => a.ToString(CultureInfo.InvariantCulture))),
            },
        }).ToList();
    }
}
