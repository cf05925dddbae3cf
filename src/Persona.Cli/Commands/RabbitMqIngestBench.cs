using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Persona.Messaging.RabbitMq;
using RabbitMQ.Client;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona bench ingest --rabbitmq URI</c>: publishes the synthetic batches to the queue a server consumes (each
/// publisher on its own channel, every message confirmed by the broker) and waits until the server has stored every
/// event, reading its <c>/health</c> count. Reports the confirmed publish rate and the end-to-end rate (first publish
/// to last event durable in the store).
/// </summary>
internal static class RabbitMqIngestBench
{
    public static async Task<int> RunAsync(
        HttpClient server, string uri, string queue, byte[][] warmup, byte[][] bodies, int events, int publishers, int batchSize, CancellationToken cancellationToken)
    {
        var options = new RabbitMqIngestOptions { Uri = uri, Queue = queue };
        await using var connection = await new ConnectionFactory { Uri = new Uri(uri), ClientProvidedName = "persona bench ingest" }.CreateConnectionAsync(cancellationToken);
        await using (var declare = await connection.CreateChannelAsync(cancellationToken: cancellationToken))
            await RabbitMqTopology.DeclareAsync(declare, options, cancellationToken);

        if (warmup.Length > 0)
        {
            var before = await StoredAsync(server, cancellationToken);
            await PublishAllAsync(connection, queue, warmup, publishers, cancellationToken);
            await WaitStoredAsync(server, before + warmup.Sum(CountEvents), cancellationToken);
        }

        var baseline = await StoredAsync(server, cancellationToken);
        var clock = Stopwatch.StartNew();
        await PublishAllAsync(connection, queue, bodies, publishers, cancellationToken);
        var published = clock.Elapsed.TotalSeconds;
        var expected = baseline + events;
        var reached = await WaitStoredAsync(server, expected, cancellationToken);
        var stored = clock.Elapsed.TotalSeconds;
        AnsiConsole.MarkupLineInterpolated(
            $"ingest via RabbitMQ queue {queue}: {events:N0} events in {bodies.Length:N0} messages of {batchSize} from {publishers} publishers: published and confirmed at {events / published:N0} events/s ({published:0.00} s); [bold]stored at {events / stored:N0} events/s[/] ({stored:0.00} s from the first publish to the last event durable)");
        if (reached) return 0;
        AnsiConsole.MarkupLineInterpolated($"[red]The server stored {await StoredAsync(server, cancellationToken) - baseline:N0} of {events:N0} events and then stopped making progress; is it consuming {queue} (Persona:RabbitMq:Uri)?[/]");
        return 1;
    }

    private static async Task PublishAllAsync(IConnection connection, string queue, byte[][] bodies, int publishers, CancellationToken cancellationToken)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, publishers).Select(async _ =>
        {
            // Tracked confirms: each publish returns once the broker has the message (a quorum queue: on disk).
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), cancellationToken);
            var properties = new BasicProperties { Persistent = true, ContentType = "application/json" };
            int b;
            while ((b = Interlocked.Increment(ref next)) < bodies.Length)
                await channel.BasicPublishAsync("", queue, mandatory: true, properties, bodies[b], cancellationToken);
        }));
    }

    /// <summary>Waits until the server holds <paramref name="expected"/> events; false when 60 s pass without progress.</summary>
    private static async Task<bool> WaitStoredAsync(HttpClient server, long expected, CancellationToken cancellationToken)
    {
        var last = -1L;
        var progress = Stopwatch.StartNew();
        while (true)
        {
            var stored = await StoredAsync(server, cancellationToken);
            if (stored >= expected) return true;
            if (stored != last) (last, progress) = (stored, Stopwatch.StartNew());
            else if (progress.Elapsed > TimeSpan.FromSeconds(60)) return false;
            await Task.Delay(20, cancellationToken);
        }
    }

    private static async Task<long> StoredAsync(HttpClient server, CancellationToken cancellationToken)
    {
        var health = await server.GetFromJsonAsync<JsonElement>("/health", cancellationToken);
        return health.GetProperty("stats").GetProperty("events").GetInt64();
    }

    private static int CountEvents(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.ValueKind == JsonValueKind.Array
            ? document.RootElement.GetArrayLength()
            : document.RootElement.GetProperty("events").GetArrayLength();
    }
}
