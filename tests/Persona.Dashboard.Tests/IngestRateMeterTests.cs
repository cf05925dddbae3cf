using FsCheck;
using FsCheck.Fluent;
using Persona.Abstractions;
using Persona.Server.Dashboard;

namespace Persona.Dashboard.Tests;

public sealed class IngestRateMeterTests
{
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static StoredEvent[] Batch(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new StoredEvent { Id = $"e{i}", UserId = "u", Type = EventType.View, ItemId = "i", Timestamp = Start })];

    [Fact]
    public void PerSecond_BatchesInTwoSeconds_LandInTheLastTwoBuckets()
    {
        var time = new ManualTime(Start);
        var meter = new IngestRateMeter(time);
        meter.OnEventsStored(Batch(3));
        time.Now = Start.AddSeconds(1);
        meter.OnEventsStored(Batch(4));
        meter.OnEventsStored(Batch(1));

        var series = meter.PerSecond();
        Assert.Equal(IngestRateMeter.WindowSeconds, series.Length);
        Assert.Equal(5, series[^1]);
        Assert.Equal(3, series[^2]);
        Assert.Equal(8, series.Sum());
    }

    [Fact]
    public void PerSecond_AfterTheWindowPasses_ForgetsOldEvents()
    {
        var time = new ManualTime(Start);
        var meter = new IngestRateMeter(time);
        meter.OnEventsStored(Batch(10));
        time.Now = Start.AddSeconds(IngestRateMeter.WindowSeconds);
        Assert.Equal(0, meter.PerSecond().Sum());
        meter.OnEventsStored(Batch(2));
        Assert.Equal(2, meter.PerSecond().Sum());
    }

    [Fact]
    public void PerSecond_AnyArrivalPattern_EqualsCountingTheLastMinuteDirectly()
    {
        // Arrivals as (seconds after the previous batch, batch size); the window must equal a plain recount.
        var prop = Prop.ForAll(
            Gen.Zip(Gen.Choose(0, 90), Gen.Choose(0, 20)).ListOf().ToArbitrary(),
            arrivals =>
            {
                var time = new ManualTime(Start);
                var meter = new IngestRateMeter(time);
                var log = new List<(long Second, int Count)>();
                foreach (var (gap, size) in arrivals)
                {
                    time.Now = time.Now.AddSeconds(gap);
                    meter.OnEventsStored(Batch(size));
                    log.Add((time.Now.ToUnixTimeSeconds(), size));
                }
                var now = time.Now.ToUnixTimeSeconds();
                var expected = log.Where(a => a.Second > now - IngestRateMeter.WindowSeconds).Sum(a => (long)a.Count);
                return meter.PerSecond().Sum() == expected;
            });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), prop);
    }
}
