using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Retrieval;
using Persona.Core.Search;
using Persona.Neural.Bert.Lora;
using Persona.Pretrained;

namespace Persona.Hosting;

/// <summary>What a text-encoder fine-tuning stored beside its adapters (<c>manifest.json</c>).</summary>
public sealed record TextAdapterManifest
{
    public const string FileName = "manifest.json";
    public const string AdapterFileName = "adapter.safetensors";

    public required string Version { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>The base as configured (<c>minilm</c>, a folder or an .onnx path) and the identity of its weights.</summary>
    public required string Base { get; init; }
    public required string BaseIdentity { get; init; }
    public int Rank { get; init; }
    public float Alpha { get; init; }
    public string Targets { get; init; } = "";
    public int TrainingPairs { get; init; }
    public int ValidationPairs { get; init; }
    public int Steps { get; init; }
    public double Seconds { get; init; }
    public double FirstLoss { get; init; }
    public double LastLoss { get; init; }
    /// <summary>Top-1 retrieval accuracy on the held-out pairs (each anchor against all their positives): base, then tuned.</summary>
    public double BaseAccuracy { get; init; }
    public double TunedAccuracy { get; init; }
    public bool Serves { get; init; }
    public bool Forced { get; init; }
}

/// <summary>
/// Fine-tuned text-encoder adapters under <c>DATA/models/text/&lt;version&gt;/</c> (adapters and manifest), and
/// <c>serving.json</c> naming the version in service: the one that passed the gate last, or was forced.
/// </summary>
public sealed class TextAdapterRepository(string root)
{
    public const string PointerFileName = "serving.json";

    public string Root { get; } = root;

    public static TextAdapterRepository ForDataDirectory(string dataDirectory) => new(Path.Combine(dataDirectory, "models", "text"));

    public IReadOnlyList<TextAdapterManifest> List() =>
        !Directory.Exists(Root) ? [] :
        [.. Directory.GetDirectories(Root).Select(d => Path.Combine(d, TextAdapterManifest.FileName)).Where(File.Exists)
            .Select(f => JsonSerializer.Deserialize<TextAdapterManifest>(File.ReadAllText(f), PersonaJson.Options)!).OrderBy(m => m.CreatedAt)];

    /// <summary>The version <c>serving.json</c> names; null when none does.</summary>
    public string? ServingVersion()
    {
        var pointer = Path.Combine(Root, PointerFileName);
        return File.Exists(pointer) ? JsonSerializer.Deserialize<ServingPointer>(File.ReadAllText(pointer), PersonaJson.Options)?.Version : null;
    }

    /// <summary>The serving version's manifest and adapter file for <paramref name="baseIdentity"/>; null when none serves for that base.</summary>
    public (TextAdapterManifest Manifest, string AdapterPath)? Serving(string baseIdentity)
    {
        var version = ServingVersion();
        if (string.IsNullOrEmpty(version)) return null;
        var manifestPath = Path.Combine(Root, version, TextAdapterManifest.FileName);
        if (!File.Exists(manifestPath)) return null;
        var manifest = JsonSerializer.Deserialize<TextAdapterManifest>(File.ReadAllText(manifestPath), PersonaJson.Options)!;
        return manifest.BaseIdentity == baseIdentity ? (manifest, Path.Combine(Root, version, TextAdapterManifest.AdapterFileName)) : null;
    }

    /// <summary>Writes the version's folder whole (a temporary folder moved into place), then points serving at it when it serves.</summary>
    public void Save(TextAdapterManifest manifest, LoraAdapters adapters)
    {
        Directory.CreateDirectory(Root);
        var temp = Path.Combine(Root, "." + manifest.Version + ".tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        adapters.Save(Path.Combine(temp, TextAdapterManifest.AdapterFileName), manifest.BaseIdentity);
        File.WriteAllText(Path.Combine(temp, TextAdapterManifest.FileName), JsonSerializer.Serialize(manifest, PersonaJson.Options));
        Directory.Move(temp, Path.Combine(Root, manifest.Version));
        if (!manifest.Serves) return;
        var pointer = Path.Combine(Root, PointerFileName);
        File.WriteAllText(pointer + ".tmp", JsonSerializer.Serialize(new ServingPointer(manifest.Version), PersonaJson.Options));
        File.Move(pointer + ".tmp", pointer, overwrite: true);
    }

    private sealed record ServingPointer(string Version);
}

/// <summary>
/// <c>persona train --task text-encoder</c>: LoRA fine-tuning of a pretrained encoder on the shop's own pairs — logged
/// (query, clicked item), (title, brand + category), (title fragment, item) and (item, an item often bought or viewed
/// after it) — gated on held-out pairs: the adapters serve only when they retrieve the held-out pairs' positives better
/// than the base does.
/// </summary>
public static class TextEncoderTraining
{
    /// <summary>Share of the pairs held out for the gate (at most <see cref="MaxValidationPairs"/>).</summary>
    public const double ValidationShare = 0.1;
    public const int MaxValidationPairs = 512;
    /// <summary>Followers per item taken as co-visitation pairs.</summary>
    public const int FollowersPerItem = 2;

    /// <summary>The shop's pairs, shuffled with <paramref name="seed"/>.</summary>
    public static List<TextPair> Pairs(IReadOnlyList<Item> items, IEnumerable<(string Query, string ItemId)> clicks, ItemPairs? coVisitation, int seed = 17)
    {
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var clicked = clicks.Where(c => byId.ContainsKey(c.ItemId)).Select(c => (c.Query, byId[c.ItemId]));
        var pairs = SemanticPairs.Build(items, clicked, seed).Select(p => new TextPair(p.Anchor, p.Positive)).ToList();
        if (coVisitation is not null)
            foreach (var item in items)
                foreach (var follower in coVisitation.Followers(item.Id, FollowersPerItem))
                    if (item.Title.Length > 0 && byId.TryGetValue(follower.Id, out var next))
                        pairs.Add(new TextPair(item.Title, SearchFields.FullText(next)));
        var random = new Random(seed);
        return [.. pairs.OrderBy(_ => random.Next())];
    }

    /// <summary>Fine-tunes, measures the gate, stores the adapters (serving when they pass or <paramref name="force"/>); returns the manifest.</summary>
    public static TextAdapterManifest Run(
        TextAdapterRepository repository, string baseSpec, IReadOnlyList<TextPair> pairs, TextEncoderTuningOptions tuning, PretrainedEncoderOptions options,
        bool force, IProgress<TuningProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(pairs);
        var validationCount = Math.Min(MaxValidationPairs, (int)(pairs.Count * ValidationShare));
        if (validationCount < 2 || pairs.Count - validationCount < tuning.BatchSize)
            throw new InvalidOperationException($"Fine-tuning needs more data: {pairs.Count} pairs from the catalog, clicks and co-visitation (at least {tuning.BatchSize + 2 * 10}).");
        var validation = pairs.Take(validationCount).ToList();
        var training = pairs.Skip(validationCount).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var opened = TextEncoderTuning.OpenBase(baseSpec, options);
        var baseAccuracy = ContrastiveTuner.RetrievalAccuracy(LoraBert.Create(opened.Model, tuning.ToLora(), tuning.Seed), validation, tuning.MaxLength);
        var tuned = TextEncoderTuning.FineTune(opened, training, tuning, options, progress, cancellationToken);
        var tunedAccuracy = ContrastiveTuner.RetrievalAccuracy(LoraBert.Create(opened.Model, tuned.Adapters), validation, tuning.MaxLength);
        var version = "text-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        for (var n = 2; Directory.Exists(Path.Combine(repository.Root, version)); n++) version = version.Split('~')[0] + "~" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var manifest = new TextAdapterManifest
        {
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Base = baseSpec,
            BaseIdentity = tuned.BaseIdentity,
            Rank = tuning.Rank,
            Alpha = tuning.Alpha,
            Targets = LoraOptions.FormatTargets(tuning.Targets),
            TrainingPairs = training.Count,
            ValidationPairs = validation.Count,
            Steps = tuned.Result.Steps,
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
            FirstLoss = tuned.Result.StartLoss,
            LastLoss = tuned.Result.EndLoss,
            BaseAccuracy = baseAccuracy,
            TunedAccuracy = tunedAccuracy,
            Serves = force || tunedAccuracy > baseAccuracy,
            Forced = force && tunedAccuracy <= baseAccuracy,
        };
        repository.Save(manifest, tuned.Adapters);
        (tuned.Encoder as IDisposable)?.Dispose();
        return manifest;
    }
}
