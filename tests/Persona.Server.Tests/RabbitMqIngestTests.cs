using System.Text.Json;

namespace Persona.Server.Tests;

/// <summary>Streaming ingest from a real RabbitMQ broker into a real server.</summary>
public sealed class RabbitMqIngestTests
{
    private static string Batch(string prefix, int count, string user = "mq-u1") =>
        "[" + string.Join(",", Enumerable.Range(0, count).Select(i =>
            $"{{\"id\":\"{prefix}-{i}\",\"user_id\":\"{user}\",\"type\":\"view\",\"item_id\":\"i{i % 7}\",\"timestamp\":\"2026-01-01T10:{i % 60:00}:00Z\"}}")) + "]";

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Waited too long for {what}.");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Messages_ValidOnesAreStored_InvalidOnesGoToTheDeadLetterQueueWithTheirErrors()
    {
        await using var broker = await TestRabbitMq.ConnectAsync();
        await using var factory = new PersonaAppFactory();
        foreach (var (key, value) in broker.FactorySettings) factory.Settings[key] = value;
        _ = factory.Engine;

        await broker.PublishAsync(Batch("ok-a", 30));
        await broker.PublishAsync("""{"events":[{"id":"bad-0","user_id":"mq-u2","type":"view","item_id":"i1","timestamp":"2026-01-01T10:00:00Z"},{"id":"bad-1","type":"teleport","item_id":"i1","timestamp":"2026-01-01T10:00:00Z"}]}""");
        await broker.PublishAsync("this is not json");
        await broker.PublishAsync(Batch("ok-b", 20, user: "mq-u3"));
        // A redelivered or republished message stores nothing twice.
        await broker.PublishAsync(Batch("ok-a", 30));

        await WaitForAsync(async () => await broker.CountAsync(broker.Options.DeadLetterQueue) == 2 && await broker.CountAsync(broker.Options.Queue) == 0
            && await factory.CountEventsAsync() == 50, "the queue to drain");
        Assert.Equal(50, await factory.CountEventsAsync());
        Assert.Empty(await factory.Engine.Store.GetEventsAsync(["bad-0", "bad-1"]));

        // Handled concurrently, the two arrive in either order.
        var deadLetters = new[] { await broker.NextDeadLetterAsync(), await broker.NextDeadLetterAsync() }.Select(d => d!.Value).ToList();
        var invalid = Assert.Single(deadLetters, d => d.Body.Contains("bad-1", StringComparison.Ordinal));
        var errors = JsonDocument.Parse(invalid.Error).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("events[1].user_id", out _), invalid.Error);
        Assert.True(errors.TryGetProperty("events[1].type", out _), invalid.Error);
        var notJson = Assert.Single(deadLetters, d => d.Body == "this is not json");
        Assert.Contains("not a JSON event batch", notJson.Error);

        // The consumer counts a message just after settling it: read /health once the last count is in.
        using var client = factory.CreateClient();
        JsonElement queue = default;
        await WaitForAsync(async () =>
        {
            queue = JsonDocument.Parse(await client.GetStringAsync("/health")).RootElement.GetProperty("queue");
            return queue.GetProperty("messages").GetInt64() + queue.GetProperty("dead_lettered").GetInt64() == 5;
        }, "the consumer's counts on /health", TimeSpan.FromSeconds(10));
        Assert.Equal(broker.Options.Queue, queue.GetProperty("queue").GetString());
        Assert.True(queue.GetProperty("connected").GetBoolean());
        Assert.Equal(3, queue.GetProperty("messages").GetInt64());
        Assert.Equal(50, queue.GetProperty("events").GetInt64());
        Assert.Equal(2, queue.GetProperty("dead_lettered").GetInt64());
    }

    /// <summary>
    /// A server consumes while messages are being published; it is SIGKILLed part-way, publishing goes on, and a second
    /// server takes over: every event of every message the broker confirmed is stored exactly once.
    /// </summary>
    [Fact]
    public async Task Server_KilledWhileConsuming_EveryConfirmedEventIsStoredOnce()
    {
        await using var broker = await TestRabbitMq.ConnectAsync();
        const int messages = 600, perMessage = 40;
        var data = Path.Combine(Path.GetTempPath(), "persona-mq", Guid.NewGuid().ToString("n"));
        var settings = new[] { "--Persona:Security:Open=true" }.Concat(broker.ServerSettings).ToList();
        try
        {
            var confirmed = 0;
            Task publishing;
            await using (var first = await ServerProcess.StartAsync(data, settings))
            {
                publishing = Task.Run(async () =>
                {
                    for (var m = 0; m < messages; m++)
                    {
                        await broker.PublishAsync(Batch($"kill-{m}", perMessage, user: $"mq-k{m % 17}"));
                        Interlocked.Increment(ref confirmed);
                    }
                });
                await WaitForAsync(() => Task.FromResult(Volatile.Read(ref confirmed) >= messages / 3), "a third of the messages to be confirmed");
                await first.KillAsync();
            }
            Assert.False(publishing.IsCompleted, "publishing ended before the kill; the test proves nothing");
            await publishing;

            await using var second = await ServerProcess.StartAsync(data, settings);
            using var client = new HttpClient { BaseAddress = new Uri(second.BaseUrl) };
            // Ids are unique in the store, so the count says each event is there exactly once.
            await WaitForAsync(async () =>
                JsonDocument.Parse(await client.GetStringAsync("/health")).RootElement.GetProperty("stats").GetProperty("events").GetInt64() == messages * perMessage,
                "every event to be stored", TimeSpan.FromSeconds(90));
            Assert.Equal(0u, await broker.CountAsync(broker.Options.Queue));
            Assert.Equal(0u, await broker.CountAsync(broker.Options.DeadLetterQueue));
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
