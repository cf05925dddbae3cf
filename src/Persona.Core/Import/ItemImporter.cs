using Persona.Abstractions;

namespace Persona.Core.Import;

/// <summary>
/// Streams catalog items from CSV or JSON Lines. CSV columns: <see cref="CsvColumns"/>, only <c>id</c> required.
/// <c>category_path</c> is split on <c>&gt;</c> (<c>Beauty &gt; Makeup</c>) or, without one, on <c>/</c>;
/// <c>attributes</c> is a JSON object or <c>k=v;k=v</c>; <c>available</c> is true/false, 1/0 or yes/no (empty = true);
/// <c>currency</c> defaults to CNY; dates are ISO-8601 or unix time as for events.
/// </summary>
public static class ItemImporter
{
    public static IReadOnlyList<string> CsvColumns { get; } =
        ["id", "title", "description", "category_path", "brand", "price", "currency", "available", "created_at", "updated_at", "attributes"];

    private static readonly Importer<Item> Engine = new(
        new CsvSchema<Item>([.. CsvColumns], ["id"], ParseRow),
        new JsonLinesSchema<Item>(["id"], Check));

    public static IAsyncEnumerable<ImportResult<Item>> ReadAsync(string path, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(path, ImportFormats.FromPath(path), progress, cancellationToken);

    public static IAsyncEnumerable<ImportResult<Item>> ReadAsync(string path, ImportFormat format, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(path, format, progress, cancellationToken);

    public static IAsyncEnumerable<ImportResult<Item>> ReadAsync(Stream stream, string fileName, ImportFormat format, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Engine.Read(stream, fileName, format, progress, cancellationToken);

    private static Item? ParseRow(CsvFields row)
    {
        var id = row.Required("id");
        var price = row.Number("price");
        var available = row.Bool("available");
        var created = row.Timestamp("created_at");
        var updated = row.Timestamp("updated_at");
        var attributes = row.Attributes("attributes");
        if (id is null) return null;
        return new Item
        {
            Id = id,
            Title = row.Trimmed("title") ?? "",
            Description = row.Text("description"),
            CategoryPath = ImportValues.ParseCategoryPath(row.Text("category_path")),
            Brand = row.Trimmed("brand"),
            Price = price,
            Currency = row.Trimmed("currency") ?? "CNY",
            Available = available ?? true,
            CreatedAt = created,
            UpdatedAt = updated,
            Attributes = attributes,
        };
    }

    private static Item Check(Item item, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(item.Id)) fail("id", "a value is required");
        // JSON nulls in collection properties become the defaults rather than nulls the rest of the code never expects.
        return item.CategoryPath is null || item.Attributes is null || item.Title is null || item.Currency is null
            ? item with
            {
                CategoryPath = item.CategoryPath ?? [],
                Attributes = item.Attributes ?? new Dictionary<string, string>(),
                Title = item.Title ?? "",
                Currency = item.Currency ?? "CNY",
            }
            : item;
    }
}
