using Persona.Abstractions;
using Persona.Core.Import;

namespace Persona.Core.Tests.Import;

public class DatasetReaderTests
{
    [DatasetFact("amazon-beauty")]
    public async Task AmazonBeauty_Read_PublishedCounts()
    {
        var reader = new AmazonBeautyReader(SharedDatasets.PathOf("amazon-beauty"));
        var items = new Dictionary<string, Item>();
        await foreach (var result in reader.ReadItemsAsync())
        {
            Assert.True(result.IsSuccess, result.ToString());
            items.Add(result.Record.Value.Id, result.Record.Value);
        }
        var users = new HashSet<string>();
        var previous = new Dictionary<string, DateTimeOffset>();
        long events = 0;
        ImportProgress? last = null;
        await foreach (var result in reader.ReadEventsAsync(new InlineProgress(p => last = p)))
        {
            Assert.True(result.IsSuccess, result.ToString());
            var e = result.Record.Value;
            events++;
            users.Add(e.UserId);
            Assert.Equal(EventType.Purchase, e.Type);
            if (previous.TryGetValue(e.UserId, out var before)) Assert.True(e.Timestamp > before);
            previous[e.UserId] = e.Timestamp!.Value;
        }

        Assert.Equal(12_101, items.Count);
        Assert.Equal(22_363, users.Count);
        Assert.Equal(198_502, events);
        Assert.Equal(last!.TotalBytes, last.BytesRead);

        var opi = items["1"];
        Assert.Equal(("OPI", "B004756YJA", "nail lacquer simmer and shimmer"), (opi.Brand, opi.Attributes["asin"], opi.Title));
        Assert.Equal(["Makeup", "Nails", "Nail Polish"], opi.CategoryPath);
        Assert.Null(items["3"].Brand); // "Unknown"
        Assert.Null(items["4"].Brand); // no brand, path starts at a root category
        Assert.Equal("Makeup", items["4"].CategoryPath[0]);
        Assert.Contains(items.Values, i => i.Brand == "L'Oreal Paris");
        Assert.All(items.Values, i => Assert.Contains(i.CategoryPath[0], AmazonBeautyReader.RootCategories));
    }

    [Fact]
    public void AmazonBeauty_SplitAttributes_BrandBeforeFirstRoot()
    {
        Assert.Equal(("OPI", "Makeup|Nails"), Flatten(AmazonBeautyReader.SplitAttributes("OPI|Makeup|Nails")));
        Assert.Equal(((string?)null, "Skin Care|Face"), Flatten(AmazonBeautyReader.SplitAttributes("Skin Care|Face")));
        Assert.Equal(((string?)null, "Hair Care"), Flatten(AmazonBeautyReader.SplitAttributes("Unknown|Hair Care")));
        Assert.Equal(("Burt's Bees", "Bath & Body"), Flatten(AmazonBeautyReader.SplitAttributes("Burt&#39;s Bees|Bath &amp; Body")));

        static (string?, string) Flatten((string? Brand, IReadOnlyList<string> Path) split) => (split.Brand, string.Join("|", split.Path));
    }

    [DatasetFact("taobao-userbehavior")]
    public async Task Taobao_TimeSlice_AllRowsBecomeEvents()
    {
        var reader = new TaobaoUserBehaviorReader(Path.Combine(SharedDatasets.PathOf("taobao-userbehavior"), "UserBehavior_timeslice_110k.csv"));
        var types = new Dictionary<EventType, int>();
        long rows = 0;
        var start = new DateTimeOffset(2017, 11, 25, 0, 0, 0, TimeSpan.Zero);
        await foreach (var result in reader.ReadEventsAsync())
        {
            Assert.True(result.IsSuccess, result.ToString());
            var e = result.Record.Value;
            rows++;
            types[e.Type] = types.GetValueOrDefault(e.Type) + 1;
            Assert.InRange(e.Timestamp!.Value, start, start.AddDays(3));
            Assert.StartsWith($"tb-{e.UserId}-{e.ItemId}-", e.Id, StringComparison.Ordinal);
        }
        var items = new HashSet<string>();
        await foreach (var result in reader.ReadItemsAsync())
        {
            Assert.True(items.Add(result.Record!.Value.Id));
            Assert.StartsWith("cat-", result.Record.Value.CategoryPath[0], StringComparison.Ordinal);
        }

        Assert.Equal(110_300, rows);
        Assert.Equal([EventType.View, EventType.AddToCart, EventType.Favorite, EventType.Purchase], types.Keys.Order());
        Assert.True(types[EventType.View] > types[EventType.Purchase]);
        Assert.True(items.Count > 10_000);
    }

    [DatasetFact("taobao-userbehavior")]
    public async Task Taobao_Directory_ReadsEveryFile()
    {
        var reader = new TaobaoUserBehaviorReader(SharedDatasets.PathOf("taobao-userbehavior"));
        var files = new HashSet<string>();
        long rows = 0;
        await foreach (var result in reader.ReadEventsAsync())
        {
            rows++;
            files.Add(result.Record!.File);
        }
        // The head file holds 4,321 rows (the README says 4,320), so count its lines rather than trust the figure.
        var headRows = File.ReadLines(Path.Combine(SharedDatasets.PathOf("taobao-userbehavior"), "UserBehavior_head_4320.csv")).Count(l => l.Length > 0);
        Assert.Equal(110_300 + headRows, rows);
        Assert.Equal(2, files.Count);
    }

    [Fact]
    public async Task Taobao_BadRows_ErrorsNameLineAndField()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tb-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(path, "1,2,3,pv,1511658000\n1,2,3,like,1511658000\n1,2,3,buy,soon\n1,2\n,2,3,pv,1\n");
        try
        {
            var results = new List<ImportResult<Event>>();
            await foreach (var result in new TaobaoUserBehaviorReader(path).ReadEventsAsync()) results.Add(result);

            Assert.Equal("tb-1-2-pv-1511658000", results[0].Record!.Value.Id);
            Assert.Equal([(2L, "behavior"), (3L, "timestamp"), (4L, "(row)"), (5L, "user_id")],
                results.Skip(1).Select(r => (r.Error!.Line, r.Error.Field)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class InlineProgress(Action<ImportProgress> report) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => report(value);
    }
}
