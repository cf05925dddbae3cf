using Persona.Abstractions;
using Persona.Core.Ingestion;

namespace Persona.Core.Tests.Ingestion;

public class BurstDetectorTests
{
    private static readonly DateTimeOffset Minute = new(2024, 6, 1, 12, 30, 0, TimeSpan.Zero);
    private static int _ids;

    private static StoredEvent At(DateTimeOffset t, string user = "u1") => new()
    {
        Id = "e" + Interlocked.Increment(ref _ids),
        UserId = user,
        Type = EventType.View,
        ItemId = "i1",
        Timestamp = t,
    };

    [Fact]
    public void Apply_LimitReachedWithinMinute_FlagsOnlyTheExtraEvents()
    {
        var detector = new BurstDetector(5, TimeSpan.FromHours(2));

        var results = Enumerable.Range(0, 7).Select(i => detector.Apply(At(Minute.AddSeconds(i * 8)))).ToList();

        Assert.All(results.Take(5), e => Assert.Null(e.ExcludedReason));
        Assert.All(results.Skip(5), e => Assert.Equal(BurstDetector.Reason, e.ExcludedReason));
    }

    [Fact]
    public void Apply_NextMinuteAndOtherUsers_CountSeparately()
    {
        var detector = new BurstDetector(2, TimeSpan.FromHours(2));
        detector.Apply(At(Minute));
        detector.Apply(At(Minute.AddSeconds(59)));

        Assert.Equal(BurstDetector.Reason, detector.Apply(At(Minute.AddSeconds(30))).ExcludedReason);
        Assert.Null(detector.Apply(At(Minute.AddSeconds(30), "u2")).ExcludedReason);
        Assert.Null(detector.Apply(At(Minute.AddMinutes(1))).ExcludedReason);
        Assert.Null(detector.Apply(At(Minute.AddMinutes(1).AddSeconds(59))).ExcludedReason);
        Assert.Equal(BurstDetector.Reason, detector.Apply(At(Minute.AddMinutes(1).AddSeconds(10))).ExcludedReason);
    }

    [Fact]
    public void Apply_FlaggedEventsDoNotCount_SecondMinuteStartsFresh()
    {
        var detector = new BurstDetector(1, TimeSpan.FromHours(2));
        for (var i = 0; i < 50; i++) detector.Apply(At(Minute));

        Assert.Null(detector.Apply(At(Minute.AddMinutes(1))).ExcludedReason);
    }

    [Fact]
    public void Apply_Disabled_NeverFlags()
    {
        var detector = new BurstDetector(new IngestionOptions { BurstEventsPerMinute = 0 });

        Assert.All(Enumerable.Range(0, 500).Select(_ => detector.Apply(At(Minute))), e => Assert.Null(e.ExcludedReason));
    }

    [Fact]
    public void Apply_AlreadyExcluded_KeepsReasonAndDoesNotCount()
    {
        var detector = new BurstDetector(1, TimeSpan.FromHours(2));
        var other = At(Minute) with { ExcludedReason = "test" };

        Assert.Equal("test", detector.Apply(other).ExcludedReason);
        Assert.Null(detector.Apply(At(Minute)).ExcludedReason);
    }

    [Fact]
    public void Apply_LateEventOlderThanWindow_NotFlagged()
    {
        var detector = new BurstDetector(1, TimeSpan.FromHours(2));
        detector.Apply(At(Minute.AddHours(-3)));
        detector.Apply(At(Minute));

        // The 3-hours-old minute is already full, but it lies outside the window now.
        Assert.Null(detector.Apply(At(Minute.AddHours(-3))).ExcludedReason);
        // A late event inside the window is still judged.
        detector.Apply(At(Minute.AddMinutes(-30)));
        Assert.Equal(BurstDetector.Reason, detector.Apply(At(Minute.AddMinutes(-30))).ExcludedReason);
    }

    [Fact]
    public void Observe_StoredEvents_RePrimeTheCounts()
    {
        var stored = Enumerable.Range(0, 3).Select(i => At(Minute.AddSeconds(i))).ToList();
        stored.Add(At(Minute) with { ExcludedReason = BurstDetector.Reason });
        var detector = new BurstDetector(3, TimeSpan.FromHours(2));

        foreach (var e in stored) detector.Observe(e);

        Assert.Equal(BurstDetector.Reason, detector.Apply(At(Minute.AddSeconds(40))).ExcludedReason);
        Assert.Null(detector.Apply(At(Minute.AddMinutes(1))).ExcludedReason);
    }

    [Fact]
    public void Apply_IdleUsers_AreForgottenAfterTheWindow()
    {
        var detector = new BurstDetector(3, TimeSpan.FromHours(1));
        for (var u = 0; u < 100; u++) detector.Apply(At(Minute, "idle" + u));
        Assert.Equal(100, detector.TrackedUsers);

        detector.Apply(At(Minute.AddHours(2), "active"));
        detector.Apply(At(Minute.AddHours(3), "active"));

        Assert.Equal(1, detector.TrackedUsers);
    }

    [Fact]
    public void Apply_HistoryOutOfTimeOrder_StaleUsersAreForgottenWhileTheClockStands()
    {
        var detector = new BurstDetector(3, TimeSpan.FromHours(1));
        // The newest minute comes first, as in an import that is not sorted by time; then it never moves again.
        detector.Apply(At(Minute.AddDays(2), "newest"));
        for (var u = 0; u < 20_000; u++) detector.Apply(At(Minute.AddMinutes(u % 600), "old" + u));

        // Sweeps run as the users tracked double, so at most the last doubling's newcomers remain.
        Assert.InRange(detector.TrackedUsers, 1, 10_000);
        // A fresh user inside the window is still judged.
        for (var i = 0; i < 3; i++) detector.Apply(At(Minute.AddDays(2), "fresh"));
        Assert.Equal(BurstDetector.Reason, detector.Apply(At(Minute.AddDays(2), "fresh")).ExcludedReason);
    }

    [Fact]
    public void EncodeAndRestore_KeepOnlyUsersInsideTheWindow()
    {
        var detector = new BurstDetector(2, TimeSpan.FromHours(1));
        for (var u = 0; u < 50; u++) detector.Apply(At(Minute, "old" + u));
        detector.Apply(At(Minute.AddHours(3), "recent"));
        detector.Apply(At(Minute.AddHours(3), "recent"));

        var restored = new BurstDetector(2, TimeSpan.FromHours(1));
        Assert.True(restored.Restore(detector.Encode()));

        Assert.Equal(1, restored.TrackedUsers);
        Assert.Equal(BurstDetector.Reason, restored.Apply(At(Minute.AddHours(3), "recent")).ExcludedReason);
    }

    [Fact]
    public void Apply_ConcurrentThreads_CountExactlyTheLimitPerUserMinute()
    {
        const int limit = 50;
        var detector = new BurstDetector(limit, TimeSpan.FromHours(2));
        var users = Enumerable.Range(0, 8).Select(u => "u" + u).ToArray();
        var counted = new int[users.Length];

        Parallel.For(0, 8000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var user = i % users.Length;
            var minute = (i / users.Length) % 5;
            var e = detector.Apply(At(Minute.AddMinutes(minute).AddSeconds(i % 60), users[user]));
            if (e.ExcludedReason is null) Interlocked.Increment(ref counted[user]);
        });

        // 1000 events per user spread over 5 minutes: exactly 50 count in each minute.
        Assert.All(counted, c => Assert.Equal(limit * 5, c));
    }
}
