using Persona.Abstractions;
using Persona.Core.Online;
using Persona.Core.State;

namespace Persona.Core.Tests.Online;

public class RequestIdTests
{
    [Fact]
    public void RoundTrips_AndKeepsItsTime()
    {
        var now = DateTimeOffset.Parse("2026-12-08T10:00:00.123Z");
        var id = RequestId.New(now);
        var text = id.ToString();
        Assert.StartsWith("rq_", text);
        Assert.Equal(RequestId.Length, text.Length);
        Assert.True(RequestId.TryParse(text, out var parsed));
        Assert.Equal(id, parsed);
        Assert.Equal(now, parsed.Time);
    }

    [Fact]
    public void SortsByTime()
    {
        var earlier = RequestId.New(DateTimeOffset.Parse("2026-12-08T10:00:00Z")).ToString();
        var later = RequestId.New(DateTimeOffset.Parse("2026-12-08T10:00:00.001Z")).ToString();
        Assert.True(string.CompareOrdinal(earlier, later) < 0);
    }

    [Fact]
    public void KeepsAllSixtyFourRandomBits()
    {
        var id = new RequestId(1, ulong.MaxValue);
        Assert.True(RequestId.TryParse(id.ToString(), out var parsed));
        Assert.Equal(ulong.MaxValue, parsed.Random);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("rq_")]
    [InlineData("xx_0000000000000000000000000")]
    [InlineData("rq_00000000000000000000000u")]  // 'u' is not in the alphabet
    [InlineData("rq_0000000000z000000000000")]  // the random half's top bit beyond 64
    public void RejectsWhatIsNotAnId(string? text) => Assert.False(RequestId.TryParse(text, out _));
}

public class OnlineLedgerTests
{
    private static readonly DateTimeOffset Noon = DateTimeOffset.Parse("2026-12-08T12:00:00Z");
    private static readonly Func<string, double?> Prices = id => id == "free" ? null : 10.0;
    private static int _sequence;

    private static StoredEvent Event(string user, EventType type, string? item, DateTimeOffset at, string? request = null, int? position = null,
        double? value = null, string? channel = null) => new()
    {
        Sequence = Interlocked.Increment(ref _sequence),
        Id = Guid.NewGuid().ToString("N"),
        UserId = user,
        Type = type,
        ItemId = item,
        Timestamp = at,
        RequestId = request,
        Position = position,
        Value = value,
        Channel = channel,
    };

    private static ShownItem[] Shown(params string[] items) => items.Select((id, i) => new ShownItem(id, i == 0 ? "model" : "popularity")).ToArray();

    private static OnlineCounts Total(OnlineLedger ledger, OnlineDimensions by = OnlineDimensions.None) =>
        ledger.Query(Noon.AddDays(-3), Noon.AddDays(3), by).Single().Counts;

    [Fact]
    public void ImpressionsAndClicks_CountAtTheirAnswersSourceAndPosition_Once()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        var id = RequestId.New(Noon);
        ledger.Record(id, OnlineSurface.Recommendations, "alice", null, Shown("a", "b", "c", "d"));
        var request = id.ToString();
        ledger.Apply(Event("alice", EventType.Impression, "a", Noon, request, 1), Prices);
        ledger.Apply(Event("alice", EventType.Impression, "a", Noon, request, 1), Prices); // sent twice: counted once
        ledger.Apply(Event("alice", EventType.Impression, "b", Noon, request, 2), Prices);
        ledger.Apply(Event("alice", EventType.Click, "b", Noon, request), Prices); // no position: found by the item

        var rows = ledger.Query(Noon.AddHours(-1), Noon.AddHours(1), OnlineDimensions.Source | OnlineDimensions.Position);
        var first = rows.Single(r => r.Position == "1");
        Assert.Equal(("model", 1L, 1L, 0L), (first.Source, first.Counts.Served, first.Counts.Impressions, first.Counts.Clicks));
        var second = rows.Single(r => r.Position == "2-3");
        Assert.Equal(("popularity", 2L, 1L, 1L), (second.Source, second.Counts.Served, second.Counts.Impressions, second.Counts.Clicks));
        Assert.Equal(1, rows.Single(r => r.Position == "4-10").Counts.Served);
        Assert.Equal(0, ledger.UnattributedEvents);
    }

    [Fact]
    public void AnEventNamingAnotherShoppersAnswer_OrTheWrongItem_IsUnattributed()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        var id = RequestId.New(Noon);
        ledger.Record(id, OnlineSurface.Search, "alice", null, Shown("a", "b"));
        ledger.Apply(Event("bob", EventType.Click, "a", Noon, id.ToString(), 1), Prices);
        ledger.Apply(Event("alice", EventType.Click, "b", Noon, id.ToString(), 1), Prices);
        ledger.Apply(Event("alice", EventType.Click, "a", Noon, RequestId.New(Noon).ToString(), 1), Prices); // not served here
        ledger.Apply(Event("alice", EventType.Click, "a", Noon, id.ToString(), 3), Prices); // past the answer's end
        Assert.Equal(4, ledger.UnattributedEvents);
        var unattributed = ledger.Query(Noon.AddHours(-1), Noon.AddHours(1), OnlineDimensions.Surface).Single(r => r.Surface == OnlineLedger.Unattributed);
        Assert.Equal(4, unattributed.Counts.Clicks);
    }

    [Fact]
    public void AnAnonymousAnswer_TakesAnyShoppersEvents()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        var id = RequestId.New(Noon);
        ledger.Record(id, OnlineSurface.Search, null, null, Shown("a"));
        ledger.Apply(Event("carol", EventType.Click, "a", Noon, id.ToString(), 1), Prices);
        Assert.Equal(1, Total(ledger).Clicks);
    }

    [Fact]
    public void CartsAndPurchasesWithoutARequestId_GoToTheNewestAnswerThatShowedTheItem_WithinTheWindow()
    {
        var ledger = new OnlineLedger(TimeSpan.FromMinutes(60), 1000);
        var older = RequestId.New(Noon);
        var newer = RequestId.New(Noon.AddMinutes(10));
        ledger.Record(older, OnlineSurface.Recommendations, "alice", "exp/a", Shown("x", "y"));
        ledger.Record(newer, OnlineSurface.Search, "alice", "exp/b", Shown("y", "z"));

        ledger.Apply(Event("alice", EventType.AddToCart, "y", Noon.AddMinutes(20)), Prices);
        ledger.Apply(Event("alice", EventType.Purchase, "x", Noon.AddMinutes(60)), Prices); // exactly the window after the older answer
        ledger.Apply(Event("alice", EventType.Purchase, "z", Noon.AddMinutes(71)), Prices); // a minute past the newer one's window
        ledger.Apply(Event("bob", EventType.Purchase, "y", Noon.AddMinutes(20)), Prices); // never shown to bob
        ledger.Apply(Event("alice", EventType.Click, "y", Noon.AddMinutes(20)), Prices); // clicks need a request id

        var bySurface = ledger.Query(Noon.AddHours(-1), Noon.AddHours(2), OnlineDimensions.Surface | OnlineDimensions.Variant);
        var search = bySurface.Single(r => r.Surface == "search");
        Assert.Equal(("exp/b", 1L, 0L), (search.Variant, search.Counts.Carts, search.Counts.Purchases));
        var recommendations = bySurface.Single(r => r.Surface == "recommendations");
        Assert.Equal(("exp/a", 0L, 1L, 10.0), (recommendations.Variant, recommendations.Counts.Carts, recommendations.Counts.Purchases, recommendations.Counts.Revenue));
        Assert.Equal(3, ledger.UnattributedEvents);
    }

    [Fact]
    public void Revenue_IsTheValue_ElseThePrice_AndEveryPurchaseAddsIt_WhileThePositionCountsOnce()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        var id = RequestId.New(Noon);
        ledger.Record(id, OnlineSurface.Recommendations, "alice", null, Shown("a", "free"));
        ledger.Apply(Event("alice", EventType.Purchase, "a", Noon, id.ToString(), 1, value: 25), Prices);
        ledger.Apply(Event("alice", EventType.Purchase, "a", Noon, id.ToString(), 1), Prices);
        ledger.Apply(Event("alice", EventType.Purchase, "free", Noon, id.ToString(), 2), Prices);
        var total = Total(ledger);
        Assert.Equal(2, total.Purchases);
        Assert.Equal(35, total.Revenue, 9);
        Assert.Equal(25 * 25 + 10 * 10, total.RevenueSquares, 9);
    }

    [Fact]
    public void AnImpressionWithoutARequestId_CountsForTheSurfaceItsChannelNames()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        ledger.Apply(Event("alice", EventType.Impression, "a", Noon, channel: "similar"), Prices);
        ledger.Apply(Event("alice", EventType.Impression, "a", Noon, channel: "web"), Prices);
        var rows = ledger.Query(Noon.AddHours(-1), Noon.AddHours(1), OnlineDimensions.Surface);
        Assert.Equal(1, rows.Single(r => r.Surface == "similar").Counts.Impressions);
        Assert.Equal(1, rows.Single(r => r.Surface == OnlineLedger.Unattributed).Counts.Impressions);
    }

    [Fact]
    public void Erasure_ForgetsWhichAnswersTheShopperWasShown()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        ledger.Record(RequestId.New(Noon), OnlineSurface.Recommendations, "alice", null, Shown("a"));
        ledger.Record(RequestId.New(Noon), OnlineSurface.Recommendations, "bob", null, Shown("a"));
        Assert.Equal(1, ledger.Erase("alice"));
        ledger.Apply(Event("alice", EventType.Purchase, "a", Noon.AddMinutes(1)), Prices);
        ledger.Apply(Event("bob", EventType.Purchase, "a", Noon.AddMinutes(1)), Prices);
        Assert.Equal(1, ledger.UnattributedEvents);
        var writer = new StateWriter();
        ledger.WriteTo(writer);
        Assert.DoesNotContain("alice", System.Text.Encoding.UTF8.GetString(writer.ToArray(1)), StringComparison.Ordinal);
    }

    [Fact]
    public void OldAnswersLeave_ByAgeAndByCapacity()
    {
        var ledger = new OnlineLedger(TimeSpan.FromMinutes(30), 3);
        var first = RequestId.New(Noon);
        ledger.Record(first, OnlineSurface.Search, "alice", null, Shown("a"));
        for (var i = 1; i <= 3; i++) ledger.Record(RequestId.New(Noon.AddMinutes(i)), OnlineSurface.Search, "alice", null, Shown("a"));
        Assert.Equal(3, ledger.AnswerCount);
        Assert.Null(ledger.Lookup(first));
        // The window and an hour after the newest, every answer is gone.
        ledger.Record(RequestId.New(Noon.AddMinutes(3 + 91)), OnlineSurface.Search, "bob", null, Shown("a"));
        Assert.Equal(1, ledger.AnswerCount);
        // Served counts stay.
        Assert.Equal(5, Total(ledger).Served);
    }

    [Fact]
    public void Query_TakesTheHoursThatOverlapTheRange_AndGroupsByHour()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        ledger.Record(RequestId.New(Noon.AddMinutes(5)), OnlineSurface.Search, null, null, Shown("a"));
        ledger.Record(RequestId.New(Noon.AddMinutes(65)), OnlineSurface.Search, null, null, Shown("a", "b"));
        ledger.Record(RequestId.New(Noon.AddMinutes(125)), OnlineSurface.Search, null, null, Shown("a", "b", "c"));
        var rows = ledger.Query(Noon.AddMinutes(30), Noon.AddMinutes(70), OnlineDimensions.Hour);
        Assert.Equal([(Noon, 1L), (Noon.AddHours(1), 2L)], rows.Select(r => (r.Hour!.Value, r.Counts.Served)));
        Assert.Empty(ledger.Query(Noon.AddHours(5), Noon.AddHours(6), OnlineDimensions.None));
    }

    [Fact]
    public void WrittenAndRead_TheLedgerCountsAndAttributesAsBefore()
    {
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        var id = RequestId.New(Noon);
        ledger.Record(id, OnlineSurface.Similar, "alice", "exp/b", Shown("a", "b"));
        ledger.Apply(Event("alice", EventType.Impression, "a", Noon, id.ToString(), 1), Prices);
        ledger.Apply(Event("alice", EventType.Click, "zz", Noon), Prices);
        var writer = new StateWriter();
        ledger.WriteTo(writer);
        var restored = new OnlineLedger(TimeSpan.FromDays(1), 1000);
        var reader = StateReader.Open(writer.ToArray(1), 1)!;
        restored.ReadFrom(reader);
        Assert.True(reader.AtEnd);

        var all = OnlineDimensions.Surface | OnlineDimensions.Source | OnlineDimensions.Position | OnlineDimensions.Variant | OnlineDimensions.Hour;
        Assert.Equal(Flatten(ledger.Query(Noon.AddDays(-1), Noon.AddDays(1), all)), Flatten(restored.Query(Noon.AddDays(-1), Noon.AddDays(1), all)));
        Assert.Equal(1, restored.UnattributedEvents);
        // The impression was marked: sent again, it is not counted again; the purchase still finds its answer.
        restored.Apply(Event("alice", EventType.Impression, "a", Noon, id.ToString(), 1), Prices);
        restored.Apply(Event("alice", EventType.Purchase, "b", Noon.AddMinutes(3)), Prices);
        var total = Total(restored);
        Assert.Equal((1L, 1L), (total.Impressions, total.Purchases));
    }

    private static List<string> Flatten(IReadOnlyList<OnlineCountsRow> rows) =>
        rows.Select(r => $"{r.Surface}|{r.Source}|{r.Position}|{r.Variant}|{r.Hour:O}|{r.Counts.Served}|{r.Counts.Impressions}|{r.Counts.Clicks}|{r.Counts.Carts}|{r.Counts.Purchases}|{r.Counts.Revenue}").ToList();
}
