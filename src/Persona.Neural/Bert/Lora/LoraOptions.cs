namespace Persona.Neural.Bert.Lora;

/// <summary>Which dense projections of each encoder layer get an adapter.</summary>
[Flags]
public enum LoraTargets
{
    None = 0,
    Query = 1,
    Key = 2,
    Value = 4,

    /// <summary>The attention output projection.</summary>
    Output = 8,
}

/// <summary>Shape of the LoRA adapters: ΔW = (alpha / rank)·B·A on each targeted projection.</summary>
public sealed record LoraOptions
{
    public const int DefaultRank = 8;
    public const float DefaultAlpha = 16f;
    public const LoraTargets DefaultTargets = LoraTargets.Query | LoraTargets.Value;

    public int Rank { get; init; } = DefaultRank;

    public float Alpha { get; init; } = DefaultAlpha;

    public LoraTargets Targets { get; init; } = DefaultTargets;

    /// <summary>alpha / rank, the factor on B·A.</summary>
    public float Scale => Alpha / Rank;

    /// <summary>Throws when the rank is not positive, alpha is not finite and positive, or no target is set.</summary>
    public void Validate()
    {
        if (Rank <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Rank), Rank, "The LoRA rank must be positive.");
        }

        if (!float.IsFinite(Alpha) || Alpha <= 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "LoRA alpha must be a positive number.");
        }

        if (Targets == LoraTargets.None || (Targets & ~(LoraTargets.Query | LoraTargets.Key | LoraTargets.Value | LoraTargets.Output)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Targets), Targets, "Choose one or more of Query, Key, Value, Output.");
        }
    }

    /// <summary>The targets as short names in a fixed order: q, k, v, o.</summary>
    public static string FormatTargets(LoraTargets targets) =>
        string.Join(",", TargetOrder.Where(t => targets.HasFlag(t)).Select(ShortName));

    /// <summary>Parses <see cref="FormatTargets"/>'s output.</summary>
    public static LoraTargets ParseTargets(string text)
    {
        var targets = LoraTargets.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            targets |= part switch
            {
                "q" => LoraTargets.Query,
                "k" => LoraTargets.Key,
                "v" => LoraTargets.Value,
                "o" => LoraTargets.Output,
                _ => throw new FormatException($"Unknown LoRA target '{part}' (expected q, k, v or o)."),
            };
        }

        return targets;
    }

    internal static readonly LoraTargets[] TargetOrder = [LoraTargets.Query, LoraTargets.Key, LoraTargets.Value, LoraTargets.Output];

    internal static string ShortName(LoraTargets target) => target switch
    {
        LoraTargets.Query => "q",
        LoraTargets.Key => "k",
        LoraTargets.Value => "v",
        LoraTargets.Output => "o",
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "Not a single target."),
    };
}
