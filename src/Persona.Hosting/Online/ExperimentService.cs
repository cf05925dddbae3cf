using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Core.Models.Sequence;
using Persona.Core.Online;

namespace Persona.Hosting.Online;

/// <summary>The variant a request is served by: its counters' label and its strategy.</summary>
public sealed record ExperimentAssignment(string Experiment, string Variant, string Label, Strategy Strategy);

/// <summary>What a change to an experiment came to: the experiment as it is now, or why it was refused.</summary>
public sealed record ExperimentChange(Experiment? Experiment, IReadOnlyList<FieldError> Errors, bool NotFound = false, bool Conflict = false);

/// <summary>
/// Experiments as store documents (kind <c>experiments</c>), each change audited. At most one experiment runs per
/// surface, so a request meets one assignment. A shopper who withdrew personalisation consent is never assigned: their
/// answers are served as without an experiment (the engine makes them non-personal) and counted apart.
/// </summary>
public sealed partial class ExperimentService : IDisposable
{
    public const string DocumentKind = "experiments";
    private static readonly JsonSerializerOptions Json = PersonaJson.Options;
    private readonly PersonaEngine _engine;
    private readonly OnlineLoop _online;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Experiment> _experiments = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly SequenceModelRepository? _models;
    private volatile Experiment?[] _running = new Experiment?[OnlineSurfaces.All.Count];

    /// <param name="engine">The engine whose store keeps the experiments.</param>
    /// <param name="online">The counters reports are read from.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where unreadable stored experiments are reported.</param>
    /// <param name="models">The stored sequence model versions a variant may name (none: a variant may not name one).</param>
    public ExperimentService(PersonaEngine engine, OnlineLoop online, TimeProvider time, ILogger<ExperimentService> logger, SequenceModelRepository? models = null)
    {
        _engine = engine;
        _online = online;
        _time = time;
        _logger = logger;
        _models = models;
    }

    /// <summary>Reads the stored experiments (at start, and on another node's change in a cluster).</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        // Under the change gate: a read that began before a change must not put the older version back.
        await _changes.WaitAsync(cancellationToken);
        try
        {
            foreach (var key in await _engine.Store.ListDocumentKeysAsync(DocumentKind, cancellationToken))
            {
                if (await _engine.Store.GetDocumentAsync(DocumentKind, key, cancellationToken) is not { } json) continue;
                try
                {
                    if (JsonSerializer.Deserialize<Experiment>(json, Json) is { } experiment) _experiments[experiment.Id] = experiment;
                }
                catch (JsonException ex)
                {
                    LogUnreadable(_logger, key, ex);
                }
            }
            IndexRunning();
        }
        finally
        {
            _changes.Release();
        }
    }

    public IReadOnlyList<Experiment> List() => [.. _experiments.Values.OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id, StringComparer.Ordinal)];

    public Experiment? Get(string id) => _experiments.GetValueOrDefault(id);

    /// <summary>The variant serving <paramref name="shopper"/> (a stored id) on <paramref name="surface"/>; null outside any running experiment.</summary>
    public ExperimentAssignment? Assign(OnlineSurface surface, string? shopper)
    {
        if (shopper is null || _running[(int)surface] is not { } experiment) return null;
        if (!_engine.PersonalizationAllowed(shopper))
            return new ExperimentAssignment(experiment.Id, ExperimentReport.ExcludedVariant, experiment.ExcludedLabel, new Strategy { Personalize = false });
        var variant = experiment.Assign(shopper);
        return new ExperimentAssignment(experiment.Id, variant.Name, experiment.VariantLabel(variant.Name), variant.Strategy);
    }

    public async Task<ExperimentChange> CreateAsync(Experiment draft, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var experiment = draft with { State = ExperimentState.Draft, CreatedAt = _time.GetUtcNow(), StartedAt = null, StoppedAt = null };
        if (experiment.Validate() is { Count: > 0 } errors) return new ExperimentChange(null, errors);
        var unknown = experiment.Variants
            .Select((v, i) => (v.Strategy.ModelVersion, Index: i))
            .Where(v => v.ModelVersion is not null && (_models is null || !_models.HasVersion(v.ModelVersion)))
            .Select(v => new FieldError(null, $"variants[{v.Index}].strategy.model_version",
                $"No stored sequence model version '{v.ModelVersion}' (GET /v1/admin/models lists them)."))
            .ToList();
        if (unknown.Count > 0) return new ExperimentChange(null, unknown);
        await _changes.WaitAsync(cancellationToken);
        try
        {
            if (_experiments.ContainsKey(experiment.Id))
                return new ExperimentChange(null, [new FieldError(null, "id", $"An experiment '{experiment.Id}' exists; choose another id.")], Conflict: true);
            await SaveAsync(experiment, actor, AuditActions.CreateExperiment, $"{experiment.Surface.ToWire()}: {string.Join(", ", experiment.Variants.Select(v => $"{v.Name} {v.Traffic:P0}"))}", cancellationToken);
            return new ExperimentChange(experiment, []);
        }
        finally
        {
            _changes.Release();
        }
    }

    public async Task<ExperimentChange> StartAsync(string id, string actor, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            if (!_experiments.TryGetValue(id, out var experiment)) return new ExperimentChange(null, [], NotFound: true);
            if (experiment.State != ExperimentState.Draft)
                return new ExperimentChange(experiment, [new FieldError(null, "state", $"Only a draft starts; '{id}' is {Wire(experiment.State)}.")], Conflict: true);
            if (_running[(int)experiment.Surface] is { } other)
                return new ExperimentChange(experiment, [new FieldError(null, "surface",
                    $"'{other.Id}' is running on {experiment.Surface.ToWire()}; stop it first (one experiment per surface).")], Conflict: true);
            var started = experiment with { State = ExperimentState.Running, StartedAt = _time.GetUtcNow() };
            await SaveAsync(started, actor, AuditActions.StartExperiment, null, cancellationToken);
            return new ExperimentChange(started, []);
        }
        finally
        {
            _changes.Release();
        }
    }

    public async Task<ExperimentChange> StopAsync(string id, string actor, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            if (!_experiments.TryGetValue(id, out var experiment)) return new ExperimentChange(null, [], NotFound: true);
            if (experiment.State != ExperimentState.Running)
                return new ExperimentChange(experiment, [new FieldError(null, "state", $"Only a running experiment stops; '{id}' is {Wire(experiment.State)}.")], Conflict: true);
            var stopped = experiment with { State = ExperimentState.Stopped, StoppedAt = _time.GetUtcNow() };
            var report = Report(stopped);
            await SaveAsync(stopped, actor, AuditActions.StopExperiment, report.Summary, cancellationToken);
            return new ExperimentChange(stopped, []);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Per-variant figures since the start, each tested against the control.</summary>
    public ExperimentReport Report(Experiment experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        if (experiment.StartedAt is not { } from) return ExperimentReport.Empty(experiment);
        var to = experiment.StoppedAt ?? _time.GetUtcNow();
        var rows = _online.Ledger.Query(from, to.AddTicks(1), OnlineDimensions.Surface | OnlineDimensions.Variant)
            .Where(r => r.Surface == experiment.Surface.ToWire())
            .ToDictionary(r => r.Variant!, r => r.Counts, StringComparer.Ordinal);
        return ExperimentReport.Of(experiment, label => rows.GetValueOrDefault(label));
    }

    public void Dispose() => _changes.Dispose();

    public static string Wire(ExperimentState state) => state.ToString().ToLowerInvariant();

    private async Task SaveAsync(Experiment experiment, string actor, string action, string? detail, CancellationToken cancellationToken)
    {
        await _engine.Store.PutDocumentAsync(DocumentKind, experiment.Id, JsonSerializer.Serialize(experiment, Json), cancellationToken);
        _experiments[experiment.Id] = experiment;
        IndexRunning();
        await _engine.Store.AppendAuditAsync(new AuditEntry(_time.GetUtcNow(), actor, action, experiment.Id, detail), cancellationToken);
    }

    private void IndexRunning()
    {
        var running = new Experiment?[OnlineSurfaces.All.Count];
        foreach (var experiment in _experiments.Values)
            if (experiment.State == ExperimentState.Running) running[(int)experiment.Surface] = experiment;
        _running = running;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored experiment {Key} could not be read; it is left out")]
    private static partial void LogUnreadable(ILogger logger, string key, Exception ex);
}
