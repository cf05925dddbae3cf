using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Core.Ingestion;
using Persona.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Persona.Messaging.RabbitMq;

/// <summary>
/// Consumes event batches from the queue (docs/cluster.md, "Streaming ingest"). A message is acknowledged only after
/// its events are durable in the store, so a node that dies mid-message leaves it to the broker to deliver again;
/// events carry ids (derived from their content when sent without), so a second delivery stores nothing twice. A
/// message that fails validation is published to the dead-letter queue with its errors, then acknowledged; one that
/// fails for another reason (the store unreachable) is returned to the queue for another try. A lost connection is
/// re-established with growing pauses.
/// </summary>
internal sealed partial class RabbitMqIngestService(
    PersonaEngine engine, IOptions<RabbitMqIngestOptions> options, RabbitMqIngestStatus status, ILogger<RabbitMqIngestService> logger) : BackgroundService
{
    private static readonly JsonDocumentOptions BodyOptions = new() { MaxDepth = 64 };
    private readonly RabbitMqIngestOptions _options = options.Value;
    private readonly string _broker = Redacted(options.Value.Uri);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pause = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConsumeUntilClosedAsync(stoppingToken);
                pause = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException or IOException or TimeoutException)
            {
                LogBrokerUnavailable(logger, _broker, pause.TotalSeconds, ex.Message);
            }
            try
            {
                await Task.Delay(pause, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            pause = TimeSpan.FromSeconds(Math.Min(30, pause.TotalSeconds * 2));
        }
    }

    private async Task ConsumeUntilClosedAsync(CancellationToken stoppingToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri(_options.Uri!),
            ClientProvidedName = $"persona {Environment.MachineName}:{Environment.ProcessId}",
            // Reconnection is this loop's: it declares the queues again and says so in the log.
            AutomaticRecoveryEnabled = false,
        };
        await using var connection = await factory.CreateConnectionAsync(stoppingToken);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionShutdownAsync += (_, _) =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await using var consuming = await connection.CreateChannelAsync(
            new CreateChannelOptions(false, false, consumerDispatchConcurrency: (ushort)_options.Concurrency), stoppingToken);
        // Dead letters go through a channel of their own that waits for the broker's confirm of each.
        await using var deadLetters = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), stoppingToken);
        await RabbitMqTopology.DeclareAsync(consuming, _options, stoppingToken);
        await consuming.BasicQosAsync(0, (ushort)_options.Prefetch, global: false, stoppingToken);

        // Handlers run concurrently; acknowledgements and dead-letter publishes on a channel go one at a time.
        var acks = new SemaphoreSlim(1, 1);
        var publishes = new SemaphoreSlim(1, 1);
        var consumer = new AsyncEventingBasicConsumer(consuming);
        consumer.ReceivedAsync += (_, delivery) => HandleAsync(consuming, deadLetters, acks, publishes, delivery, stoppingToken);
        await consuming.BasicConsumeAsync(_options.Queue, autoAck: false, consumer, stoppingToken);
        LogConsuming(logger, _options.Queue, _broker, _options.Concurrency, _options.Prefetch);
        status.Connected(true);
        try
        {
            await closed.Task.WaitAsync(stoppingToken);
        }
        finally
        {
            status.Connected(false);
        }
        LogConnectionClosed(logger, _broker);
    }

    private async Task HandleAsync(
        IChannel consuming, IChannel deadLetters, SemaphoreSlim acks, SemaphoreSlim publishes, BasicDeliverEventArgs delivery, CancellationToken stoppingToken)
    {
        IReadOnlyList<FieldError> errors;
        try
        {
            using var document = JsonDocument.Parse(delivery.Body, BodyOptions);
            var (_, outcome) = await EventBatchIngestion.IngestAsync(engine, document.RootElement, stoppingToken);
            if (outcome.IsValid)
            {
                await SettleAsync(acks, () => consuming.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None));
                status.Stored(outcome.Stored);
                return;
            }
            errors = outcome.Errors;
        }
        catch (JsonException ex)
        {
            errors = [new FieldError(null, "body", $"The message is not a JSON event batch: {ex.Message}")];
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not (OperationInterruptedException or AlreadyClosedException))
        {
            // Not the message's fault: back to the queue, for this node or another; the broker counts the deliveries.
            LogRequeued(logger, delivery.DeliveryTag, ex.Message);
            status.Requeued();
            await SettleAsync(acks, () => consuming.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, CancellationToken.None));
            return;
        }
        catch (Exception)
        {
            // Stopping, or the connection is going: unacknowledged, the message goes back to the queue when it closes.
            return;
        }

        await publishes.WaitAsync(CancellationToken.None);
        try
        {
            var properties = new BasicProperties
            {
                Persistent = true,
                ContentType = delivery.BasicProperties.ContentType ?? "application/json",
                MessageId = delivery.BasicProperties.MessageId,
                Headers = new Dictionary<string, object?> { [RabbitMqTopology.ErrorHeader] = Encoding.UTF8.GetBytes(Problem(errors)) },
            };
            await deadLetters.BasicPublishAsync("", _options.DeadLetterQueue, mandatory: true, properties, delivery.Body, CancellationToken.None);
        }
        catch (Exception ex) when (ex is PublishException or OperationInterruptedException or AlreadyClosedException)
        {
            // Not confirmed: the message stays in the queue (unacknowledged) and is dead-lettered on its next delivery.
            LogDeadLetterFailed(logger, delivery.DeliveryTag, ex.Message);
            return;
        }
        finally
        {
            publishes.Release();
        }
        LogDeadLettered(logger, delivery.DeliveryTag, _options.DeadLetterQueue, errors.Count);
        status.DeadLettered();
        await SettleAsync(acks, () => consuming.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None));
    }

    private static async Task SettleAsync(SemaphoreSlim gate, Func<ValueTask> settle)
    {
        await gate.WaitAsync(CancellationToken.None);
        try
        {
            await settle();
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException)
        {
            // The connection is gone: the broker delivers the message again, and its events are not stored twice.
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The errors as the HTTP API's problem JSON: <c>{"title":…,"errors":{"events[3].item_id":["…"]}}</c>.</summary>
    internal static string Problem(IReadOnlyList<FieldError> errors)
    {
        var byKey = errors.GroupBy(e => e.Index is { } i ? $"events[{i}].{e.Field}" : e.Field)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray());
        return JsonSerializer.Serialize(new
        {
            title = "One or more fields are invalid.",
            detail = "The message was rejected and nothing of it was stored.",
            errors = byKey,
        });
    }

    /// <summary>The broker address without its password, for logs.</summary>
    private static string Redacted(string? uri) =>
        System.Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.UserInfo.Contains(':', StringComparison.Ordinal)
            ? new UriBuilder(parsed) { Password = "***" }.Uri.ToString()
            : uri ?? "";

    [LoggerMessage(Level = LogLevel.Information, Message = "Consuming event batches from RabbitMQ queue {Queue} at {Uri} ({Concurrency} at once, prefetch {Prefetch})")]
    private static partial void LogConsuming(ILogger logger, string queue, string uri, int concurrency, int prefetch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "RabbitMQ at {Uri} is not reachable; trying again in {Seconds} s: {Reason}")]
    private static partial void LogBrokerUnavailable(ILogger logger, string uri, double seconds, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection to RabbitMQ at {Uri} closed; reconnecting")]
    private static partial void LogConnectionClosed(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {DeliveryTag} returned to the queue: {Reason}")]
    private static partial void LogRequeued(ILogger logger, ulong deliveryTag, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {DeliveryTag} failed validation ({Errors} errors) and went to {DeadLetterQueue}")]
    private static partial void LogDeadLettered(ILogger logger, ulong deliveryTag, string deadLetterQueue, int errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {DeliveryTag} could not be dead-lettered and stays in the queue: {Reason}")]
    private static partial void LogDeadLetterFailed(ILogger logger, ulong deliveryTag, string reason);
}
