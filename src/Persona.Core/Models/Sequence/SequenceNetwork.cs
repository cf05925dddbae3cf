using Persona.Neural;
using Persona.Neural.Modules;

namespace Persona.Core.Models.Sequence;

/// <summary>Hyper-parameters of the sequence transformer (stored in the model manifest).</summary>
public sealed record SequenceNetworkConfig
{
    public int ItemCount { get; init; }

    public int AttributeCount { get; init; }

    public int Dimension { get; init; } = 64;

    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 1;

    /// <summary>Width of the feed-forward blocks, as a multiple of <see cref="Dimension"/>.</summary>
    public int FeedForwardMultiple { get; init; } = 4;

    public int MaxLength { get; init; } = 50;

    public float Dropout { get; init; } = 0.5f;
}

/// <summary>
/// A causal (SASRec-class) transformer over behaviour. An item's representation is its id embedding plus the mean of
/// its attribute embeddings (brand, category-path prefixes), so items with known attributes but no history still have
/// one; the same table scores the output (tied). A step's input adds event-type and time-gap embeddings and a learned
/// position; pre-LN encoder layers with a final norm attend causally, so position t predicts step t + 1.
/// </summary>
public sealed class SequenceNetwork : Module
{
    private int[] _attributeIds = [];
    private float[] _attributeScale = [];
    private int _attributeWidth;

    public SequenceNetwork(SequenceNetworkConfig config, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        var d = config.Dimension;
        Items = RegisterModule("item", new Embedding(config.ItemCount + 1, d, rng, paddingIndex: 0, std: 0.02f));
        Attributes = RegisterModule("attribute", new Embedding(config.AttributeCount + 1, d, rng, paddingIndex: 0, std: 0.02f));
        Types = RegisterModule("type", new Embedding(SequenceDataset.TypeCount, d, rng, paddingIndex: 0, std: 0.02f));
        Gaps = RegisterModule("gap", new Embedding(SequenceDataset.GapBuckets, d, rng, std: 0.02f));
        Positions = RegisterModule("position", new PositionalEmbedding(config.MaxLength, d, rng));
        InputNorm = RegisterModule("input_norm", new LayerNorm(d));
        InputDropout = RegisterModule("input_dropout", new Dropout(config.Dropout, rng));
        Encoder = RegisterModule("encoder", new TransformerEncoder(config.Layers, d, config.Heads, config.FeedForwardMultiple * d, rng, config.Dropout));
    }

    public SequenceNetworkConfig Config { get; }

    public Embedding Items { get; }

    public Embedding Attributes { get; }

    public Embedding Types { get; }

    public Embedding Gaps { get; }

    public PositionalEmbedding Positions { get; }

    public LayerNorm InputNorm { get; }

    public Dropout InputDropout { get; }

    public TransformerEncoder Encoder { get; }

    /// <summary>Sets the attribute tokens of every item (row = item index; row 0 is padding).</summary>
    public void SetItemAttributes(int[][] attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        if (attributes.Length != Config.ItemCount + 1) throw new ArgumentException($"{attributes.Length} attribute rows for {Config.ItemCount + 1} items.", nameof(attributes));
        _attributeWidth = Math.Max(1, attributes.Max(a => a.Length));
        _attributeIds = new int[attributes.Length * _attributeWidth];
        Array.Fill(_attributeIds, -1);
        _attributeScale = new float[attributes.Length];
        for (var i = 0; i < attributes.Length; i++)
        {
            attributes[i].CopyTo(_attributeIds, i * _attributeWidth);
            _attributeScale[i] = attributes[i].Length == 0 ? 0f : 1f / attributes[i].Length;
        }
    }

    /// <summary>
    /// Item representations: id embedding + mean attribute embedding. → (items + 1, dim). With
    /// <paramref name="idDropout"/> &gt; 0 (training), that share of items lose their id embedding for this step, which
    /// teaches the attribute embeddings to stand in for items never seen in training.
    /// </summary>
    public Tensor ItemTable(float idDropout = 0f, Rng? rng = null)
    {
        if (_attributeWidth == 0) return Items.Weight;
        var rows = Config.ItemCount + 1;
        var attrs = Ops.Embedding(Attributes.Weight, _attributeIds, rows, _attributeWidth); // (rows, width, dim), padding rows zero
        var sum = Ops.Sum(attrs, 1);                                                      // (rows, dim)
        var mean = Ops.Mul(sum, Tensor.Wrap(_attributeScale, rows, 1));                  // (rows, dim)
        var ids = Items.Weight;
        if (idDropout > 0f && rng is not null)
        {
            var keep = new float[rows];
            for (var i = 0; i < rows; i++) keep[i] = _attributeScale[i] > 0f && rng.NextFloat() < idDropout ? 0f : 1f;
            ids = Ops.Mul(ids, Tensor.Wrap(keep, rows, 1));                              // (rows, dim)
        }
        return Ops.Add(ids, mean);                                                        // (rows, dim)
    }

    /// <summary>
    /// Runs the encoder over step inputs. items (batch, seq, dim) are item representations (zero rows for padding);
    /// types and gaps (batch·seq) are step ids. Sequences are right-padded, so the causal mask alone keeps padding
    /// out of every real position. → (batch, seq, dim)
    /// </summary>
    public Tensor Encode(Tensor items, ReadOnlySpan<int> types, ReadOnlySpan<int> gaps)
    {
        var batch = items.Dim(0);
        var seq = items.Dim(1);
        var x = items + Types.Forward(types, batch, seq) + Gaps.Forward(gaps, batch, seq); // (batch, seq, dim)
        x = Positions.Forward(x);                                                            // (batch, seq, dim)
        x = InputDropout.Forward(InputNorm.Forward(x));
        return Encoder.Forward(x, causal: true);                                             // (batch, seq, dim)
    }
}
