using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Persona.Abstractions;
using Persona.Hosting;

namespace Persona.Cluster;

/// <summary>
/// One per node, keyed by its silo address and placed on that silo (<see cref="NodePlacement"/>): how a node tells every
/// other one of changes that are not the log's (catalog, user records, erasures).
/// </summary>
[Alias("persona.node")]
public interface INodeGrain : IGrainWithStringKey
{
    [Alias("items")]
    Task ItemsUpsertedAsync(Item[] items);

    [Alias("users")]
    Task UsersUpsertedAsync(User[] users);

    [Alias("erased")]
    Task UserErasedAsync(string userId);
}

[NodePlacement]
internal sealed class NodeGrain(PersonaEngine engine) : Grain, INodeGrain
{
    public Task ItemsUpsertedAsync(Item[] items) => engine.ApplyPeerItemsAsync(items, CancellationToken.None);

    public Task UsersUpsertedAsync(User[] users)
    {
        engine.ApplyPeerUsers(users);
        return Task.CompletedTask;
    }

    public Task UserErasedAsync(string userId) => engine.ApplyPeerErasureAsync(userId, CancellationToken.None);
}

/// <summary>Places a grain on the silo whose address is its key.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class NodePlacement : PlacementStrategy
{
    public static NodePlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodePlacementAttribute() : PlacementAttribute(NodePlacement.Instance);

internal sealed class NodePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        foreach (var silo in context.GetCompatibleSilos(target))
            if (silo.ToParsableString() == key) return Task.FromResult(silo);
        throw new OrleansException($"The node {key} is not in the cluster.");
    }
}
