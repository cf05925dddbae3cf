using Persona.Core.Ranking;

namespace Persona.Core.Tests.Recommendations;

public sealed class AnswerCacheTests
{
    private static readonly CacheStamp Stamp = new(1, 7);

    [Fact]
    public void TryGet_SameKeyVariantAndStamp_ReturnsTheAnswer()
    {
        var cache = new AnswerCache<string>(TimeSpan.FromHours(1), capacity: 100);
        cache.Set("u1", "n=10", Stamp, "answer");

        Assert.True(cache.TryGet("u1", "n=10", Stamp, out var hit));
        Assert.Equal("answer", hit);
        Assert.False(cache.TryGet("u1", "n=5", Stamp, out _));
        Assert.False(cache.TryGet("u2", "n=10", Stamp, out _));
        Assert.False(cache.TryGet("u1", "n=10", Stamp with { Own = 8 }, out _));
        Assert.False(cache.TryGet("u1", "n=10", Stamp with { Epoch = 2 }, out _));
    }

    [Fact]
    public async Task TryGet_OlderThanTheTimeToLive_Misses()
    {
        var cache = new AnswerCache<string>(TimeSpan.FromMilliseconds(50), capacity: 100);
        cache.Set("u1", "", Stamp, "answer");
        await Task.Delay(120);

        Assert.False(cache.TryGet("u1", "", Stamp, out _));
    }

    [Fact]
    public void Set_ZeroTimeToLive_KeepsNothing()
    {
        var cache = new AnswerCache<string>(TimeSpan.Zero, capacity: 100);
        cache.Set("u1", "", Stamp, "answer");

        Assert.False(cache.Enabled);
        Assert.False(cache.TryGet("u1", "", Stamp, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Set_ManyKeys_HoldsAtMostTheCapacityAndKeepsRecentlyReadKeys()
    {
        var cache = new AnswerCache<string>(TimeSpan.FromHours(1), capacity: 10);
        cache.Set("kept", "", Stamp, "kept");
        for (var i = 0; i < 100; i++)
        {
            cache.Set($"k{i}", "", Stamp, $"a{i}");
            Assert.True(cache.TryGet("kept", "", Stamp, out _), $"the key read every round was dropped at round {i}");
            Assert.InRange(cache.Count, 1, 10 + 1);
        }
        Assert.False(cache.TryGet("k0", "", Stamp, out _));
    }

    [Fact]
    public void Set_MoreVariantsThanKept_NewestReplaceTheOldest()
    {
        var cache = new AnswerCache<string>(TimeSpan.FromHours(1), capacity: 10);
        for (var v = 0; v <= AnswerCache<string>.VariantsPerKey; v++) cache.Set("u1", $"v{v}", Stamp, $"a{v}");

        Assert.False(cache.TryGet("u1", "v0", Stamp, out _));
        for (var v = 1; v <= AnswerCache<string>.VariantsPerKey; v++) Assert.True(cache.TryGet("u1", $"v{v}", Stamp, out _));
        Assert.Equal(AnswerCache<string>.VariantsPerKey, cache.Remove("u1"));
        Assert.False(cache.TryGet("u1", "v1", Stamp, out _));
    }

    [Fact]
    public async Task GetOrCompute_ManyCallersAtOnce_ComputeOnce_AndAFailureIsNotHeld()
    {
        var cache = new AnswerCache<string>(TimeSpan.FromMinutes(1), capacity: 16);
        var computed = 0;
        using var release = new ManualResetEventSlim(false);
        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(() => cache.GetOrCompute("q", "v", new CacheStamp(1, 0), () =>
        {
            Interlocked.Increment(ref computed);
            release.Wait(TimeSpan.FromSeconds(10));
            return "answer";
        }))).ToArray();
        await Task.Delay(200);
        release.Set();
        Assert.All(await Task.WhenAll(callers), answer => Assert.Equal("answer", answer));
        Assert.Equal(1, computed);
        Assert.Equal("answer", cache.GetOrCompute("q", "v", new CacheStamp(1, 0), () => throw new InvalidOperationException("held, not computed")));

        Assert.Throws<InvalidOperationException>(() => cache.GetOrCompute("q", "v", new CacheStamp(2, 0), () => throw new InvalidOperationException("boom")));
        Assert.Equal("again", cache.GetOrCompute("q", "v", new CacheStamp(2, 0), () => "again"));
    }
}
