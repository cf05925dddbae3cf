using Persona.Neural.Bert;
using Persona.Neural.Text;

namespace Persona.Pretrained;

/// <summary>
/// A BERT run by our own forward (<see cref="BertEncoder"/>), mean-pooled and L2-normalised as sentence-transformers
/// does. Threads are capped by running each forward on a scheduler of that many slots: the engine's Parallel.For loops
/// take their scheduler from the caller.
/// </summary>
public sealed class OwnEngineTextEncoder : BatchingTextEncoder
{
    private readonly BertEncoder _model;
    private readonly TaskScheduler? _scheduler;

    public OwnEngineTextEncoder(BertEncoder model, string kind, string version, PretrainedEncoderOptions options)
        : base(RequireModel(model).Tokenizer, model.HiddenSize, Math.Min(RequireOptions(options).MaxTokens, model.MaxLength), options.BatchSize)
    {
        _model = model;
        Kind = kind;
        Version = version;
        _scheduler = options.Threads == 0 || options.Threads >= Environment.ProcessorCount
            ? null
            : new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, options.Threads).ConcurrentScheduler;
    }

    public override string Kind { get; }

    public override string Version { get; }

    /// <summary>The engine, for callers that need token states too.</summary>
    public BertEncoder Model => _model;

    private protected override void RunBatch(TokenizedBatch batch, Span<float> output)
    {
        var result = _scheduler is null
            ? _model.Forward(batch)
            : Task.Factory.StartNew(() => _model.Forward(batch), CancellationToken.None, TaskCreationOptions.None, _scheduler)
                .GetAwaiter().GetResult();
        // BertEncoder's sentence embedding is the same masked mean, L2-normalised: (batch, hidden).
        result.SentenceEmbedding.AsSpan(0, batch.BatchSize * Dimension).CopyTo(output);
    }

    private static BertEncoder RequireModel(BertEncoder model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model;
    }

    private static PretrainedEncoderOptions RequireOptions(PretrainedEncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
