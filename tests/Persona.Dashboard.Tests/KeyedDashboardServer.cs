using System.Security.Cryptography;
using Persona.Core.Demo;
using Persona.Server.Security;

namespace Persona.Dashboard.Tests;

/// <summary>
/// The dashboard server with API keys instead of open mode: an admin key and a read-only key, made as
/// <c>persona keys new</c> makes them (a random secret; only its SHA-256 is configured). A smaller shop than the
/// open fixture's keeps this second start cheap.
/// </summary>
public sealed class KeyedDashboardServer : DashboardServer
{
    public const string AdminKeyName = "dashboard-admin";
    public const string ReadKeyName = "dashboard-reader";

    public KeyedDashboardServer()
        : this(NewSecret(), NewSecret())
    {
    }

    private KeyedDashboardServer(string adminKey, string readKey)
        : base(KeyArguments(adminKey, readKey), new DemoOptions { Users = 90, Items = 300, Days = 60, TargetEventsPerUser = 30 })
    {
        AdminKey = adminKey;
        ReadKey = readKey;
    }

    /// <summary>A key with the admin scope: every dashboard page works with it.</summary>
    public string AdminKey { get; }

    /// <summary>A key with only the read scope: the admin endpoints behind the dashboard refuse it (403).</summary>
    public string ReadKey { get; }

    private static string NewSecret() =>
        "pk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    private static string[] KeyArguments(string adminKey, string readKey) =>
    [
        $"--Persona:Security:Keys:0:Name={AdminKeyName}",
        $"--Persona:Security:Keys:0:Hash={ApiKeyOptions.HashOf(adminKey)}",
        $"--Persona:Security:Keys:0:Scopes:0={PersonaScopes.Admin}",
        $"--Persona:Security:Keys:1:Name={ReadKeyName}",
        $"--Persona:Security:Keys:1:Hash={ApiKeyOptions.HashOf(readKey)}",
        $"--Persona:Security:Keys:1:Scopes:0={PersonaScopes.Read}",
    ];
}

[CollectionDefinition(Name)]
public sealed class KeyedDashboardCollection : ICollectionFixture<KeyedDashboardServer>
{
    public const string Name = "dashboard-keys";
}
