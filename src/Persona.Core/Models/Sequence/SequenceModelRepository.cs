using System.Globalization;

namespace Persona.Core.Models.Sequence;

/// <summary>
/// Versioned sequence models on disk: <c>ROOT/&lt;version&gt;/{model.safetensors, manifest.json}</c>, where ROOT is
/// <c>DATA/models/sequence</c>. Versions sort by name (<c>seq-yyyyMMddTHHmmssZ</c>), the newest complete one serves.
/// <see cref="Refresh"/> only lists the folder unless a newer version appeared, so the server can call it often.
/// </summary>
public sealed class SequenceModelRepository : ISequenceModelProvider
{
    private readonly object _gate = new();
    private SequenceModel? _current;

    public SequenceModelRepository(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = root;
    }

    /// <summary>The repository of a data folder: <c>DATA/models/sequence</c>.</summary>
    public static SequenceModelRepository ForDataDirectory(string dataDirectory) => new(Path.Combine(dataDirectory, "models", "sequence"));

    public string Root { get; }

    public ISequenceModel? Current => Volatile.Read(ref _current);

    /// <summary>The loaded model as its concrete type (item table, network), or null.</summary>
    public SequenceModel? CurrentModel => Volatile.Read(ref _current);

    /// <summary>Complete versions (those with a manifest and weights), oldest first.</summary>
    public IReadOnlyList<string> ListVersions()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.EnumerateDirectories(Root)
            .Where(d => File.Exists(Path.Combine(d, SequenceModelManifest.FileName)) && File.Exists(Path.Combine(d, SequenceModelManifest.WeightsFileName)))
            .Select(Path.GetFileName)
            .Select(n => n!)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Loads the newest version when it differs from the current one; true when the current model changed.</summary>
    public bool Refresh()
    {
        var versions = ListVersions();
        if (versions.Count == 0) return false;
        var latest = versions[^1];
        if (_current?.Version == latest) return false;
        lock (_gate)
        {
            if (_current?.Version == latest) return false;
            var model = SequenceModel.Load(Path.Combine(Root, latest));
            Volatile.Write(ref _current, model);
            return true;
        }
    }

    /// <summary>Loads a given version.</summary>
    public SequenceModel Load(string version) => SequenceModel.Load(Path.Combine(Root, version));

    /// <summary>
    /// Stores a trained model as a new version (written to a temporary folder, then moved into place, so readers never
    /// see half a model) and makes it current. Returns the version.
    /// </summary>
    public string Save(SequenceTrainingResult result, SequenceTrainingOptions options, IReadOnlyDictionary<string, double>? extraMetrics = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(Root);
        var stamp = DateTimeOffset.UtcNow;
        var version = "seq-" + stamp.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        for (var n = 2; Directory.Exists(Path.Combine(Root, version)); n++)
            version = "seq-" + stamp.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + n.ToString(CultureInfo.InvariantCulture);
        var metrics = new Dictionary<string, double>(extraMetrics ?? new Dictionary<string, double>())
        {
            ["validation_ndcg10"] = result.BestValidationNdcg10,
            ["best_epoch"] = result.BestEpoch,
            ["epochs_run"] = result.EpochsRun,
            ["training_seconds"] = result.Elapsed.TotalSeconds,
        };
        var model = result.Model;
        var manifest = new SequenceModelManifest
        {
            Version = version,
            CreatedAt = stamp,
            Network = model.Network.Config,
            Training = options,
            Items = model.Vocabulary.ItemIds,
            Attributes = model.Vocabulary.AttributeTokens,
            Metrics = metrics,
        };
        var temp = Path.Combine(Root, "." + version + ".tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        model.Save(temp, manifest);
        Directory.Move(temp, Path.Combine(Root, version));
        lock (_gate)
        {
            Volatile.Write(ref _current, SequenceModel.Load(Path.Combine(Root, version)));
        }
        return version;
    }
}

/// <summary>Training from a store, the path of <c>persona train</c> and of the server's trainer.</summary>
public static class SequenceTraining
{
    /// <summary>Store document kind of training reports (key: the model version).</summary>
    public const string TrainingDocumentKind = "training";

    /// <summary>Builds the data set from the store's events and items, trains, and saves a new version into the repository.</summary>
    public static async Task<(string Version, SequenceTrainingResult Result, SequenceDataset Data)> TrainFromStoreAsync(
        Abstractions.IPersonaStore store, SequenceModelRepository repository, SequenceTrainingOptions options,
        IProgress<SequenceTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var data = await SequenceDataset.FromStoreAsync(store, cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = await Task.Run(() => SequenceTrainer.Train(data, options, progress, cancellationToken), cancellationToken).ConfigureAwait(false);
        var version = repository.Save(result, options, new Dictionary<string, double> { ["users"] = data.Users.Count, ["items"] = data.ItemCount });
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
            Options = options,
        };
        await store.PutDocumentAsync(TrainingDocumentKind, version, System.Text.Json.JsonSerializer.Serialize(report, Abstractions.PersonaJson.Options), cancellationToken).ConfigureAwait(false);
        return (version, result, data);
    }
}
