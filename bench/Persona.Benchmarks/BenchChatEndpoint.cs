using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Persona.Benchmarks;

/// <summary>
/// An OpenAI-compatible endpoint in this process on 127.0.0.1 for the generative probes: every chat completion answers,
/// after the delay, the content <c>answer</c> makes of the request's JSON body.
/// </summary>
internal sealed class BenchChatEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchChatEndpoint(WebApplication app) => _app = app;

    public string BaseUrl => _app.Urls.First() + "/v1";

    public static async Task<BenchChatEndpoint> StartAsync(TimeSpan delay, Func<JsonElement, string> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var content = answer(request.RootElement);
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                id = "chatcmpl-bench",
                @object = "chat.completion",
                created = 1_765_000_000,
                model = "bench-fake",
                choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 900, completion_tokens = 60, total_tokens = 960 },
            }));
        });
        await app.StartAsync();
        return new BenchChatEndpoint(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
