using Microsoft.Extensions.Options;
using Persona.Pretrained;
using Persona.Text;

namespace Persona.Hosting;

/// <summary>
/// Which text encoder serves semantic search (<c>Persona:Text</c>): <c>in-domain</c> (trained on the catalog and clicks
/// at start), <c>minilm</c> (the packaged all-MiniLM-L6-v2), a Hugging Face checkpoint folder, or an <c>.onnx</c> file
/// with <c>vocab.txt</c> beside it.
/// </summary>
public sealed class PersonaTextOptions
{
    public const string SectionName = "Persona:Text";
    public const string InDomain = "in-domain";

    public string Encoder { get; set; } = InDomain;
    /// <summary>Engine for <c>minilm</c> and .onnx models: <c>OnnxRuntime</c> (default) or <c>Own</c>.</summary>
    public PretrainedEngine Engine { get; set; } = PretrainedEngine.OnnxRuntime;
    /// <summary>Word pieces per text, <c>[CLS]</c> and <c>[SEP]</c> included; product titles rarely need more than 128.</summary>
    public int MaxTokens { get; set; } = 128;
    /// <summary>Threads one encode call may use; 0 means one per core.</summary>
    public int Threads { get; set; }
    public int BatchSize { get; set; } = PretrainedEncoderOptions.DefaultBatchSize;
    /// <summary>
    /// Fine-tuned adapters served on the pretrained encoder: <c>auto</c> (default: the version <c>persona train --task
    /// text-encoder</c> put in service under <c>DATA/models/text</c>, when it was trained on this base), <c>none</c>, or
    /// the path of an adapter file.
    /// </summary>
    public string Adapter { get; set; } = AutoAdapter;

    /// <summary>
    /// With <c>Adapter = auto</c>: how often the server looks for a new serving version under <c>DATA/models/text</c>
    /// (written by <c>persona train --task text-encoder</c>) and, when there is one, encodes the catalog with it and
    /// serves it without a restart; 0 only at start.
    /// </summary>
    public int AdapterPollSeconds { get; set; } = DefaultAdapterPollSeconds;

    public const int DefaultAdapterPollSeconds = 30;
    public const string AutoAdapter = "auto";
    public const string NoAdapter = "none";

    /// <summary>Whether the served adapters follow the serving pointer under <c>DATA/models/text</c>.</summary>
    public bool FollowsServingAdapter => !IsInDomain && string.Equals(Adapter, AutoAdapter, StringComparison.OrdinalIgnoreCase);

    public bool IsInDomain => string.IsNullOrWhiteSpace(Encoder) || string.Equals(Encoder.Trim(), InDomain, StringComparison.OrdinalIgnoreCase);

    public PretrainedEncoderOptions ToPretrainedOptions() => new() { Engine = Engine, MaxTokens = MaxTokens, Threads = Threads, BatchSize = BatchSize };

    /// <summary>
    /// The configured pretrained encoder, opened now; null for <c>in-domain</c>. A missing or unreadable model throws
    /// <see cref="InvalidOperationException"/> naming the setting and the path, so the server does not start without it.
    /// </summary>
    public ITextEncoder? OpenPretrained(string? dataDirectory = null)
    {
        if (IsInDomain) return null;
        var spec = Encoder.Trim();
        try
        {
            if (string.Equals(Adapter, NoAdapter, StringComparison.OrdinalIgnoreCase)) return PretrainedEncoders.Open(spec, ToPretrainedOptions());
            if (!string.Equals(Adapter, AutoAdapter, StringComparison.OrdinalIgnoreCase)) return TextEncoderTuning.WithAdapters(spec, Adapter, ToPretrainedOptions());
            var encoder = PretrainedEncoders.Open(spec, ToPretrainedOptions());
            if (dataDirectory is null || TextAdapterRepository.ForDataDirectory(dataDirectory) is not { } repository || !Directory.Exists(repository.Root)
                || repository.Serving(TextEncoderTuning.IdentityOf(encoder)) is not { } serving)
                return encoder;
            // Adapters serve merged into the weights on our own engine: the base opened to name them is not needed.
            (encoder as IDisposable)?.Dispose();
            return TextEncoderTuning.WithAdapters(spec, serving.AdapterPath, ToPretrainedOptions());
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new InvalidOperationException($"{SectionName}:Encoder '{Encoder}' could not be opened: {ex.Message}", ex);
        }
    }
}

public sealed class PersonaTextOptionsValidator : IValidateOptions<PersonaTextOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonaTextOptions options)
    {
        var failures = new List<string>();
        if (options.MaxTokens is < 3 or > 512) failures.Add($"{PersonaTextOptions.SectionName}:MaxTokens must be between 3 and 512.");
        if (options.Threads is < 0 or > 256) failures.Add($"{PersonaTextOptions.SectionName}:Threads must be between 0 (one per core) and 256.");
        if (options.AdapterPollSeconds is < 0 or > 86_400) failures.Add($"{PersonaTextOptions.SectionName}:AdapterPollSeconds must be between 0 (only at start) and 86400.");
        if (options.BatchSize is < 1 or > 1024) failures.Add($"{PersonaTextOptions.SectionName}:BatchSize must be between 1 and 1024.");
        if (!Enum.IsDefined(options.Engine)) failures.Add($"{PersonaTextOptions.SectionName}:Engine must be OnnxRuntime or Own.");
        if (!options.IsInDomain && !string.Equals(options.Encoder.Trim(), PretrainedEncoders.MiniLm, StringComparison.OrdinalIgnoreCase)
            && !Directory.Exists(options.Encoder) && !File.Exists(options.Encoder))
            failures.Add($"{PersonaTextOptions.SectionName}:Encoder '{options.Encoder}' is not in-domain, minilm, a checkpoint folder or an .onnx file that exists.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
