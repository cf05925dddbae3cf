using System.Security.Cryptography;
using Persona.Neural.Bert;
using Persona.Neural.Onnx;
using Persona.Neural.Text;
using Persona.Text;

namespace Persona.Pretrained;

/// <summary>Opens a pretrained text encoder from a configuration string.</summary>
public static class PretrainedEncoders
{
    /// <summary>The spec that names the packaged all-MiniLM-L6-v2.</summary>
    public const string MiniLm = "minilm";

    /// <summary>
    /// Opens <paramref name="spec"/>: <c>minilm</c> (the packaged all-MiniLM-L6-v2, on <see cref="PretrainedEncoderOptions.Engine"/>),
    /// a Hugging Face checkpoint folder (<c>config.json</c>, <c>model.safetensors</c>, <c>vocab.txt</c>; our own engine) or an
    /// <c>.onnx</c> file with <c>vocab.txt</c> beside it (ONNX Runtime, or our own engine when asked).
    /// The result is <see cref="IDisposable"/> when it holds native resources.
    /// </summary>
    /// <exception cref="ArgumentException">The spec or an option is invalid.</exception>
    /// <exception cref="FileNotFoundException">The model or a file it needs is missing; the message names the path.</exception>
    /// <exception cref="InvalidDataException">A model file is there but unreadable; the message names it.</exception>
    public static ITextEncoder Open(string spec, PretrainedEncoderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        options ??= new PretrainedEncoderOptions();
        options.Validate();
        if (string.Equals(spec.Trim(), MiniLm, StringComparison.OrdinalIgnoreCase))
        {
            return OpenMiniLm(options);
        }

        if (Directory.Exists(spec))
        {
            return OpenCheckpoint(spec, options);
        }

        if (spec.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return OpenOnnx(spec, options);
        }

        throw File.Exists(spec)
            ? new ArgumentException(
                $"Text encoder '{spec}' is a file but not an .onnx model; use 'minilm', a Hugging Face checkpoint folder or an .onnx file.",
                nameof(spec))
            : new FileNotFoundException(
                $"Text encoder '{spec}' is neither 'minilm' nor an existing checkpoint folder or .onnx file.", spec);
    }

    private static ITextEncoder OpenMiniLm(PretrainedEncoderOptions options)
    {
        var package = MiniLmPackage.Read(options.MiniLmDllPath);
        var tokenizer = new WordPieceTokenizer(package.Vocabulary, new WordPieceOptions { DoLowerCase = true });
        string version = $"{MiniLmPackage.ModelVersion}/mean/{options.MaxTokens}";
        return OpenOnnxBytes(package.Model, tokenizer, MiniLm, version, options, package.DllPath);
    }

    private static ITextEncoder OpenOnnx(string path, PretrainedEncoderOptions options)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string vocab = Path.Combine(directory, WordPieceTokenizer.VocabFileName);
        if (!File.Exists(vocab))
        {
            throw new FileNotFoundException(
                $"ONNX model '{path}' needs its tokenizer's {WordPieceTokenizer.VocabFileName} beside it: '{vocab}' is missing.", vocab);
        }

        var tokenizer = WordPieceTokenizer.FromDirectory(directory);
        var bytes = File.ReadAllBytes(path);
        string version = $"onnx-{Hash(bytes, File.ReadAllBytes(vocab))}/mean/{options.MaxTokens}";
        return OpenOnnxBytes(bytes, tokenizer, "onnx", version, options, path);
    }

    private static ITextEncoder OpenOnnxBytes(
        byte[] model, WordPieceTokenizer tokenizer, string kind, string version, PretrainedEncoderOptions options, string source)
    {
        if (options.Engine == PretrainedEngine.OnnxRuntime)
        {
            return OnnxRuntimeTextEncoder.Create(model, tokenizer, kind, version, options, source);
        }

        var bert = OnnxBertLoader.Load(OnnxModel.Parse(model, source), tokenizer, options.MaxTokens, source: source);
        return new OwnEngineTextEncoder(bert, kind, version, options);
    }

    private static ITextEncoder OpenCheckpoint(string directory, PretrainedEncoderOptions options)
    {
        string[] required = ["config.json", BertEncoder.WeightsFileName, WordPieceTokenizer.VocabFileName];
        var missing = required.Where(name => !File.Exists(Path.Combine(directory, name))).ToList();
        if (missing.Count > 0)
        {
            throw new FileNotFoundException(
                $"Checkpoint folder '{directory}' lacks {string.Join(", ", missing)} (a Hugging Face BERT checkpoint needs " +
                $"{string.Join(", ", required)}).", Path.Combine(directory, missing[0]));
        }

        var bert = BertEncoder.Load(directory);
        string version = "checkpoint-" + Hash([.. required.Select(name => File.ReadAllBytes(Path.Combine(directory, name)))]) +
                         $"/mean/{Math.Min(options.MaxTokens, bert.MaxLength)}";
        return new OwnEngineTextEncoder(bert, "checkpoint", version, options);
    }

    // First 12 hex digits of SHA-256 over the files: enough to tell weights apart, short enough to read in a status.
    private static string Hash(params byte[][] files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            sha.AppendData(file);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }
}
