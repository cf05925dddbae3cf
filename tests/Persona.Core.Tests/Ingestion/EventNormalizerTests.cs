using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Tests.Ingestion;

public class EventNormalizerTests
{
    private static readonly DateTimeOffset Received = new(2024, 6, 1, 12, 0, 0, 123, TimeSpan.Zero);

    private static Event Sample() => new()
    {
        UserId = "u1",
        Type = EventType.Purchase,
        ItemId = "i1",
        Query = null,
        Value = 99.5,
        Timestamp = new DateTimeOffset(2024, 6, 1, 10, 0, 0, TimeSpan.Zero),
        SessionId = "s1",
    };

    [Fact]
    public void Normalize_PaddedFields_TrimsAndLowerCases()
    {
        var e = Sample() with
        {
            Id = "  e-1 ",
            UserId = " u1\t",
            ItemId = " i1 ",
            SessionId = "   ",
            Device = " Mobile ",
            Channel = "APP",
            Query = "  red \t  lipstick\n",
        };

        var stored = EventNormalizer.Normalize(e, Received);

        Assert.Equal("e-1", stored.Id);
        Assert.Equal("u1", stored.UserId);
        Assert.Equal("i1", stored.ItemId);
        Assert.Null(stored.SessionId);
        Assert.Equal("mobile", stored.Device);
        Assert.Equal("app", stored.Channel);
        Assert.Equal("red lipstick", stored.Query);
        Assert.Null(stored.ExcludedReason);
        Assert.Equal(0, stored.Sequence);
    }

    [Fact]
    public void Normalize_MissingTimestamp_UsesReceivedTime()
    {
        var stored = EventNormalizer.Normalize(Sample() with { Timestamp = null }, Received);

        Assert.Equal(Received, stored.Timestamp);
        Assert.Equal(Received, stored.ReceivedAt);
    }

    [Fact]
    public void Normalize_OffsetAndSubMillisecondTimestamp_UtcWholeMilliseconds()
    {
        var local = new DateTimeOffset(2024, 6, 1, 18, 0, 0, 5, TimeSpan.FromHours(8)).AddTicks(4321);

        var stored = EventNormalizer.Normalize(Sample() with { Timestamp = local }, Received);

        Assert.Equal(TimeSpan.Zero, stored.Timestamp.Offset);
        Assert.Equal(new DateTimeOffset(2024, 6, 1, 10, 0, 0, 5, TimeSpan.Zero), stored.Timestamp);
    }

    [Fact]
    public void Normalize_NoId_ContentIdIsStableAcrossRetriesAndPadding()
    {
        var a = EventNormalizer.Normalize(Sample(), Received);
        var b = EventNormalizer.Normalize(Sample() with { UserId = " u1 ", Device = "desktop" }, Received.AddMinutes(5));

        Assert.StartsWith(EventNormalizer.ContentIdPrefix, a.Id);
        Assert.Equal(34, a.Id.Length);
        Assert.Equal(a.Id, b.Id);
    }

    [Fact]
    public void Normalize_NoId_AnyContentChangeChangesId()
    {
        var baseId = EventNormalizer.Normalize(Sample(), Received).Id;
        var variants = new[]
        {
            Sample() with { UserId = "u2" },
            Sample() with { Type = EventType.AddToCart },
            Sample() with { ItemId = "i2" },
            Sample() with { ItemId = null },
            Sample() with { Query = "x" },
            Sample() with { Value = 99.51 },
            Sample() with { Value = null },
            Sample() with { Timestamp = Sample().Timestamp!.Value.AddMilliseconds(1) },
            Sample() with { SessionId = "s2" },
            Sample() with { SessionId = null },
        };

        var ids = variants.Select(v => EventNormalizer.Normalize(v, Received).Id).ToList();

        Assert.DoesNotContain(baseId, ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void ContentId_RequestAndPosition_SeparateImpressions_AndLeaveOtherIdsAsTheyWere()
    {
        var plain = EventNormalizer.ContentId("u", EventType.Impression, "i", null, null, Received, null);
        var first = EventNormalizer.ContentId("u", EventType.Impression, "i", null, null, Received, null, "rq_1", 1);
        var second = EventNormalizer.ContentId("u", EventType.Impression, "i", null, null, Received, null, "rq_2", 1);

        Assert.Equal(plain, EventNormalizer.ContentId("u", EventType.Impression, "i", null, null, Received, null, null, null));
        Assert.NotEqual(first, second);
        Assert.NotEqual(plain, first);
        var normalized = EventNormalizer.Normalize(new Event { UserId = "u", Type = EventType.Click, ItemId = "i", RequestId = " rq_1 ", Position = 2 }, Received);
        Assert.Equal(("rq_1", 2), (normalized.RequestId, normalized.Position));
    }

    [Fact]
    public void ContentId_FieldBoundariesShifted_Differs()
    {
        var a = EventNormalizer.ContentId("ab", EventType.View, "c", null, null, Received, null);
        var b = EventNormalizer.ContentId("a", EventType.View, "bc", null, null, Received, null);

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void NormalizeBatch_ExactDuplicates_CollapseToOne()
    {
        var batch = new[] { Sample(), Sample() with { ItemId = "i2" }, Sample(), Sample() with { Id = "x" }, Sample() with { Id = "x", Value = 1 } };

        var stored = EventNormalizer.NormalizeBatch(batch, Received, out var duplicates);

        Assert.Equal(3, stored.Count);
        Assert.Equal(2, duplicates);
        Assert.Equal(["i1", "i2", "i1"], stored.Select(s => s.ItemId));
    }
}
