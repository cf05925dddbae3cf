using System.Security.Cryptography;
using Persona.Neural.Bert;
using Persona.Neural.Bert.Lora;
using Persona.Neural.Onnx;
using Persona.Neural.Text;
using Persona.Text;

namespace Persona.Pretrained;

/// <summary>How <see cref="TextEncoderTuning"/> fine-tunes a pretrained encoder for a shop.</summary>
public sealed record TextEncoderTuningOptions
{
    public int Rank { get; init; } = LoraOptions.DefaultRank;
    public float Alpha { get; init; } = LoraOptions.DefaultAlpha;
    public LoraTargets Targets { get; init; } = LoraOptions.DefaultTargets;
    /// <summary>Wall-clock limit of the training loop; the schedule still decays over the planned epochs.</summary>
    public double MaxMinutes { get; init; } = 5;
    public int Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = ContrastiveTuningOptions.DefaultBatchSize;
    public float LearningRate { get; init; } = ContrastiveTuningOptions.DefaultLearningRate;
    /// <summary>Word pieces per training text; titles and queries are short.</summary>
    public int MaxLength { get; init; } = ContrastiveTuningOptions.DefaultMaxLength;
    public ulong Seed { get; init; } = 17;

    public LoraOptions ToLora() => new() { Rank = Rank, Alpha = Alpha, Targets = Targets };

    internal ContrastiveTuningOptions Contrastive => new()
    {
        BatchSize = BatchSize, Epochs = Epochs, MaxMinutes = MaxMinutes, LearningRate = LearningRate, MaxLength = MaxLength, Seed = Seed,
    };

    public void Validate()
    {
        ToLora().Validate();
        Contrastive.Validate();
    }
}

/// <summary>A fine-tuned encoder: the adapters (to store) and the encoder serving them merged into the base weights.</summary>
public sealed record TunedTextEncoder(ITextEncoder Encoder, LoraAdapters Adapters, string BaseIdentity, TuningResult Result);

/// <summary>
/// LoRA fine-tuning of a pretrained encoder on a shop's pairs (query → clicked item, title → attributes, co-purchased
/// items), with our own engine (the gradients are ours), and serving the result: the adapters are merged into a copy
/// of the base weights, so a tuned encoder encodes as fast as the base on the same engine.
/// </summary>
public static class TextEncoderTuning
{
    /// <summary>
    /// The base model of <paramref name="spec"/> (<c>minilm</c>, a checkpoint folder or an .onnx file) on our own engine,
    /// with an identity of its weights that adapters are stored under, and the kind and version of the base encoder.
    /// </summary>
    public static (BertEncoder Model, string Identity, string Kind, string Version) OpenBase(string spec, PretrainedEncoderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        options ??= new PretrainedEncoderOptions();
        var encoder = PretrainedEncoders.Open(spec, new PretrainedEncoderOptions
        {
            Engine = PretrainedEngine.Own, MaxTokens = options.MaxTokens, Threads = options.Threads, BatchSize = options.BatchSize, MiniLmDllPath = options.MiniLmDllPath,
        });
        if (encoder is not OwnEngineTextEncoder own)
        {
            (encoder as IDisposable)?.Dispose();
            throw new InvalidOperationException($"Text encoder '{spec}' does not run on our own engine, which fine-tuning needs.");
        }
        return (own.Model, IdentityOf(own), own.Kind, own.Version);
    }

    /// <summary>
    /// The identity adapters trained on <paramref name="encoder"/>'s weights are stored under: its version without the
    /// pooling suffix, which already hashes the weights (or names the packaged model), on either engine.
    /// </summary>
    public static string IdentityOf(ITextEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return encoder.Version.Split('/')[0];
    }

    /// <summary>Fine-tunes LoRA adapters on <paramref name="pairs"/> and returns the merged encoder with them.</summary>
    public static TunedTextEncoder FineTune(
        string baseSpec, IReadOnlyList<TextPair> pairs, TextEncoderTuningOptions? tuning = null, PretrainedEncoderOptions? options = null,
        IProgress<TuningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        tuning ??= new TextEncoderTuningOptions();
        tuning.Validate();
        options ??= new PretrainedEncoderOptions();
        if (pairs.Count < tuning.BatchSize) throw new ArgumentException($"Fine-tuning needs at least {tuning.BatchSize} pairs (one batch); got {pairs.Count}.", nameof(pairs));
        return FineTune(OpenBase(baseSpec, options), pairs, tuning, options, progress, cancellationToken);
    }

    /// <summary>As <see cref="FineTune(string, IReadOnlyList{TextPair}, TextEncoderTuningOptions?, PretrainedEncoderOptions?, IProgress{TuningProgress}?, CancellationToken)"/>, on a base already opened by <see cref="OpenBase"/>.</summary>
    public static TunedTextEncoder FineTune(
        (BertEncoder Model, string Identity, string Kind, string Version) baseModel, IReadOnlyList<TextPair> pairs, TextEncoderTuningOptions tuning,
        PretrainedEncoderOptions options, IProgress<TuningProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tuning);
        var (model, identity, kind, version) = baseModel;
        var lora = LoraBert.Create(model, tuning.ToLora(), tuning.Seed);
        var result = new ContrastiveTuner(lora, tuning.Contrastive).Fit(pairs, progress, cancellationToken);
        return new TunedTextEncoder(Serve(lora.Merge(), kind, version, lora.Adapters, options), lora.Adapters, identity, result);
    }

    /// <summary>The base of <paramref name="baseSpec"/> with the adapters stored at <paramref name="adapterPath"/> merged in.</summary>
    /// <exception cref="InvalidDataException">The adapters were trained on another base, or the file is not an adapter file.</exception>
    public static ITextEncoder WithAdapters(string baseSpec, string adapterPath, PretrainedEncoderOptions? options = null)
    {
        options ??= new PretrainedEncoderOptions();
        if (!File.Exists(adapterPath)) throw new FileNotFoundException($"No LoRA adapter file at '{adapterPath}'.", adapterPath);
        var (model, identity, kind, version) = OpenBase(baseSpec, options);
        var adapters = LoraAdapters.Load(adapterPath, model.Config, identity);
        return Serve(model.MergeAdapters(adapters), kind, version, adapters, options);
    }

    private static OwnEngineTextEncoder Serve(BertEncoder merged, string kind, string baseVersion, LoraAdapters adapters, PretrainedEncoderOptions options)
    {
        // The tuned vectors differ from the base's: the version names the adapters' content, so stored vectors never mix.
        var parts = baseVersion.Split('/', 2);
        var tunedVersion = $"{parts[0]}+lora-{Fingerprint(adapters)}" + (parts.Length > 1 ? "/" + parts[1] : "");
        return new OwnEngineTextEncoder(merged, kind + "+lora", tunedVersion, options);
    }

    /// <summary>First 12 hex digits of SHA-256 over the adapters' values.</summary>
    public static string Fingerprint(LoraAdapters adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var tensor in adapters.Parameters)
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.ToArray().AsSpan()));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }
}
