using System.Text;
using Persona.Messaging.RabbitMq;
using RabbitMQ.Client;

namespace Persona.Server.Tests;

/// <summary>
/// The real RabbitMQ broker the tests use: <c>PERSONA_TEST_RABBITMQ</c>, or the one <c>scripts/services.sh</c> starts on
/// loopback. Each test names queues of its own and deletes them afterwards.
/// </summary>
internal sealed class TestRabbitMq : IAsyncDisposable
{
    public const string DefaultUri = "amqp://persona:persona@127.0.0.1:5672/";

    public static string Uri =>
        Environment.GetEnvironmentVariable("PERSONA_TEST_RABBITMQ") is { Length: > 0 } configured ? configured : DefaultUri;

    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private TestRabbitMq(IConnection connection, IChannel channel, RabbitMqIngestOptions options)
    {
        _connection = connection;
        _channel = channel;
        Options = options;
    }

    /// <summary>Queues unique to this test, with the defaults otherwise.</summary>
    public RabbitMqIngestOptions Options { get; }

    /// <summary>The settings that make a server consume this test's queue.</summary>
    public IReadOnlyList<string> ServerSettings =>
    [
        $"--Persona:RabbitMq:Uri={Options.Uri}",
        $"--Persona:RabbitMq:Queue={Options.Queue}",
        $"--Persona:RabbitMq:DeadLetterQueue={Options.DeadLetterQueue}",
    ];

    public Dictionary<string, string?> FactorySettings => new()
    {
        ["Persona:RabbitMq:Uri"] = Options.Uri,
        ["Persona:RabbitMq:Queue"] = Options.Queue,
        ["Persona:RabbitMq:DeadLetterQueue"] = Options.DeadLetterQueue,
    };

    /// <summary>Connects a publisher that waits for the broker's confirm of each message, saying how to start a broker when none answers.</summary>
    public static async Task<TestRabbitMq> ConnectAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var options = new RabbitMqIngestOptions { Uri = Uri, Queue = $"test.events.{suffix}", DeadLetterQueue = $"test.events.{suffix}.dead" };
        IConnection connection;
        try
        {
            connection = await new ConnectionFactory { Uri = new System.Uri(Uri) }.CreateConnectionAsync();
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException ex)
        {
            throw new InvalidOperationException(
                $"No RabbitMQ broker answers at {Uri}: run scripts/services.sh (it installs and starts one on loopback; .ci/run does), or point PERSONA_TEST_RABBITMQ at one.", ex);
        }
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        await RabbitMqTopology.DeclareAsync(channel, options, CancellationToken.None);
        return new TestRabbitMq(connection, channel, options);
    }

    /// <summary>Publishes a message persistently; returns once the broker confirmed it (it is then the broker's to keep).</summary>
    public async Task PublishAsync(string body) =>
        await _channel.BasicPublishAsync("", Options.Queue, mandatory: true,
            new BasicProperties { Persistent = true, ContentType = "application/json" }, Encoding.UTF8.GetBytes(body));

    public async Task<uint> CountAsync(string queue) => await _channel.MessageCountAsync(queue);

    /// <summary>The next dead letter: its body and its <c>persona-error</c> header; null when the queue is empty.</summary>
    public async Task<(string Body, string Error)?> NextDeadLetterAsync()
    {
        var message = await _channel.BasicGetAsync(Options.DeadLetterQueue, autoAck: true);
        if (message is null) return null;
        var error = message.BasicProperties.Headers?.TryGetValue(RabbitMqTopology.ErrorHeader, out var value) == true && value is byte[] bytes
            ? Encoding.UTF8.GetString(bytes)
            : "";
        return (Encoding.UTF8.GetString(message.Body.Span), error);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.QueueDeleteAsync(Options.Queue);
            await _channel.QueueDeleteAsync(Options.DeadLetterQueue);
        }
        finally
        {
            await _channel.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
