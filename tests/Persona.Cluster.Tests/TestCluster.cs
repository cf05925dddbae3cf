using System.Net;
using System.Net.Sockets;
using Persona.Server.Tests;
using Persona.Storage.Postgres.Testing;

namespace Persona.Cluster.Tests;

/// <summary>
/// The servers a cluster test uses: PostgreSQL (<see cref="TestPostgres"/>), RabbitMQ (<c>PERSONA_TEST_RABBITMQ</c>) and
/// the Redis holding the membership (<c>PERSONA_TEST_REDIS</c>), by default the ones <c>scripts/services.sh</c> starts.
/// </summary>
internal static class TestCluster
{
    public static string Redis =>
        Environment.GetEnvironmentVariable("PERSONA_TEST_REDIS") is { Length: > 0 } configured ? configured : "127.0.0.1:6379";

    public static string RabbitMq =>
        Environment.GetEnvironmentVariable("PERSONA_TEST_RABBITMQ") is { Length: > 0 } configured ? configured : "amqp://persona:persona@127.0.0.1:5672/";

    /// <summary>Starts one node (a <c>Persona.Server</c> process) of the cluster <paramref name="clusterId"/> over <paramref name="schema"/>.</summary>
    public static Task<ServerProcess> StartNodeAsync(string data, string schema, string clusterId) =>
        ServerProcess.StartAsync(data,
        [
            "--Persona:Security:Open=true",
            "--Persona:Cluster:Enabled=true",
            $"--Persona:Cluster:ClusterId={clusterId}",
            $"--Persona:Cluster:Redis={Redis}",
            $"--Persona:Cluster:SiloPort={FreePort()}",
            .. TestPostgres.ServerSettings(schema),
        ]);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
