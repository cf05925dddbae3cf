using System.Net;
using Microsoft.Extensions.Options;

namespace Persona.Cluster;

/// <summary>
/// <c>Persona:Cluster</c>: makes <c>persona serve</c> one node (an Orleans silo) of a cluster over a shared PostgreSQL
/// store (docs/cluster.md). Off by default: the embedded single node needs none of it.
/// </summary>
public sealed class PersonaClusterOptions
{
    public const string SectionName = "Persona:Cluster";

    /// <summary>Join a cluster (<c>persona serve --cluster</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>Where the silos keep their membership table: a StackExchange.Redis connection string.</summary>
    public string Redis { get; set; } = "127.0.0.1:6379";

    /// <summary>Nodes with the same id form one cluster (one shop); several clusters can share one Redis.</summary>
    public string ClusterId { get; set; } = "persona";

    /// <summary>The address other silos reach this one at.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>The port silos talk to each other on; each node on one machine needs its own.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>A shopper's grain leaves memory (its state written to the store) after this long without a call.</summary>
    public int IdleMinutes { get; set; } = 10;

    /// <summary>
    /// How long a silo waits for another's answer to a liveness probe. With two missed probes and one vote a silo that
    /// stopped answering is declared dead, and its shoppers move, in about 2 to 3 times this.
    /// </summary>
    public double ProbeTimeoutSeconds { get; set; } = 1;
}

internal sealed class PersonaClusterOptionsValidator : IValidateOptions<PersonaClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonaClusterOptions options)
    {
        if (!options.Enabled) return ValidateOptionsResult.Success;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Redis)) errors.Add("Persona:Cluster:Redis must name the Redis server that holds the membership (host:port).");
        if (string.IsNullOrWhiteSpace(options.ClusterId)) errors.Add("Persona:Cluster:ClusterId must not be empty.");
        if (!IPAddress.TryParse(options.AdvertisedAddress, out _)) errors.Add($"Persona:Cluster:AdvertisedAddress '{options.AdvertisedAddress}' is not an IP address.");
        if (options.SiloPort is < 1 or > 65535) errors.Add($"Persona:Cluster:SiloPort {options.SiloPort} is not a port (1..65535).");
        if (options.IdleMinutes is < 1 or > 24 * 60) errors.Add($"Persona:Cluster:IdleMinutes {options.IdleMinutes} must be between 1 and 1440.");
        if (!(options.ProbeTimeoutSeconds is >= 0.2 and <= 60)) errors.Add($"Persona:Cluster:ProbeTimeoutSeconds {options.ProbeTimeoutSeconds} must be between 0.2 and 60.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
