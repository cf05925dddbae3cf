using Persona.Neural.Bert.Lora;
using Persona.Neural.Text;

namespace Persona.Neural.Bert;

// Access for LoRA fine-tuning (Lora/LoraBert.cs), kept apart from the inference code.
public sealed partial class BertEncoder
{
    /// <summary>The loaded parameters, shared (never copied) by models built on this encoder.</summary>
    internal BertWeights Weights => _weights;

    /// <summary>
    /// An encoder with <paramref name="adapters"/> folded into a copy of the attention projections they target
    /// (W' = W + (alpha/rank)·B·A), so serving runs the plain inference path with no adapter cost. Same tokenizer and limits.
    /// </summary>
    public BertEncoder MergeAdapters(LoraAdapters adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        return WithWeights(adapters.MergeInto(_weights));
    }

    /// <summary>
    /// An encoder of <paramref name="config"/>'s sizes with random weights (<see cref="RandomBertWeights"/>) and a
    /// placeholder vocabulary (<c>[PAD] [UNK] [CLS] [SEP] [MASK] t5 t6 …</c>): for timing at a real model's shape.
    /// </summary>
    internal static BertEncoder WithRandomWeights(BertConfig config, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        string[] special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
        var vocabulary = special.Concat(Enumerable.Range(special.Length, Math.Max(0, config.VocabSize - special.Length)).Select(i => $"t{i}"));
        var tokenizer = new WordPieceTokenizer([.. vocabulary]);
        return new BertEncoder(config, tokenizer, RandomBertWeights.Create(config, seed), config.MaxPositionEmbeddings);
    }

    /// <summary>This encoder's configuration, tokenizer and limits over other weights of the same sizes.</summary>
    internal BertEncoder WithWeights(BertWeights weights) => new(Config, Tokenizer, weights, MaxLength);
}
