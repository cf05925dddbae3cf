using Orleans.Runtime;
using Persona.Hosting;

namespace Persona.Cluster;

/// <summary>What <c>/health</c> shows of a cluster node: itself, the nodes it sees active, and how far it follows the log.</summary>
public sealed class ClusterStatus(IClusterMembershipService membership, ILocalSiloDetails self, PersonaEngine engine)
{
    public ClusterSnapshot Snapshot() => new(
        self.SiloAddress.ToParsableString(),
        [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()).Order(StringComparer.Ordinal)],
        engine.FollowedThrough,
        engine.StateMemory.Shoppers);
}

/// <param name="Node">This silo's address.</param>
/// <param name="Active">The silos the membership holds active, this one included.</param>
/// <param name="FollowedThrough">The log sequence this node's item-side state has applied.</param>
/// <param name="Shoppers">Shoppers whose state this node holds (their grains are active here).</param>
public sealed record ClusterSnapshot(string Node, IReadOnlyList<string> Active, long FollowedThrough, int Shoppers);
