namespace Persona.Neural.Optim;

/// <summary>A learning rate as a function of the (0-based) step.</summary>
public abstract class LearningRateSchedule
{
    public abstract float At(int step);

    /// <summary>Linear warm-up from peak/warmup to peak over the first <paramref name="warmupSteps"/> steps.</summary>
    protected static float Warmup(float peak, int warmupSteps, int step) => peak * (step + 1) / warmupSteps;
}

/// <summary>Linear warm-up, then cosine decay from <c>peak</c> to <c>minimum</c> at <c>totalSteps</c> (constant after).</summary>
public sealed class WarmupCosineSchedule : LearningRateSchedule
{
    private readonly float _peak;
    private readonly int _warmupSteps;
    private readonly int _totalSteps;
    private readonly float _minimum;

    public WarmupCosineSchedule(float peak, int warmupSteps, int totalSteps, float minimum = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, warmupSteps);
        (_peak, _warmupSteps, _totalSteps, _minimum) = (peak, warmupSteps, totalSteps, minimum);
    }

    public override float At(int step)
    {
        if (step < _warmupSteps)
        {
            return Warmup(_peak, _warmupSteps, step);
        }

        var span = Math.Max(1, _totalSteps - _warmupSteps);
        var progress = Math.Clamp((float)(step - _warmupSteps) / span, 0f, 1f);
        return _minimum + ((_peak - _minimum) * 0.5f * (1f + MathF.Cos(MathF.PI * progress)));
    }
}

/// <summary>Linear warm-up, then linear decay from <c>peak</c> to <c>end</c> at <c>totalSteps</c> (constant after).</summary>
public sealed class WarmupLinearSchedule : LearningRateSchedule
{
    private readonly float _peak;
    private readonly int _warmupSteps;
    private readonly int _totalSteps;
    private readonly float _end;

    public WarmupLinearSchedule(float peak, int warmupSteps, int totalSteps, float end = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, warmupSteps);
        (_peak, _warmupSteps, _totalSteps, _end) = (peak, warmupSteps, totalSteps, end);
    }

    public override float At(int step)
    {
        if (step < _warmupSteps)
        {
            return Warmup(_peak, _warmupSteps, step);
        }

        var span = Math.Max(1, _totalSteps - _warmupSteps);
        var progress = Math.Clamp((float)(step - _warmupSteps) / span, 0f, 1f);
        return _peak + ((_end - _peak) * progress);
    }
}
