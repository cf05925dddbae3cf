using Persona.Abstractions;

namespace Persona.Hosting;

/// <summary>
/// Follows what the engine stores: search indexes, recommendation state and caches register one with
/// <see cref="PersonaEngine.AddObserver"/>. Calls come from the engine's write path: keep them short and never throw.
/// </summary>
public interface IEngineObserver
{
    /// <summary>A batch of newly stored events (duplicates already dropped), before the batch is acknowledged.</summary>
    void OnEventsStored(IReadOnlyList<StoredEvent> events);

    /// <summary>Items just upserted (validated and stored), after the catalog snapshot was swapped.</summary>
    void OnItemsUpserted(IReadOnlyList<Item> items);

    /// <summary>User records just upserted (validated and stored; ids as stored).</summary>
    void OnUsersUpserted(IReadOnlyList<User> users) { }

    /// <summary>
    /// The user was erased (right to be forgotten): drop everything held about them. Returns what was removed, for
    /// the receipt (e.g. "search personalisation: 12 recent items"), or null when nothing was held.
    /// </summary>
    string? OnUserErased(string userId) => null;

    /// <summary>
    /// After an erasure that found the user (and after <see cref="OnUserErased"/>), for an observer holding aggregates
    /// over all users (item pairs, popularity): a fresh count to feed the whole log, which no longer holds the user's
    /// events, so it equals one computed from scratch. The engine reads the log once for every recount, outside the
    /// write path: ingest goes on, and batches stored meanwhile still arrive through <see cref="OnEventsStored"/>.
    /// Null: nothing to recount.
    /// </summary>
    ValueTask<IErasureRecount?> BeginRecountAsync(string userId, CancellationToken cancellationToken) => ValueTask.FromResult<IErasureRecount?>(null);
}

/// <summary>An aggregate being recounted after an erasure (<see cref="IEngineObserver.BeginRecountAsync"/>).</summary>
public interface IErasureRecount
{
    /// <summary>The next page of the stored log, in sequence order.</summary>
    void Apply(IReadOnlyList<StoredEvent> page);

    /// <summary>
    /// The log was read through <paramref name="lastSequence"/>: count the batches stored meanwhile after it and serve the
    /// fresh count. Returns a line for the erasure receipt.
    /// </summary>
    string Complete(long lastSequence);

    /// <summary>The read failed: forget what was held for it; the old count keeps serving.</summary>
    void Abandon();
}

/// <summary>Holds per-user results that are also persisted as store documents (predictions, segments, audiences).</summary>
public interface IUserDataOwner
{
    /// <summary>The documents to rewrite without the user; written in the erasure's transaction.</summary>
    Task<IReadOnlyList<DocumentUpdate>> PrepareEraseAsync(string userId, CancellationToken cancellationToken);

    /// <summary>After the store erasure committed: drop the user from memory; returns what was removed, or null.</summary>
    string? Erase(string userId);
}

/// <summary>What erasing a user removed; returned by <c>DELETE /v1/users/{id}</c>.</summary>
public sealed record ErasureReceipt
{
    public required string UserId { get; init; }
    public required DateTimeOffset ErasedAt { get; init; }
    public required int Events { get; init; }
    public required bool StoredProfile { get; init; }
    public required bool UserRecord { get; init; }
    public required int DocumentsRewritten { get; init; }
    /// <summary>In-memory state and index entries removed, one line each.</summary>
    public required IReadOnlyList<string> Removed { get; init; }
}

/// <summary>Action names written to the audit log.</summary>
public static class AuditActions
{
    public const string EraseUser = "erase_user";
    public const string ExportAudience = "export_audience";
    public const string RefreshModels = "refresh_models";
    /// <summary>A trained sequence model passed the gate (or was the first) and serves.</summary>
    public const string ServeModel = "serve_model";
    /// <summary>A trained sequence model failed the gate: stored, not served (the detail has both figures).</summary>
    public const string RejectModel = "reject_model";
    /// <summary>A trained sequence model serves without the gate's say (<c>persona train --force</c>).</summary>
    public const string ForceModel = "force_model";
    /// <summary>A stored sequence model version was made to serve by hand.</summary>
    public const string PromoteModel = "promote_model";
    /// <summary>The sequence model that served before the current one serves again.</summary>
    public const string RollbackModel = "rollback_model";
    /// <summary>An online experiment was made (a draft); the detail lists its surface and variants.</summary>
    public const string CreateExperiment = "create_experiment";
    public const string StartExperiment = "start_experiment";
    /// <summary>An experiment stopped; the detail has each variant's figures against the control.</summary>
    public const string StopExperiment = "stop_experiment";
    /// <summary>An admin wrote a segment's or audience's name and brief by hand, or cleared theirs.</summary>
    public const string EditBrief = "edit_brief";
}
