using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Import;
using Persona.Core.Tests.Demo;

namespace Persona.Core.Tests.Import;

public sealed class RoundTripTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "persona-roundtrip-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private static string Json<T>(IEnumerable<T> values) => JsonSerializer.Serialize(values, PersonaJson.Options);

    private static async Task<List<T>> ReadAllAsync<T>(IAsyncEnumerable<ImportResult<T>> source)
    {
        var values = new List<T>();
        await foreach (var result in source)
        {
            Assert.True(result.IsSuccess, result.ToString());
            values.Add(result.Record.Value);
        }
        return values;
    }

    [Theory]
    [InlineData(ImportFormat.JsonLines)]
    [InlineData(ImportFormat.Csv)]
    public async Task WriteThenImport_DemoShop_SameRecords(ImportFormat format)
    {
        var shop = new DemoShopGenerator(DemoShopGeneratorTests.Small(11)).Generate();

        var files = await DemoShopWriter.WriteAsync(shop, _directory, format);

        Assert.Equal(format == ImportFormat.Csv ? ".csv" : ".jsonl", Path.GetExtension(files.Events));
        Assert.Equal(Json(shop.Items), Json(await ReadAllAsync(ItemImporter.ReadAsync(files.Items))));
        Assert.Equal(Json(shop.Users), Json(await ReadAllAsync(UserImporter.ReadAsync(files.Users))));
        Assert.Equal(Json(shop.Events), Json(await ReadAllAsync(EventImporter.ReadAsync(files.Events))));
        Assert.Equal(Json(shop.Truth), Json(await DemoTruthFile.ReadAsync(files.Truth)));
    }

    [Fact]
    public async Task WriteThenImport_CsvSubSecondTimestampsAndAwkwardText_Preserved()
    {
        var when = new DateTimeOffset(2026, 10, 31, 12, 0, 0, 123, TimeSpan.Zero);
        Event[] events =
        [
            new() { Id = "e1", UserId = "u1", Type = EventType.Search, Query = "兰蔻 \"口红\", red\nlipstick", Timestamp = when, Value = 0.1 + 0.2 },
            new() { Id = "e2", UserId = "u1", Type = EventType.View, ItemId = "i1", Timestamp = when.AddMilliseconds(877) },
        ];
        var shop = new DemoShop([], [], events, [], new DemoOptions());

        var files = await DemoShopWriter.WriteAsync(shop, _directory, ImportFormat.Csv);
        var read = await ReadAllAsync(EventImporter.ReadAsync(files.Events));

        Assert.Equal(events, read);
        Assert.Contains("2026-10-31T12:00:00.123+00:00", await File.ReadAllTextAsync(files.Events), StringComparison.Ordinal);
        Assert.Contains("2026-10-31T12:00:01+00:00", await File.ReadAllTextAsync(files.Events), StringComparison.Ordinal);
    }
}
