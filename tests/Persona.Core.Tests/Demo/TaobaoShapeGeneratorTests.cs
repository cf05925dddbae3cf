using System.Globalization;
using Persona.Core.Demo;

namespace Persona.Core.Tests.Demo;

/// <summary>The synthetic Taobao-shaped log of <c>persona bench scale</c>: its shape, its determinism and its streaming.</summary>
public sealed class TaobaoShapeGeneratorTests
{
    private static readonly TaobaoShapeOptions Small = new() { Users = 500, Items = 5_000, Events = 60_000, Seed = 3 };

    private static string Text(TaobaoShapeOptions options)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        new TaobaoShapeGenerator(options).Write(writer);
        return writer.ToString();
    }

    [Fact]
    public void Write_SameSeed_SameLines_OtherSeed_OtherLines()
    {
        var a = Text(Small);

        Assert.Equal(a, Text(Small));
        Assert.NotEqual(a, Text(Small with { Seed = 4 }));
    }

    [Fact]
    public void Write_LineCountIsEvents_AndEachLineIsWhatRowsGives()
    {
        var generator = new TaobaoShapeGenerator(Small);
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var reported = new List<long>();

        var written = generator.Write(writer, new Progress(reported.Add));

        var lines = writer.ToString().Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.Equal(Small.Events, written);
        Assert.Equal(Small.Events, lines.Length - 1);
        Assert.Equal(Small.Events, reported[^1]);
        Assert.Equal(generator.Rows().Select(r => r.ToString()), lines[..^1]);
    }

    [Fact]
    public void Rows_EveryFieldInRange_EveryShopperActs_TimestampsStrictlyIncreasePerShopper()
    {
        var rows = new TaobaoShapeGenerator(Small).Rows().ToList();

        Assert.Equal(Small.Events, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.InRange(r.User, 1, Small.Users);
            Assert.InRange(r.Item, 1, Small.Items);
            Assert.InRange(r.Category, 1, Small.Categories);
            Assert.InRange(r.Timestamp, Small.Start, Small.End);
        });
        Assert.Equal(Enumerable.Range(1, Small.Users), rows.Select(r => r.User).Distinct());
        for (var i = 1; i < rows.Count; i++)
            if (rows[i].User == rows[i - 1].User) Assert.True(rows[i].Timestamp > rows[i - 1].Timestamp, $"line {i + 1} is not after line {i}");
        // One category per item, as the importer assumes.
        Assert.All(rows.GroupBy(r => r.Item), g => Assert.Single(g.Select(r => r.Category).Distinct()));
    }

    [Fact]
    public void Rows_BehaviourMixIsTaobaos()
    {
        var rows = new TaobaoShapeGenerator(Small with { Events = 200_000 }).Rows().ToList();

        double Share(TaobaoBehavior b) => rows.Count(r => r.Behavior == b) / (double)rows.Count;
        Assert.InRange(Share(TaobaoBehavior.Pv), 0.88, 0.91);
        Assert.InRange(Share(TaobaoBehavior.Cart), 0.048, 0.062);
        Assert.InRange(Share(TaobaoBehavior.Fav), 0.024, 0.034);
        Assert.InRange(Share(TaobaoBehavior.Buy), 0.016, 0.024);
    }

    [Fact]
    public void Rows_PopularityIsSkewed_ActivityIsSkewed_SessionsStayInCategories()
    {
        var options = Small with { Items = 20_000 };
        var generator = new TaobaoShapeGenerator(options);
        var rows = generator.Rows().ToList();

        // Zipf: the top 1 % of items take a large share of the events, and far more than 1 %.
        var byItem = rows.GroupBy(r => r.Item).Select(g => g.Count()).OrderDescending().ToList();
        var top = byItem.Take(options.Items / 100).Sum() / (double)rows.Count;
        Assert.InRange(top, 0.30, 0.70);
        Assert.True(byItem.Count > options.Items / 10, $"only {byItem.Count} distinct items");

        // Shoppers: at least one event each; the busiest far above the median.
        var perUser = Enumerable.Range(1, options.Users).Select(generator.EventsOf).Order().ToList();
        Assert.Equal(options.Events, perUser.Sum(c => (long)c));
        Assert.True(perUser[0] >= 1);
        Assert.True(perUser[^1] > 5 * perUser[perUser.Count / 2], $"max {perUser[^1]}, median {perUser[perUser.Count / 2]}");

        // Consecutive events of a shopper share a category far more often than two random events would.
        var pairs = 0;
        var same = 0;
        for (var i = 1; i < rows.Count; i++)
        {
            if (rows[i].User != rows[i - 1].User || rows[i].Timestamp - rows[i - 1].Timestamp > 600) continue;
            pairs++;
            if (rows[i].Category == rows[i - 1].Category) same++;
        }
        var byCategory = rows.GroupBy(r => r.Category).Select(g => g.Count() / (double)rows.Count).ToList();
        var chance = byCategory.Sum(p => p * p);
        Assert.True(same / (double)pairs > 0.5 && same / (double)pairs > 3 * chance, $"same category {same}/{pairs}, by chance {chance:0.000}");
    }

    [Theory]
    [InlineData(0, 10, 10, "Users")]
    [InlineData(10, 0, 10, "Items")]
    [InlineData(10, 10, 9, "Events")]
    [InlineData(10, 10, 10_001, "Events")]
    public void Constructor_UnusableSizes_ThrowNamingTheSize(int users, int items, long events, string named)
    {
        var ex = Assert.Throws<ArgumentException>(() => new TaobaoShapeGenerator(new TaobaoShapeOptions { Users = users, Items = items, Events = events }));

        Assert.StartsWith(named, ex.Message, StringComparison.Ordinal);
    }

    internal sealed class CountingWriter : TextWriter
    {
        public long Lines { get; private set; }

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n') Lines++;
        }

        public override void Write(ReadOnlySpan<char> buffer) => Lines += buffer.Count('\n');
    }

    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}

/// <summary>
/// Measures the whole process's heap, so it runs alone: in parallel with other tests it counted their allocations
/// (seen in CI: "heap grew by 36 MiB").
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurement
{
    public const string Name = "heap measurement";
}

[Collection(HeapMeasurement.Name)]
public sealed class TaobaoShapeGeneratorMemoryTests
{
    [Fact]
    public void Write_ManyEvents_MemoryDoesNotGrowWithTheLog()
    {
        // 2M lines through a writer that keeps nothing: held as rows they would take 48 MiB; the generator keeps O(items + users).
        var generator = new TaobaoShapeGenerator(new TaobaoShapeOptions { Users = 20_000, Items = 20_000, Events = 2_000_000, Seed = 9 });
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var counter = new TaobaoShapeGeneratorTests.CountingWriter();

        var written = generator.Write(counter);

        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(2_000_000, written);
        Assert.Equal(2_000_000, counter.Lines);
        Assert.True(heapAfter - heapBefore < 8 << 20, $"heap grew by {(heapAfter - heapBefore) >> 20} MiB");
        GC.KeepAlive(generator);
    }
}
