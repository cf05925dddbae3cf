namespace Persona.Neural.Bert.Lora;

/// <summary>Two texts that should embed close together: a query and the item title clicked for it, or two co-bought titles.</summary>
public readonly record struct TextPair(string Anchor, string Positive);

/// <summary>Settings of <see cref="ContrastiveTuner"/>.</summary>
public sealed record ContrastiveTuningOptions
{
    public const float DefaultTemperature = 0.05f;
    public const int DefaultBatchSize = 32;
    public const int DefaultEpochs = 1;
    public const float DefaultLearningRate = 1e-3f;
    public const float DefaultWarmupFraction = 0.1f;
    public const float DefaultWeightDecay = 0.01f;
    public const float DefaultMaxGradientNorm = 1f;
    public const int DefaultMaxLength = 32;

    /// <summary>Softmax temperature τ of the in-batch InfoNCE: logits are cosine similarities / τ.</summary>
    public float Temperature { get; init; } = DefaultTemperature;

    /// <summary>Pairs per step; each pair's positive is the negative of every other anchor in the batch.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>Passes over the pairs at most.</summary>
    public int Epochs { get; init; } = DefaultEpochs;

    /// <summary>Wall-clock limit in minutes (checked after each step); null for none.</summary>
    public double? MaxMinutes { get; init; }

    /// <summary>Peak AdamW learning rate, reached after the warm-up and decayed linearly to 0 at the last step.</summary>
    public float LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>Share of the steps spent warming up linearly.</summary>
    public float WarmupFraction { get; init; } = DefaultWarmupFraction;

    /// <summary>Decoupled weight decay on the adapters (pulls them back toward the base model).</summary>
    public float WeightDecay { get; init; } = DefaultWeightDecay;

    /// <summary>Global gradient norm clip; null for none.</summary>
    public float? MaxGradientNorm { get; init; } = DefaultMaxGradientNorm;

    /// <summary>Tokens per text, [CLS] and [SEP] included (titles and queries are short; attention cost grows with its square).</summary>
    public int MaxLength { get; init; } = DefaultMaxLength;

    /// <summary>Seeds the order of the pairs in every epoch.</summary>
    public ulong Seed { get; init; }

    /// <summary>Throws on a setting outside its range.</summary>
    public void Validate()
    {
        if (!(Temperature > 0f) || !float.IsFinite(Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "The temperature must be positive.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 2, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLength, 3, nameof(MaxLength));
        if (MaxMinutes is { } minutes && !(minutes > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMinutes), minutes, "The time limit must be positive.");
        }

        if (!(LearningRate > 0f) || WarmupFraction is < 0f or > 1f || WeightDecay < 0f || MaxGradientNorm is <= 0f)
        {
            throw new ArgumentOutOfRangeException(
                nameof(LearningRate), "Learning rate and gradient clip must be positive, warm-up in [0, 1], weight decay ≥ 0.");
        }
    }
}

/// <summary>Why <see cref="ContrastiveTuner.Fit"/> stopped.</summary>
public enum TuningStop
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary><see cref="ContrastiveTuningOptions.MaxMinutes"/> ran out first.</summary>
    TimeLimit,
}

/// <summary>Reported after every step.</summary>
/// <param name="Step">Steps done (1-based).</param>
/// <param name="TotalSteps">Steps planned for all epochs.</param>
/// <param name="Epoch">Current epoch (1-based).</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="LearningRate">The rate this step used.</param>
/// <param name="Elapsed">Time since the start.</param>
public sealed record TuningProgress(int Step, int TotalSteps, int Epoch, float Loss, float LearningRate, TimeSpan Elapsed);

/// <summary>What a <see cref="ContrastiveTuner.Fit"/> run did.</summary>
/// <param name="Steps">Steps taken.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="FirstEpochLoss">Mean loss over the first epoch's steps.</param>
/// <param name="LastEpochLoss">Mean loss over the last (possibly partial) epoch's steps.</param>
/// <param name="StoppedBy">Why it stopped.</param>
/// <param name="Elapsed">Wall-clock time.</param>
public sealed record TuningResult(int Steps, int TotalSteps, float FirstEpochLoss, float LastEpochLoss, TuningStop StoppedBy, TimeSpan Elapsed)
{
    /// <summary>Mean loss of the first and of the last 50 steps (one epoch under a time limit has no later epoch to compare).</summary>
    public float StartLoss { get; init; }
    public float EndLoss { get; init; }
}
