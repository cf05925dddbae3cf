using Microsoft.ML.OnnxRuntime;
using Persona.Neural.Text;

namespace Persona.Pretrained;

/// <summary>
/// A BERT-style ONNX model run by ONNX Runtime: int64 <c>input_ids</c>, <c>attention_mask</c> and (when the model has
/// it) <c>token_type_ids</c> in, the last hidden state (batch, seq, hidden) out, mean-pooled under the mask and
/// L2-normalised. Input names are read from the session; one session serves concurrent callers.
/// </summary>
public sealed class OnnxRuntimeTextEncoder : BatchingTextEncoder, IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _idsName;
    private readonly string _maskName;
    private readonly string? _typesName;
    private readonly string _hiddenName;

    private OnnxRuntimeTextEncoder(
        InferenceSession session, WordPieceTokenizer tokenizer, int dimension, string kind, string version,
        PretrainedEncoderOptions options, (string Ids, string Mask, string? Types, string Hidden) names)
        : base(tokenizer, dimension, options.MaxTokens, options.BatchSize)
    {
        _session = session;
        Kind = kind;
        Version = version;
        (_idsName, _maskName, _typesName, _hiddenName) = names;
    }

    public override string Kind { get; }

    public override string Version { get; }

    /// <summary>Opens ONNX bytes with a tokenizer; <paramref name="source"/> names the model in errors.</summary>
    public static OnnxRuntimeTextEncoder Create(
        byte[] model, WordPieceTokenizer tokenizer, string kind, string version, PretrainedEncoderOptions options, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = options.Threads,
            InterOpNumThreads = 1,
        };
        InferenceSession session;
        try
        {
            session = new InferenceSession(model, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{source}': {e.Message}", e);
        }

        try
        {
            var names = FindNames(session, source);
            var hidden = session.OutputMetadata[names.Hidden].Dimensions;
            int dimension = hidden[^1] > 0
                ? hidden[^1]
                : throw new InvalidDataException($"'{source}': output '{names.Hidden}' has no fixed hidden size.");
            return new OnnxRuntimeTextEncoder(session, tokenizer, dimension, kind, version, options, names);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public void Dispose() => _session.Dispose();

    private protected override void RunBatch(TokenizedBatch batch, Span<float> output)
    {
        long[] shape = [batch.BatchSize, batch.SequenceLength];
        var mask = batch.AttentionMask;
        using var ids = OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(batch.InputIds, v => (long)v), shape);
        using var attention = OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(mask, v => (long)v), shape);
        using var types = _typesName is null
            ? null
            : OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(batch.TokenTypeIds, v => (long)v), shape);
        var inputNames = new List<string> { _idsName, _maskName };
        var inputs = new List<OrtValue> { ids, attention };
        if (_typesName is not null)
        {
            inputNames.Add(_typesName);
            inputs.Add(types!);
        }

        using var runOptions = new RunOptions();
        using var results = _session.Run(runOptions, inputNames, inputs, [_hiddenName]);
        // (batch, seq, hidden) → (batch, hidden)
        var hidden = results[0].GetTensorDataAsSpan<float>();
        MeanPooling.Pool(hidden, mask, batch.BatchSize, batch.SequenceLength, Dimension, output);
    }

    // Inputs by their conventional names; the output is the first rank-3 float tensor (the last hidden state).
    private static (string Ids, string Mask, string? Types, string Hidden) FindNames(InferenceSession session, string source)
    {
        string? ids = null, mask = null, types = null;
        foreach (var (name, _) in session.InputMetadata)
        {
            if (name.Contains("input_ids", StringComparison.Ordinal))
            {
                ids = name;
            }
            else if (name.Contains("attention_mask", StringComparison.Ordinal))
            {
                mask = name;
            }
            else if (name.Contains("token_type", StringComparison.Ordinal))
            {
                types = name;
            }
            else
            {
                throw new InvalidDataException(
                    $"'{source}': unexpected model input '{name}' (a BERT-style encoder takes input_ids, attention_mask and optionally token_type_ids).");
            }
        }

        if (ids is null || mask is null)
        {
            throw new InvalidDataException(
                $"'{source}': the model's inputs are [{string.Join(", ", session.InputMetadata.Keys)}]; input_ids and attention_mask are required.");
        }

        string hidden = session.OutputMetadata
            .FirstOrDefault(o => o.Value.Dimensions.Length == 3 && o.Value.ElementType == typeof(float)).Key
            ?? throw new InvalidDataException($"'{source}': no (batch, seq, hidden) float output to pool.");
        return (ids, mask, types, hidden);
    }
}
