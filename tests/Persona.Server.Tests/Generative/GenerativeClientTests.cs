using Microsoft.Extensions.AI;
using Persona.Generative;

namespace Persona.Server.Tests.Generative;

/// <summary>The client against a real (fake) OpenAI-compatible server: what it sends, what it reports, how it fails.</summary>
public sealed class GenerativeClientTests
{
    private static GenerativeOptions Options(FakeChatServer server, double timeoutSeconds = 5, int concurrency = 4) => new()
    {
        BaseUrl = server.BaseUrl, Model = "qwen-test", ApiKey = "sk-secret-123", TimeoutSeconds = timeoutSeconds, MaxConcurrency = concurrency,
    };

    [Fact]
    public async Task Check_SendsTheModelAndKey_AndReportsWhatAnswered()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = _ => FakeReply.Say("ready", model: "qwen-test-0.5b");
        using var client = new GenerativeClient(Options(server));

        var check = await client.CheckAsync(CancellationToken.None);

        Assert.True(check.Ok, check.Detail);
        Assert.Equal("qwen-test-0.5b", check.AnsweredBy);
        Assert.Contains("ready", check.Detail, StringComparison.Ordinal);
        var (path, authorization, body) = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", path);
        Assert.Equal("Bearer sk-secret-123", authorization);
        Assert.Equal("qwen-test", body.GetProperty("model").GetString());
        Assert.Equal(["system", "user"], body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
    }

    [Theory]
    [InlineData(401, "the key was refused")]
    [InlineData(500, "HTTP 500")]
    public async Task Check_AnErrorStatus_IsReportedWithoutTheKey(int status, string expected)
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = _ => new FakeReply(status, """{"error":{"message":"nope","type":"invalid_request_error"}}""");
        using var client = new GenerativeClient(Options(server));

        var check = await client.CheckAsync(CancellationToken.None);

        Assert.False(check.Ok);
        Assert.Contains(expected, check.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret-123", check.Detail, StringComparison.Ordinal);
        // No retries: one request, so a failing endpoint costs one timeout at most.
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task TheDailyBudget_StopsCallsUntilMidnightUtc_AndCachedAnswersDoNotCount()
    {
        await using var server = await FakeChatServer.StartAsync();
        var time = new ManualTime(new DateTimeOffset(2026, 12, 8, 23, 0, 0, TimeSpan.Zero));
        var options = Options(server);
        options.MaxCallsPerDay = 2;
        using var client = new GenerativeClient(options, time: time);
        ChatMessage[] ask(string text) => [new ChatMessage(ChatRole.User, text)];

        await client.CompleteAsync(ask("one"), null, CancellationToken.None);
        await client.CompleteCachedAsync(ask("two"), null, _ => true, CancellationToken.None);
        var (_, cached) = await client.CompleteCachedAsync(ask("two"), null, _ => true, CancellationToken.None);
        var spent = await Assert.ThrowsAsync<GenerativeUnavailableException>(() => client.CompleteAsync(ask("three"), null, CancellationToken.None));

        Assert.True(cached);
        Assert.Equal(2, client.CallsToday);
        Assert.Contains("daily budget of 2 calls", spent.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.Requests.Count);
        time.Now = time.Now.AddHours(1);
        Assert.Equal(0, client.CallsToday);
        await client.CompleteAsync(ask("three"), null, CancellationToken.None);
        Assert.Equal(3, server.Requests.Count);
    }

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task ASlowEndpoint_TimesOut_AsUnavailable()
    {
        await using var server = await FakeChatServer.StartAsync();
        server.Reply = _ => FakeReply.Say("late", delay: TimeSpan.FromSeconds(5));
        using var client = new GenerativeClient(Options(server, timeoutSeconds: 0.3));

        var started = DateTime.UtcNow;
        var failure = await Assert.ThrowsAsync<GenerativeUnavailableException>(() =>
            client.CompleteAsync([new ChatMessage(ChatRole.User, "hello")], null, CancellationToken.None));

        Assert.Contains("did not answer within 0.3 s", failure.Message, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task AnUnreachableEndpoint_IsUnavailable()
    {
        int port;
        await using (var server = await FakeChatServer.StartAsync()) port = new Uri(server.BaseUrl).Port;
        using var client = new GenerativeClient(new GenerativeOptions { BaseUrl = $"http://127.0.0.1:{port}/v1", Model = "m", TimeoutSeconds = 2 });

        var check = await client.CheckAsync(CancellationToken.None);

        Assert.False(check.Ok);
        Assert.Contains("could not be reached", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreValidated_AndOffWithoutABaseUrl()
    {
        Assert.False(new GenerativeOptions().Enabled);
        Assert.Empty(new GenerativeOptions().Validate());
        var problems = new GenerativeOptions { BaseUrl = "ftp://x", TimeoutSeconds = 0, MaxConcurrency = 0 }.Validate();
        Assert.Contains(problems, p => p.StartsWith("BaseUrl", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Model", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("TimeoutSeconds", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("MaxConcurrency", StringComparison.Ordinal));
        Assert.Throws<InvalidOperationException>(() => new GenerativeClient(new GenerativeOptions()));
    }
}
