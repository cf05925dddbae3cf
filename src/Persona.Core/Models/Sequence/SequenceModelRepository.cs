using System.Globalization;

namespace Persona.Core.Models.Sequence;

/// <summary>
/// Versioned sequence models on disk: <c>ROOT/&lt;version&gt;/{model.safetensors, manifest.json}</c>, where ROOT is
/// <c>DATA/models/sequence</c>. Versions sort by name (<c>seq-yyyyMMddTHHmmssZ</c>). The version that serves is the one
/// <c>ROOT/serving.json</c> names (<see cref="SequenceServingPointer"/>), with the versions that served before it; a
/// folder without the pointer (written before it existed) serves its newest complete version, as it always did, and
/// the first decision that needs the pointer pins that version in it. <see cref="Refresh"/> reads the small pointer and
/// lists the folder, loading a model only when the serving version changed, so the server can call it often.
/// </summary>
public sealed class SequenceModelRepository : ISequenceModelProvider
{
    private readonly Lock _gate = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SequenceModelVersion> _described = new(StringComparer.Ordinal);
    private SequenceModel? _current;

    public SequenceModelRepository(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = root;
    }

    /// <summary>The repository of a data folder: <c>DATA/models/sequence</c>.</summary>
    public static SequenceModelRepository ForDataDirectory(string dataDirectory) => new(Path.Combine(dataDirectory, "models", "sequence"));

    public string Root { get; }

    /// <summary>Path of the serving pointer.</summary>
    public string PointerPath => Path.Combine(Root, SequenceServingPointer.FileName);

    public ISequenceModel? Current => Volatile.Read(ref _current);

    /// <summary>The loaded model as its concrete type (item table, network), or null.</summary>
    public SequenceModel? CurrentModel => Volatile.Read(ref _current);

    /// <summary>Complete versions (those with a manifest and weights), oldest first.</summary>
    public IReadOnlyList<string> ListVersions()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.EnumerateDirectories(Root)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && IsComplete(d))
            .Select(Path.GetFileName)
            .Select(n => n!)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Whether the folder holds <paramref name="version"/> complete.</summary>
    public bool HasVersion(string version) =>
        IsSafeName(version) && IsComplete(Path.Combine(Root, version));

    private static bool IsComplete(string directory) =>
        File.Exists(Path.Combine(directory, SequenceModelManifest.FileName)) && File.Exists(Path.Combine(directory, SequenceModelManifest.WeightsFileName));

    /// <summary>A folder name: never hidden, never a way out of ROOT.</summary>
    private static bool IsSafeName(string version) =>
        !string.IsNullOrEmpty(version) && !version.StartsWith('.') && version.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && version != "..";

    /// <summary>The serving pointer, or null for a folder that has none yet.</summary>
    public SequenceServingPointer? ReadPointer() =>
        File.Exists(PointerPath) ? SequenceServingPointer.FromJson(File.ReadAllText(PointerPath)) : null;

    /// <summary>
    /// The version that should serve: the pointer's, or without a pointer the newest complete one; null when there is
    /// none, or when the pointer names a version this folder does not hold (yet: a cluster node still copying it).
    /// </summary>
    public string? ServingVersion()
    {
        if (ReadPointer() is { Version: { } pinned }) return HasVersion(pinned) ? pinned : null;
        var versions = ListVersions();
        return versions.Count == 0 ? null : versions[^1];
    }

    /// <summary>Loads the serving version when it differs from the current one; true when the current model changed.</summary>
    public bool Refresh()
    {
        var target = ServingVersion();
        if (target is null || _current?.Version == target) return false;
        lock (_gate)
        {
            if (_current?.Version == target) return false;
            var model = SequenceModel.Load(Path.Combine(Root, target));
            Volatile.Write(ref _current, model);
            return true;
        }
    }

    /// <summary>Loads a given version.</summary>
    public SequenceModel Load(string version) => SequenceModel.Load(Path.Combine(Root, version));

    /// <summary>
    /// Stores a trained model as a new version (written to a temporary folder, then moved into place, so readers never
    /// see half a model) and makes it serve. Returns the version.
    /// </summary>
    public string Save(SequenceTrainingResult result, SequenceTrainingOptions options, IReadOnlyDictionary<string, double>? extraMetrics = null)
    {
        var version = Store(result, options, extraMetrics);
        Serve(version, SequenceServingDecisions.Forced, "train");
        return version;
    }

    /// <summary>
    /// Stores a trained model as a new version without making it serve (the gate decides, then <see cref="Serve"/>).
    /// A folder without a pointer first gets one pinning the version serving now, so the new one does not serve
    /// merely by being the newest.
    /// </summary>
    public string Store(SequenceTrainingResult result, SequenceTrainingOptions options, IReadOnlyDictionary<string, double>? extraMetrics = null, SequenceGateOutcome? gate = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(Root);
        lock (_gate)
        {
            if (!File.Exists(PointerPath) && ServingVersion() is { } legacy)
                WritePointer(new SequenceServingPointer().With(new SequenceServingEntry(legacy, DateTimeOffset.UtcNow, SequenceServingDecisions.Adopted, "system")));
        }
        var stamp = DateTimeOffset.UtcNow;
        var version = "seq-" + stamp.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        for (var n = 2; Directory.Exists(Path.Combine(Root, version)); n++)
            version = "seq-" + stamp.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + n.ToString(CultureInfo.InvariantCulture);
        var model = result.Model;
        var manifest = SequenceModelManifest.For(result, options, version, stamp, extraMetrics) with { Gate = gate };
        var temp = Path.Combine(Root, "." + version + ".tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        model.Save(temp, manifest);
        Directory.Move(temp, Path.Combine(Root, version));
        return version;
    }

    /// <summary>
    /// Makes a stored version serve (appended to the pointer's history) and loads it; returns the new pointer.
    /// Throws <see cref="UnknownModelVersionException"/> naming the version when the folder does not hold it.
    /// </summary>
    public SequenceServingPointer Serve(string version, string decision, string actor)
    {
        ArgumentException.ThrowIfNullOrEmpty(decision);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        if (!HasVersion(version)) throw Unknown(version);
        lock (_gate)
        {
            var pointer = ReadPointer() ?? new SequenceServingPointer();
            if (pointer.Version is null && ServingVersion() is { } legacy && legacy != version)
                pointer = pointer.With(new SequenceServingEntry(legacy, DateTimeOffset.UtcNow, SequenceServingDecisions.Adopted, "system"));
            var model = SequenceModel.Load(Path.Combine(Root, version));
            pointer = pointer.With(new SequenceServingEntry(version, DateTimeOffset.UtcNow, decision, actor));
            WritePointer(pointer);
            Volatile.Write(ref _current, model);
            return pointer;
        }
    }

    /// <summary>
    /// Serves the version that served before the current one again (the current entry leaves the history) and loads it;
    /// returns the new pointer. Throws <see cref="InvalidOperationException"/> when no earlier version is recorded, and
    /// <see cref="UnknownModelVersionException"/> when the folder no longer holds it.
    /// </summary>
    public SequenceServingPointer Rollback()
    {
        lock (_gate)
        {
            var pointer = ReadPointer();
            if (pointer?.Previous is not { } previous)
                throw new InvalidOperationException(pointer?.Version is { } only
                    ? $"Nothing to roll back to: {only} is the only version that has served from {Root}."
                    : $"Nothing to roll back to: no version has been served from {Root} by a recorded decision yet.");
            if (!HasVersion(previous)) throw Unknown(previous);
            var model = SequenceModel.Load(Path.Combine(Root, previous));
            pointer = pointer.RolledBack();
            WritePointer(pointer);
            Volatile.Write(ref _current, model);
            return pointer;
        }
    }

    /// <summary>Writes the pointer atomically (a temporary file renamed over the old one).</summary>
    public void WritePointer(SequenceServingPointer pointer)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        Directory.CreateDirectory(Root);
        var temp = Path.Combine(Root, "." + SequenceServingPointer.FileName + "." + Guid.NewGuid().ToString("n") + ".tmp");
        File.WriteAllText(temp, pointer.ToJson());
        File.Move(temp, PointerPath, overwrite: true);
    }

    /// <summary>Every complete version with its manifest's figures and whether it serves, oldest first.</summary>
    public IReadOnlyList<SequenceModelVersion> Describe()
    {
        var serving = ServingVersion();
        var list = new List<SequenceModelVersion>();
        foreach (var version in ListVersions())
        {
            // A stored version never changes, and its manifest lists every item id (megabytes at a million items):
            // read once, then served from memory to the Models page's polls.
            if (!_described.TryGetValue(version, out var described))
            {
                try
                {
                    var manifest = SequenceModel.ReadManifest(Path.Combine(Root, version));
                    described = new SequenceModelVersion(version, manifest.CreatedAt, false, manifest.Metrics, manifest.Gate);
                    _described[version] = described;
                }
                catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or InvalidDataException or UnauthorizedAccessException)
                {
                    described = new SequenceModelVersion(version, null, false, new Dictionary<string, double>(), null);
                }
            }
            list.Add(described with { Serving = version == serving });
        }
        return list;
    }

    private UnknownModelVersionException Unknown(string version)
    {
        var versions = ListVersions();
        return new UnknownModelVersionException(version,
            $"No sequence model version '{version}' in {Root}" + (versions.Count == 0 ? " (it holds none)." : $" (it holds {string.Join(", ", versions)})."));
    }
}

/// <summary>A stored version as <c>persona models list</c> and <c>GET /v1/admin/models</c> show it.</summary>
/// <param name="Version">The folder name.</param>
/// <param name="CreatedAt">When it was trained.</param>
/// <param name="Serving">Whether it is the version that serves.</param>
/// <param name="Metrics">The training run's figures (validation_ndcg10, best_epoch, epochs_run, training_seconds, users, items).</param>
/// <param name="Gate">The gate's verdict when it was trained; null for versions from before the gate.</param>
public sealed record SequenceModelVersion(string Version, DateTimeOffset? CreatedAt, bool Serving, IReadOnlyDictionary<string, double> Metrics, SequenceGateOutcome? Gate)
{
    public double? ValidationNdcg10 => Metrics.TryGetValue("validation_ndcg10", out var v) ? v : null;
}

/// <summary>What one training run from the store did: the stored version, the run's figures, its data and the gate's verdict.</summary>
/// <param name="Version">The stored version (serving or not, as <paramref name="Gate"/> says).</param>
/// <param name="Result">The trained model and its run's figures.</param>
/// <param name="Data">The data set it was trained on.</param>
/// <param name="Gate">The gate's verdict.</param>
/// <param name="WarmStartedFrom">The serving version whose weights the run started from; null for a cold start.</param>
/// <param name="SharedItems">Items of the new vocabulary whose id embedding came from that version.</param>
public sealed record SequenceTrainingRun(
    string Version, SequenceTrainingResult Result, SequenceDataset Data, SequenceGateOutcome Gate, string? WarmStartedFrom, int SharedItems);

/// <summary>Training from a store, the path of <c>persona train</c> and of the server's trainer.</summary>
public static class SequenceTraining
{
    /// <summary>Store document kind of training reports (key: the model version).</summary>
    public const string TrainingDocumentKind = "training";

    /// <summary>
    /// Builds the data set from the store's events and items, trains (from the serving model's weights when
    /// <paramref name="warmStart"/> is given), judges the new model against the serving one
    /// (<see cref="SequenceModelGate"/>) and stores it as a new version, which serves when it passed the gate, is the
    /// first, or <paramref name="force"/> is set. <paramref name="actor"/> is who asked, for the serving history.
    /// </summary>
    public static async Task<SequenceTrainingRun> TrainFromStoreAsync(
        Abstractions.IPersonaStore store, SequenceModelRepository repository, SequenceTrainingOptions options,
        IProgress<SequenceTrainingProgress>? progress = null, bool force = false, SequenceModel? warmStart = null, string actor = "train",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var data = await SequenceDataset.FromStoreAsync(store, cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = await Task.Run(() => SequenceTrainer.Train(data, options, progress, warmStart, cancellationToken), cancellationToken).ConfigureAwait(false);
        repository.Refresh();
        var serving = repository.CurrentModel;
        var gate = await Task.Run(() => SequenceModelGate.Judge(result, serving, data, force), cancellationToken).ConfigureAwait(false);
        var version = repository.Store(result, options, new Dictionary<string, double> { ["users"] = data.Users.Count, ["items"] = data.ItemCount }, gate);
        if (gate.Serves) repository.Serve(version, gate.Decision, actor);
        // The training curve as a store document, for the dashboard's Models page and anyone reading the API.
        var report = new
        {
            Version = version,
            Users = data.Users.Count,
            Items = data.ItemCount,
            result.BestEpoch,
            result.EpochsRun,
            BestValidationNdcg10 = result.BestValidationNdcg10,
            ElapsedSeconds = Math.Round(result.Elapsed.TotalSeconds, 1),
            ValidationNdcg10ByEpoch = result.ValidationByEpoch,
            Gate = gate,
            WarmStartedFrom = warmStart?.Version,
            Options = options,
        };
        await store.PutDocumentAsync(TrainingDocumentKind, version, System.Text.Json.JsonSerializer.Serialize(report, Abstractions.PersonaJson.Options), cancellationToken).ConfigureAwait(false);
        var shared = warmStart is null ? 0 : data.Vocabulary.ItemIds.Count(id => warmStart.Vocabulary.ItemIndex(id) > 0);
        return new SequenceTrainingRun(version, result, data, gate, warmStart?.Version, shared);
    }
}
