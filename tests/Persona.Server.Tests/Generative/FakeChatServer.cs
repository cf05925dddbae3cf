using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Persona.Server.Tests.Generative;

/// <summary>What the fake endpoint answers to one request: a status, a body, after a delay.</summary>
internal sealed record FakeReply(int Status, string Body, TimeSpan Delay = default)
{
    /// <summary>A well-formed chat completion saying <paramref name="text"/>.</summary>
    public static FakeReply Say(string text, string model = "fake-model", TimeSpan delay = default) => new(200, JsonSerializer.Serialize(new
    {
        id = "chatcmpl-test",
        @object = "chat.completion",
        created = 1_765_000_000,
        model,
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
        usage = new { prompt_tokens = 10, completion_tokens = 2, total_tokens = 12 },
    }), delay);
}

/// <summary>
/// A small OpenAI-compatible server for the tests (docs/generative.md): answers <c>POST /v1/chat/completions</c> with
/// what the test tells it, and keeps every request it received (path, Authorization header, JSON body) to be checked.
/// </summary>
internal sealed class FakeChatServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeChatServer(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Path, string? Authorization, JsonElement Body)> Requests { get; } = new();

    /// <summary>The reply to the next request; replaced by a test at will.</summary>
    public Func<JsonElement, FakeReply> Reply { get; set; } = _ => FakeReply.Say("ready");

    public string BaseUrl => _app.Urls.First() + "/v1";

    public static async Task<FakeChatServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeChatServer(app);
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var element = body.RootElement.Clone();
            server.Requests.Enqueue((context.Request.Path, context.Request.Headers.Authorization.ToString(), element));
            var reply = server.Reply(element);
            if (reply.Delay > TimeSpan.Zero)
            {
                try { await Task.Delay(reply.Delay, context.RequestAborted); }
                catch (OperationCanceledException) { return; }
            }
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(reply.Body);
        });
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
