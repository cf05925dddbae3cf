using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models;
using Persona.Core.Models.Sequence;

namespace Persona.Hosting;

/// <summary>
/// Every decision about which sequence model serves — training under the gate, promoting a stored version, rolling
/// back — made the same way by <c>persona train</c>, <c>persona models</c>, the admin API and the server's own trainer:
/// the pointer is written (<see cref="SequenceModelRepository"/>), the decision goes to the audit log, and with a shared
/// store the pointer is also stored as a document (<see cref="PointerDocumentKind"/>/<see cref="PointerDocumentKey"/>)
/// and the version's files published, so every node follows it within one poll (<see cref="SyncAsync"/>).
/// </summary>
public sealed class SequenceModelService(SequenceModelRepository repository, IPersonaStore store, IOptions<PersonaOptions> options, TimeProvider time) : IDisposable
{
    /// <summary>Store document kind of serving pointers (key: the model family).</summary>
    public const string PointerDocumentKind = "serving";

    /// <summary>Key of the sequence model's pointer.</summary>
    public const string PointerDocumentKey = "sequence";

    private readonly SemaphoreSlim _decisions = new(1, 1);

    public SequenceModelRepository Repository => repository;

    private bool Shared => options.Value.Store.IsShared;

    /// <summary>
    /// Trains from the store's events and lets the gate decide whether the new version serves (see
    /// <see cref="SequenceTraining.TrainFromStoreAsync"/>); audits the decision with both figures.
    /// </summary>
    public async Task<SequenceTrainingRun> TrainAsync(
        SequenceTrainingOptions training, string actor, bool force = false, SequenceModel? warmStart = null,
        IProgress<SequenceTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        // Compared with what the cluster serves, not with what this folder last saw.
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        var run = await SequenceTraining.TrainFromStoreAsync(store, repository, training, progress, force, warmStart, actor, cancellationToken).ConfigureAwait(false);
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Shared)
            {
                // The pointer first, rejected or not: a node that copies the new files as the newest version must already
                // find the pointer that says whether it serves (a store from before the pointer would serve the newest).
                await PublishPointerAsync(cancellationToken).ConfigureAwait(false);
                await PublishFilesAsync(run.Version, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _decisions.Release();
        }
        var action = run.Gate.Decision switch
        {
            SequenceServingDecisions.Rejected => AuditActions.RejectModel,
            SequenceServingDecisions.Forced => AuditActions.ForceModel,
            _ => AuditActions.ServeModel,
        };
        var warm = run.WarmStartedFrom is { } from ? $"; warm-started from {from} ({run.SharedItems:N0} of {run.Data.ItemCount:N0} items shared)" : "";
        await AuditAsync(actor, action, run.Version, $"{run.Gate.Decision}: {run.Gate.Describe()}{warm}", cancellationToken).ConfigureAwait(false);
        return run;
    }

    /// <summary>
    /// Makes a stored version serve; throws <see cref="UnknownModelVersionException"/> naming it when neither this folder
    /// nor (with a shared store) the store holds it. Returns the pointer and the version that served before.
    /// </summary>
    public async Task<(SequenceServingPointer Pointer, string? Before)> PromoteAsync(string version, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(version);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        SequenceServingPointer pointer;
        string? before;
        try
        {
            await SyncCoreAsync(cancellationToken).ConfigureAwait(false);
            if (Shared && !repository.HasVersion(version))
                await StoredModelFiles.PullAsync(store, repository.Root, StoredModelFiles.SequencePrefix, version, cancellationToken).ConfigureAwait(false);
            before = repository.ServingVersion();
            pointer = repository.Serve(version, SequenceServingDecisions.Promoted, actor);
            if (Shared)
            {
                // A version pruned from the store (older than the newest few) goes back, so other nodes can copy it.
                if (!await StoredModelFiles.HasVersionAsync(store, StoredModelFiles.SequencePrefix, version, cancellationToken).ConfigureAwait(false))
                    await PublishFilesAsync(version, cancellationToken).ConfigureAwait(false);
                await PublishPointerAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _decisions.Release();
        }
        await AuditAsync(actor, AuditActions.PromoteModel, version, $"promoted by hand; {before ?? "nothing"} served before", cancellationToken).ConfigureAwait(false);
        return (pointer, before);
    }

    /// <summary>
    /// Serves the previous version again; throws <see cref="InvalidOperationException"/> when none is recorded. Returns
    /// the pointer and the version that was rolled back.
    /// </summary>
    public async Task<(SequenceServingPointer Pointer, string RolledBack)> RollbackAsync(string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(actor);
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        SequenceServingPointer pointer;
        string from;
        try
        {
            await SyncCoreAsync(cancellationToken).ConfigureAwait(false);
            var current = repository.ReadPointer();
            from = current?.Version ?? "";
            if (Shared && current?.Previous is { } previous && !repository.HasVersion(previous))
                await StoredModelFiles.PullAsync(store, repository.Root, StoredModelFiles.SequencePrefix, previous, cancellationToken).ConfigureAwait(false);
            pointer = repository.Rollback();
            if (Shared) await PublishPointerAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _decisions.Release();
        }
        await AuditAsync(actor, AuditActions.RollbackModel, pointer.Version!, $"rolled back from {from}", cancellationToken).ConfigureAwait(false);
        return (pointer, from);
    }

    /// <summary>
    /// With a shared store: copies the pointer another node stored (and the version it names, when this folder lacks
    /// it) into this folder, so <see cref="SequenceModelRepository.Refresh"/> serves what the cluster serves. Returns
    /// whether this folder's pointer changed. Nothing to do with the embedded store, whose folder is the only one.
    /// </summary>
    public async Task<bool> SyncAsync(CancellationToken cancellationToken = default)
    {
        if (!Shared) return false;
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SyncCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _decisions.Release();
        }
    }

    private async Task<bool> SyncCoreAsync(CancellationToken cancellationToken)
    {
        if (!Shared) return false;
        if (await store.GetDocumentAsync(PointerDocumentKind, PointerDocumentKey, cancellationToken).ConfigureAwait(false) is not { } json) return false;
        var pointer = SequenceServingPointer.FromJson(json);
        if (pointer.Version is { } version && !repository.HasVersion(version))
            await StoredModelFiles.PullAsync(store, repository.Root, StoredModelFiles.SequencePrefix, version, cancellationToken).ConfigureAwait(false);
        var local = File.Exists(repository.PointerPath) ? await File.ReadAllTextAsync(repository.PointerPath, cancellationToken).ConfigureAwait(false) : null;
        if (local == pointer.ToJson()) return false;
        repository.WritePointer(pointer);
        return true;
    }

    private async Task PublishPointerAsync(CancellationToken cancellationToken)
    {
        if (repository.ReadPointer() is { } pointer)
            await store.PutDocumentAsync(PointerDocumentKind, PointerDocumentKey, pointer.ToJson(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes a version's files, never pruning the serving version or the one a rollback returns to.</summary>
    private async Task PublishFilesAsync(string version, CancellationToken cancellationToken)
    {
        var pointer = repository.ReadPointer();
        var retain = pointer is null ? [] : pointer.History.TakeLast(2).Select(e => e.Version).ToArray();
        await StoredModelFiles.PublishAsync(store, repository.Root, version, StoredModelFiles.SequencePrefix, retain, cancellationToken).ConfigureAwait(false);
    }

    private Task AuditAsync(string actor, string action, string target, string detail, CancellationToken cancellationToken) =>
        store.AppendAuditAsync(new AuditEntry(time.GetUtcNow(), actor, action, target, detail), cancellationToken);

    public void Dispose() => _decisions.Dispose();
}
