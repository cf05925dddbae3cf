using Persona.Abstractions;

namespace Persona.Hosting.Cluster;

/// <summary>
/// The other nodes of a cluster, as the engine needs them (docs/cluster.md). A single node has none: the engine then
/// applies what it stores itself.
/// </summary>
public interface IClusterPeers
{
    /// <summary>
    /// Appends each shopper's events (validated, normalised) on the node where that shopper's grain is active, the only
    /// node that writes the shopper's state; returns what was stored in all. Retried calls store nothing twice (ids).
    /// </summary>
    Task<IngestOutcome> AppendOnOwnersAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken);

    /// <summary>Items this node just stored: every other node puts them in its catalog.</summary>
    Task ItemsUpsertedAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken);

    /// <summary>User records (ids as stored) this node just stored: every other node takes their consent flags.</summary>
    Task UsersUpsertedAsync(IReadOnlyList<User> users, CancellationToken cancellationToken);

    /// <summary>This node erased a shopper: every other node drops what it holds about them and recounts its aggregates.</summary>
    Task UserErasedAsync(string userId, CancellationToken cancellationToken);
}
