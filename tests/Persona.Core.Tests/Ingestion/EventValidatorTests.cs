using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Tests.Ingestion;

public class EventValidatorTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly EventValidator _validator = new(new IngestionOptions());

    private static Event Valid(EventType type = EventType.View) => new()
    {
        Id = "e1",
        UserId = "u1",
        Type = type,
        ItemId = type == EventType.Search ? null : "i1",
        Query = type == EventType.Search ? "red lipstick" : null,
        Value = type == EventType.Rate ? 4 : 1,
        Timestamp = Now.AddHours(-1),
        SessionId = "s1",
        Device = "mobile",
        Channel = "app",
    };

    private static readonly Dictionary<string, Func<Event, Event>> Mutations = new()
    {
        ["blank user"] = e => e with { UserId = "  " },
        ["long user"] = e => e with { UserId = new string('u', 129) },
        ["multibyte user"] = e => e with { UserId = new string('用', 43) }, // 129 UTF-8 bytes
        ["control in user"] = e => e with { UserId = "u\u0001" },
        ["blank id"] = e => e with { Id = " " },
        ["long id"] = e => e with { Id = new string('x', 200) },
        ["missing item"] = e => e with { ItemId = null },
        ["blank item"] = e => e with { ItemId = "" },
        ["nan value"] = e => e with { Value = double.NaN },
        ["infinite value"] = e => e with { Value = double.PositiveInfinity },
        ["negative value"] = e => e with { Value = -1 },
        ["huge value"] = e => e with { Value = 2e9 },
        ["future"] = e => e with { Timestamp = Now.AddDays(1).AddMinutes(1) },
        ["ancient"] = e => e with { Timestamp = new DateTimeOffset(1999, 12, 31, 0, 0, 0, TimeSpan.Zero) },
        ["long query"] = e => e with { Query = new string('q', 513) },
        ["control in query"] = e => e with { Query = "a\u0007b" },
        ["blank session"] = e => e with { SessionId = "" },
        ["long device"] = e => e with { Device = new string('d', 129) },
        ["control in channel"] = e => e with { Channel = "a\u0000" },
        ["undefined type"] = e => e with { Type = (EventType)42 },
        ["position without request"] = e => e with { Position = 2 },
        ["position zero"] = e => e with { RequestId = "rq_1", Position = 0 },
        ["position too deep"] = e => e with { RequestId = "rq_1", Position = EventValidator.MaxPosition + 1 },
        ["control in request"] = e => e with { RequestId = "rq\u0001" },
    };

    [Theory]
    [InlineData("blank user", "user_id")]
    [InlineData("long user", "user_id")]
    [InlineData("multibyte user", "user_id")]
    [InlineData("control in user", "user_id")]
    [InlineData("blank id", "id")]
    [InlineData("long id", "id")]
    [InlineData("missing item", "item_id")]
    [InlineData("blank item", "item_id")]
    [InlineData("nan value", "value")]
    [InlineData("infinite value", "value")]
    [InlineData("negative value", "value")]
    [InlineData("huge value", "value")]
    [InlineData("future", "timestamp")]
    [InlineData("ancient", "timestamp")]
    [InlineData("long query", "query")]
    [InlineData("control in query", "query")]
    [InlineData("blank session", "session_id")]
    [InlineData("long device", "device")]
    [InlineData("control in channel", "channel")]
    [InlineData("undefined type", "type")]
    [InlineData("position without request", "position")]
    [InlineData("position zero", "position")]
    [InlineData("position too deep", "position")]
    [InlineData("control in request", "request_id")]
    public void Validate_BrokenField_ReportsFieldAndIndex(string mutation, string field)
    {
        var batch = new[] { Valid(), Valid(), Mutations[mutation](Valid()) };

        var errors = _validator.Validate(batch, Now);

        var error = Assert.Single(errors);
        Assert.Equal(2, error.Index);
        Assert.Equal(field, error.Field);
        Assert.Equal($"events[2].{field}", error.Path("events"));
    }

    [Fact]
    public void Validate_ValidEventsOfEveryType_NoErrors()
    {
        var batch = Enum.GetValues<EventType>().Select(Valid).ToArray();

        Assert.Empty(_validator.Validate(batch, Now));
    }

    [Fact]
    public void Validate_LimitsExactlyReached_NoErrors()
    {
        var e = Valid(EventType.Search) with
        {
            UserId = new string('用', 42) + "ab", // 128 bytes
            Query = new string('q', 512),
            Value = 1e9,
            Timestamp = Now.AddDays(1),
        };

        Assert.Empty(_validator.Validate([e, Valid() with { Timestamp = IngestionOptions.DefaultMinTimestamp }], Now));
    }

    [Fact]
    public void Validate_SearchWithoutQuery_ReportsQuery()
    {
        var errors = _validator.Validate([Valid(EventType.Search) with { Query = "  " }], Now);

        var error = Assert.Single(errors);
        Assert.Equal((0, "query"), (error.Index!.Value, error.Field));
    }

    [Fact]
    public void Validate_SearchWithoutItem_Accepted()
    {
        Assert.Empty(_validator.Validate([Valid(EventType.Search) with { ItemId = null }], Now));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(5.5)]
    [InlineData(null)]
    public void Validate_RateOutsideRange_ReportsValue(double? rating)
    {
        var errors = _validator.Validate([Valid(EventType.Rate) with { Value = rating }], Now);

        Assert.Equal("value", Assert.Single(errors).Field);
    }

    [Fact]
    public void Validate_ManyBrokenEvents_CollectsEveryError()
    {
        var batch = new[]
        {
            Valid() with { UserId = "", ItemId = null, Value = -1 },
            Valid(),
            Valid() with { Timestamp = Now.AddDays(3), Device = "" },
        };

        var errors = _validator.Validate(batch, Now);

        Assert.Equal(
            new[] { (0, "user_id"), (0, "value"), (0, "item_id"), (2, "timestamp"), (2, "device") }.Order(),
            errors.Select(e => (e.Index!.Value, e.Field)).Order());
    }

    [Fact]
    public void Validate_EmptyBatch_ReportsBatch()
    {
        var error = Assert.Single(_validator.Validate([], Now));

        Assert.Null(error.Index);
        Assert.Equal("events", error.Field);
    }

    [Fact]
    public void Validate_OversizedBatch_ReportsBatchAndStillChecksEvents()
    {
        var validator = new EventValidator(new IngestionOptions { MaxBatchSize = 2 });
        var batch = new[] { Valid(), Valid(), Valid() with { UserId = "" } };

        var errors = validator.Validate(batch, Now);

        Assert.Contains(errors, e => e.Index is null && e.Field == "events");
        Assert.Contains(errors, e => e.Index == 2 && e.Field == "user_id");
    }

    [Fact]
    public void ValidateRaw_UnknownType_ReportsTypeWithIndexAndOtherErrors()
    {
        var batch = new[]
        {
            new RawEvent { UserId = "u1", Type = "view", ItemId = "i1" },
            new RawEvent { UserId = null, Type = "teleport", ItemId = "i1" },
            new RawEvent { UserId = "u2", Type = null },
        };

        var result = _validator.ValidateRaw(batch, Now);

        Assert.False(result.IsValid);
        Assert.Empty(result.Events);
        Assert.Equal(
            new[] { (1, "type"), (1, "user_id"), (2, "type") }.Order(),
            result.Errors.Select(e => (e.Index!.Value, e.Field)).Order());
        Assert.Contains("teleport", result.Errors.First(e => e.Index == 1 && e.Field == "type").Message);
    }

    [Fact]
    public void ValidateRaw_ValidBatch_ParsesTypesCaseInsensitively()
    {
        var batch = new[]
        {
            new RawEvent { UserId = "u1", Type = " Add_To_Cart ", ItemId = "i1", Value = 2 },
            new RawEvent { UserId = "u1", Type = "search", Query = "口红" },
        };

        var result = _validator.ValidateRaw(batch, Now);

        Assert.True(result.IsValid);
        Assert.Equal([EventType.AddToCart, EventType.Search], result.Events.Select(e => e.Type));
        Assert.Equal(2, result.Events[0].Value);
    }

    [Fact]
    public void ValidateRaw_RequestAndPosition_ReachTheEvent_AFractionalPositionIsRefused()
    {
        var shown = new RawEvent { UserId = "u1", Type = "click", ItemId = "i1", RequestId = "rq_7", Position = 3 };

        var ok = _validator.ValidateRaw([shown], Now);
        var fractional = _validator.ValidateRaw([shown, shown with { Position = 2.5 }], Now);

        Assert.True(ok.IsValid);
        Assert.Equal("rq_7", ok.Events[0].RequestId);
        Assert.Equal(3, ok.Events[0].Position);
        var error = Assert.Single(fractional.Errors);
        Assert.Equal((1, "position"), (error.Index, error.Field));
        Assert.Empty(fractional.Events);
    }

    [Fact]
    public void Options_Defaults_AreValid()
    {
        Assert.Empty(new IngestionOptions().Validate());
    }

    [Fact]
    public void Options_BrokenValues_ReportEachProblem()
    {
        var options = new IngestionOptions { MaxBatchSize = 0, BurstEventsPerMinute = -1, MaxValue = double.NaN, MinRating = 6 };

        Assert.Equal(4, options.Validate().Count);
    }
}
