using System.Globalization;
using System.Text;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Import;

namespace Persona.Core.Demo;

/// <summary>Paths of the files a demo shop was written to.</summary>
public sealed record DemoShopFiles(string Items, string Users, string Events, string Truth);

/// <summary>
/// Writes a <see cref="DemoShop"/> as the files the importers read: <c>items</c>, <c>users</c> and <c>events</c>
/// as JSON Lines or CSV (the importers' columns), and <c>truth.jsonl</c>. UTF-8 without BOM, LF line ends.
/// </summary>
public static class DemoShopWriter
{
    private static readonly JsonSerializerOptions CompactJson = PersonaJson.Options;

    public static async Task<DemoShopFiles> WriteAsync(DemoShop shop, string directory, ImportFormat format = ImportFormat.JsonLines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(shop);
        Directory.CreateDirectory(directory);
        var extension = format == ImportFormat.Csv ? ".csv" : ".jsonl";
        var files = new DemoShopFiles(
            Path.Combine(directory, "items" + extension),
            Path.Combine(directory, "users" + extension),
            Path.Combine(directory, "events" + extension),
            Path.Combine(directory, DemoTruthFile.DefaultFileName));

        if (format == ImportFormat.Csv)
        {
            await WriteCsvAsync(files.Items, ItemImporter.CsvColumns, shop.Items, ItemRow, cancellationToken).ConfigureAwait(false);
            await WriteCsvAsync(files.Users, UserImporter.CsvColumns, shop.Users, UserRow, cancellationToken).ConfigureAwait(false);
            await WriteCsvAsync(files.Events, EventImporter.CsvColumns, shop.Events, EventRow, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await WriteJsonLinesAsync(files.Items, shop.Items, cancellationToken).ConfigureAwait(false);
            await WriteJsonLinesAsync(files.Users, shop.Users, cancellationToken).ConfigureAwait(false);
            await WriteJsonLinesAsync(files.Events, shop.Events, cancellationToken).ConfigureAwait(false);
        }
        await DemoTruthFile.WriteAsync(files.Truth, shop.Truth, cancellationToken).ConfigureAwait(false);
        return files;
    }

    internal static StreamWriter CreateText(string path) =>
        new(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };

    public static async Task WriteJsonLinesAsync<T>(string path, IEnumerable<T> rows, CancellationToken cancellationToken = default)
    {
        await using var writer = CreateText(path);
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await writer.WriteAsync(JsonSerializer.Serialize(row, CompactJson).AsMemory(), cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync("\n".AsMemory(), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WriteCsvAsync<T>(string path, IReadOnlyList<string> columns, IEnumerable<T> rows, Func<T, string?[]> toRow, CancellationToken cancellationToken)
    {
        await using var writer = CreateText(path);
        var csv = new CsvWriter(writer);
        await csv.WriteRowAsync(columns, cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
            await csv.WriteRowAsync(toRow(row), cancellationToken).ConfigureAwait(false);
    }

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>ISO-8601 with the fraction only when there is one: 2026-10-31T20:15:00+00:00.</summary>
    private static string? Date(DateTimeOffset? value) => value?.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);

    private static string? Bool(bool value) => value ? "true" : "false";

    private static string? Attributes(IReadOnlyDictionary<string, string> attributes) =>
        attributes.Count == 0 ? null : JsonSerializer.Serialize(attributes, CompactJson);

    // Column order follows ItemImporter.CsvColumns, UserImporter.CsvColumns and EventImporter.CsvColumns.
    private static string?[] ItemRow(Item i) =>
        [i.Id, i.Title, i.Description, string.Join(CategoryPaths.Separator, i.CategoryPath), i.Brand, Number(i.Price), i.Currency,
         Bool(i.Available), Date(i.CreatedAt), Date(i.UpdatedAt), Attributes(i.Attributes)];

    private static string?[] UserRow(User u) =>
        [u.Id, u.AgeBand, u.Gender, u.Region, Date(u.SignupAt), Bool(u.Consent.Personalization), Bool(u.Consent.Marketing), Attributes(u.Attributes)];

    private static string?[] EventRow(Event e) =>
        [e.Id, e.UserId, e.Type.ToWire(), e.ItemId, e.Query, Number(e.Value), Date(e.Timestamp), e.SessionId, e.Device, e.Channel, e.RequestId, e.Position?.ToString(CultureInfo.InvariantCulture)];
}
