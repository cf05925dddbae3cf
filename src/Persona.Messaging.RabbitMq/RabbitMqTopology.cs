using RabbitMQ.Client;

namespace Persona.Messaging.RabbitMq;

/// <summary>
/// The queues, declared the same way by every node and by the bench's publisher, so whoever comes first creates them.
/// Both are durable quorum queues (replicated on a broker cluster, never lost on a broker restart). A message the
/// broker gives up on (delivered <see cref="RabbitMqIngestOptions.DeliveryLimit"/> times) is routed to the dead-letter
/// queue by the broker itself; one that fails validation is put there by the consumer, with its errors.
/// </summary>
public static class RabbitMqTopology
{
    /// <summary>Header of a dead-lettered message: why it was refused (the same problem JSON the HTTP API answers).</summary>
    public const string ErrorHeader = "persona-error";

    public static async Task DeclareAsync(IChannel channel, RabbitMqIngestOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(options);
        await channel.QueueDeclareAsync(options.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(options.Queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "quorum",
                ["x-delivery-limit"] = options.DeliveryLimit,
                ["x-dead-letter-exchange"] = "",
                ["x-dead-letter-routing-key"] = options.DeadLetterQueue,
            },
            cancellationToken: cancellationToken);
    }
}
