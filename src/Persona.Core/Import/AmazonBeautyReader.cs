using System.Net;
using System.Runtime.CompilerServices;
using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>
/// Reads the Amazon Beauty 5-core data set (the S3-Rec release: <c>Beauty.txt</c> and <c>items.tsv</c>).
/// <para>Items come from <c>items.tsv</c> (<c>id, asin, title keywords, attributes</c>): the title is the keywords, the
/// ASIN is kept as attribute <c>asin</c>, and the attribute list <c>brand|category|category|...</c> gives the brand
/// (everything before the first of the six top-level Beauty categories; absent or <c>Unknown</c> = no brand) and the
/// category path (from that category on). HTML entities such as <c>&amp;#39;</c> are decoded. Prices are not known.</para>
/// <para>Events come from <c>Beauty.txt</c>, one user per line, <c>user item item ...</c> in time order. Each item becomes a
/// <c>purchase</c> with id <c>beauty-&lt;user&gt;-&lt;i&gt;</c> (<c>i</c> from 0) and a synthetic timestamp, since the
/// release has none: <see cref="Epoch"/> + <c>i</c> days + ((line − 1) mod 1440) minutes, where line is the user's
/// 1-based line. That keeps each user's order (steps are a day apart; the offset is under a day) and spreads users over
/// the day. Items missing from <c>items.tsv</c> still get their events.</para>
/// </summary>
public sealed class AmazonBeautyReader
{
    public const string EventsFileName = "Beauty.txt";
    public const string ItemsFileName = "items.tsv";

    /// <summary>Day 0 of the synthetic timestamps.</summary>
    public static readonly DateTimeOffset Epoch = new(2014, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Top-level categories of the Amazon Beauty tree; attribute names before the first of them are the brand.</summary>
    public static IReadOnlyList<string> RootCategories { get; } =
        ["Skin Care", "Hair Care", "Makeup", "Tools & Accessories", "Bath & Body", "Fragrance"];

    private readonly string _directory;

    public AmazonBeautyReader(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = directory;
    }

    /// <summary>Whether the directory holds both files of the data set.</summary>
    public static bool Exists(string directory) =>
        File.Exists(Path.Combine(directory, EventsFileName)) && File.Exists(Path.Combine(directory, ItemsFileName));

    public async IAsyncEnumerable<ImportResult<Item>> ReadItemsAsync(
        IProgress<ImportProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var source = ImportSource.Open(Path.Combine(_directory, ItemsFileName));
        var file = source.FileName;
        long line = 0, records = 0, errors = 0;
        while (await source.Reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            if (line == 1 || text.Length == 0) continue; // header
            var fields = text.Split('\t');
            if (fields.Length != 4)
            {
                errors++;
                yield return ImportResult<Item>.Failure(new ImportError(file, line, ImportError.RowField, $"expected 4 tab-separated fields, found {fields.Length}"));
                continue;
            }
            var id = fields[0].Trim();
            if (id.Length == 0)
            {
                errors++;
                yield return ImportResult<Item>.Failure(new ImportError(file, line, "id", "a value is required"));
                continue;
            }
            var asin = fields[1].Trim();
            var (brand, path) = SplitAttributes(fields[3]);
            var keywords = WebUtility.HtmlDecode(fields[2]).Trim();
            records++;
            yield return ImportResult<Item>.Success(new Item
            {
                Id = id,
                Title = keywords.Length > 0 ? keywords : $"Amazon item {asin}",
                CategoryPath = path,
                Brand = brand,
                Currency = "USD",
                Attributes = new Dictionary<string, string> { ["asin"] = asin },
            }, file, line);
            if (records % CsvImport.ProgressEvery == 0) progress?.Report(source.Progress(records, errors));
        }
        progress?.Report(source.Progress(records, errors));
    }

    /// <summary><c>OPI|Makeup|Nails|Nail Polish</c> → (<c>OPI</c>, [Makeup, Nails, Nail Polish]).</summary>
    public static (string? Brand, IReadOnlyList<string> Path) SplitAttributes(string attributes)
    {
        var parts = attributes.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(WebUtility.HtmlDecode).Select(p => p!).ToArray();
        var root = Array.FindIndex(parts, p => RootCategories.Contains(p));
        string? brand;
        string[] path;
        if (root >= 0)
        {
            brand = root > 0 ? string.Join(" ", parts[..root]) : null;
            path = parts[root..];
        }
        else
        {
            // No known root: a lone name is a category, otherwise the first name is the brand.
            brand = parts.Length > 1 ? parts[0] : null;
            path = parts.Length > 1 ? parts[1..] : parts;
        }
        if (string.Equals(brand, "Unknown", StringComparison.OrdinalIgnoreCase)) brand = null;
        return (brand, path);
    }

    public async IAsyncEnumerable<ImportResult<Event>> ReadEventsAsync(
        IProgress<ImportProgress>? progress = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var source = ImportSource.Open(Path.Combine(_directory, EventsFileName));
        var file = source.FileName;
        long line = 0, records = 0, errors = 0;
        while (await source.Reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            line++;
            var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0) continue;
            if (tokens.Length == 1)
            {
                errors++;
                yield return ImportResult<Event>.Failure(new ImportError(file, line, "item", $"user '{tokens[0]}' has no items"));
                continue;
            }
            var user = tokens[0];
            var offset = TimeSpan.FromMinutes((line - 1) % 1440);
            for (var i = 1; i < tokens.Length; i++)
            {
                records++;
                yield return ImportResult<Event>.Success(new Event
                {
                    Id = $"beauty-{user}-{i - 1}",
                    UserId = user,
                    Type = EventType.Purchase,
                    ItemId = tokens[i],
                    Timestamp = Epoch.AddDays(i - 1) + offset,
                }, file, line);
            }
            if (line % 1024 == 0) progress?.Report(source.Progress(records, errors));
        }
        progress?.Report(source.Progress(records, errors));
    }
}
