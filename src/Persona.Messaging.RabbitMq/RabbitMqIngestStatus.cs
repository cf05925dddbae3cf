namespace Persona.Messaging.RabbitMq;

/// <summary>What this node's queue consumer has done since it started, as <c>/health</c> shows it.</summary>
public sealed class RabbitMqIngestStatus(string queue)
{
    private long _messages;
    private long _events;
    private long _deadLettered;
    private long _requeued;
    private volatile bool _connected;

    internal void Connected(bool connected) => _connected = connected;

    internal void Stored(int events)
    {
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _events, events);
    }

    internal void DeadLettered() => Interlocked.Increment(ref _deadLettered);

    internal void Requeued() => Interlocked.Increment(ref _requeued);

    public RabbitMqIngestSnapshot Snapshot() => new(queue, _connected, Interlocked.Read(ref _messages), Interlocked.Read(ref _events),
        Interlocked.Read(ref _deadLettered), Interlocked.Read(ref _requeued));
}

/// <param name="Queue">The queue consumed.</param>
/// <param name="Connected">Whether the consumer is connected to the broker now.</param>
/// <param name="Messages">Messages whose events were stored and which were then acknowledged (redeliveries included).</param>
/// <param name="Events">Events newly stored from them.</param>
/// <param name="DeadLettered">Messages that failed validation and went to the dead-letter queue.</param>
/// <param name="Requeued">Messages returned to the queue after a failure that was not theirs.</param>
public sealed record RabbitMqIngestSnapshot(string Queue, bool Connected, long Messages, long Events, long DeadLettered, long Requeued);
