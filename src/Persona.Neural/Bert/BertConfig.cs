using System.Text.Json;

namespace Persona.Neural.Bert;

/// <summary>The fields of a Hugging Face <c>config.json</c> that a BERT forward pass needs.</summary>
public sealed record BertConfig
{
    public int VocabSize { get; init; }

    public int HiddenSize { get; init; }

    public int NumHiddenLayers { get; init; }

    public int NumAttentionHeads { get; init; }

    public int IntermediateSize { get; init; }

    public int MaxPositionEmbeddings { get; init; }

    public int TypeVocabSize { get; init; } = 2;

    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary><c>gelu</c> (exact), <c>gelu_new</c> / <c>gelu_pytorch_tanh</c> (tanh form), <c>relu</c>, <c>silu</c>.</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary>Head width: hidden / heads.</summary>
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>Reads and checks <c>config.json</c>.</summary>
    public static BertConfig FromFile(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}' must hold a JSON object.");
        }

        if (root.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String &&
            type.GetString() is { } modelType && modelType != "bert")
        {
            throw new NotSupportedException($"'{path}': model_type '{modelType}' is not BERT (only 'bert' loads).");
        }

        if (root.TryGetProperty("position_embedding_type", out var position) && position.ValueKind == JsonValueKind.String &&
            position.GetString() is { } positionType && positionType != "absolute")
        {
            throw new NotSupportedException($"'{path}': position_embedding_type '{positionType}' is not supported (only 'absolute').");
        }

        var config = new BertConfig
        {
            VocabSize = RequiredInt(root, "vocab_size", path),
            HiddenSize = RequiredInt(root, "hidden_size", path),
            NumHiddenLayers = RequiredInt(root, "num_hidden_layers", path),
            NumAttentionHeads = RequiredInt(root, "num_attention_heads", path),
            IntermediateSize = RequiredInt(root, "intermediate_size", path),
            MaxPositionEmbeddings = RequiredInt(root, "max_position_embeddings", path),
            TypeVocabSize = root.TryGetProperty("type_vocab_size", out var tv) && tv.TryGetInt32(out int types) ? types : 2,
            LayerNormEps = root.TryGetProperty("layer_norm_eps", out var eps) && eps.TryGetDouble(out double e) ? e : 1e-12,
            HiddenAct = root.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String
                ? act.GetString()!
                : "gelu",
        };
        config.Validate(path);
        return config;
    }

    /// <summary>Throws when sizes are inconsistent or the activation is unknown.</summary>
    public void Validate(string source = "config")
    {
        if (VocabSize <= 0 || HiddenSize <= 0 || NumHiddenLayers < 0 || NumAttentionHeads <= 0 ||
            IntermediateSize <= 0 || MaxPositionEmbeddings <= 0 || TypeVocabSize <= 0)
        {
            throw new InvalidDataException($"'{source}': every size must be positive.");
        }

        if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new InvalidDataException(
                $"'{source}': hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}.");
        }

        if (HiddenAct is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu" or "silu" or "swish"))
        {
            throw new NotSupportedException($"'{source}': hidden_act '{HiddenAct}' is not supported.");
        }
    }

    private static int RequiredInt(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw new InvalidDataException($"'{path}' lacks the integer '{name}'.");
}
