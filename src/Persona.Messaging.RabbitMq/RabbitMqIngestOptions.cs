using Microsoft.Extensions.Options;

namespace Persona.Messaging.RabbitMq;

/// <summary>
/// The <c>Persona:RabbitMq</c> section: streaming ingest from a RabbitMQ quorum queue (docs/cluster.md, "Streaming
/// ingest"). Off unless <see cref="Uri"/> is set. Every node that sets it consumes the same queue (competing consumers).
/// </summary>
public sealed class RabbitMqIngestOptions
{
    public const string SectionName = "Persona:RabbitMq";
    public const string DefaultQueue = "persona.events";
    public const string DefaultDeadLetterQueue = "persona.events.dead";
    public const int DefaultPrefetch = 64;
    public const int DefaultConcurrency = 8;
    public const int DefaultDeliveryLimit = 20;

    /// <summary>The broker, e.g. <c>amqp://persona:persona@127.0.0.1:5672/</c>; null or empty: no queue is consumed.</summary>
    public string? Uri { get; set; }

    /// <summary>The quorum queue of event batches, declared when missing.</summary>
    public string Queue { get; set; } = DefaultQueue;

    /// <summary>Where a message that fails validation goes, with the errors in its <c>persona-error</c> header.</summary>
    public string DeadLetterQueue { get; set; } = DefaultDeadLetterQueue;

    /// <summary>Messages the broker sends ahead, unacknowledged, to one node.</summary>
    public int Prefetch { get; set; } = DefaultPrefetch;

    /// <summary>Messages one node ingests at once; concurrent batches share the store's group commit.</summary>
    public int Concurrency { get; set; } = DefaultConcurrency;

    /// <summary>
    /// Deliveries of one message before the broker dead-letters it (the queue's <c>x-delivery-limit</c>): a message that
    /// keeps failing for another reason than its content (the store unreachable) is retried this often.
    /// </summary>
    public int DeliveryLimit { get; set; } = DefaultDeliveryLimit;

    public bool Enabled => !string.IsNullOrWhiteSpace(Uri);
}

public sealed class RabbitMqIngestOptionsValidator : IValidateOptions<RabbitMqIngestOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqIngestOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled) return ValidateOptionsResult.Success;
        var failures = new List<string>();
        if (!System.Uri.TryCreate(options.Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
            failures.Add($"{RabbitMqIngestOptions.SectionName}:Uri must be an amqp:// or amqps:// address (was '{options.Uri}').");
        if (string.IsNullOrWhiteSpace(options.Queue) || options.Queue.Length > 255)
            failures.Add($"{RabbitMqIngestOptions.SectionName}:Queue must be a name of 1 to 255 characters.");
        if (string.IsNullOrWhiteSpace(options.DeadLetterQueue) || options.DeadLetterQueue.Length > 255 || options.DeadLetterQueue == options.Queue)
            failures.Add($"{RabbitMqIngestOptions.SectionName}:DeadLetterQueue must be a name of 1 to 255 characters other than the queue's.");
        if (options.Prefetch is < 1 or > ushort.MaxValue)
            failures.Add($"{RabbitMqIngestOptions.SectionName}:Prefetch must be between 1 and {ushort.MaxValue} (was {options.Prefetch}).");
        if (options.Concurrency is < 1 or > 256)
            failures.Add($"{RabbitMqIngestOptions.SectionName}:Concurrency must be between 1 and 256 (was {options.Concurrency}).");
        if (options.DeliveryLimit is < 1 or > 1000)
            failures.Add($"{RabbitMqIngestOptions.SectionName}:DeliveryLimit must be between 1 and 1000 (was {options.DeliveryLimit}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
