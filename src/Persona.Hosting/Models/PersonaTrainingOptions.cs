using Microsoft.Extensions.Options;
using Persona.Core.Models.Sequence;

namespace Persona.Hosting;

/// <summary>
/// The server's own retraining of the sequence model; bound from <c>Persona:Training</c>. Off unless
/// <see cref="IntervalMinutes"/> or <see cref="AfterEvents"/> is set: training takes the cores that serve requests.
/// </summary>
public sealed class PersonaTrainingOptions
{
    public const string SectionName = "Persona:Training";
    public const int DefaultMaxMinutes = 30;
    public const int MaxIntervalMinutes = 10_080;

    /// <summary>Minutes between scheduled retrains (counted from the end of the last); 0: no schedule.</summary>
    public int IntervalMinutes { get; set; }

    /// <summary>Retrain once this many new events have been stored since the last training began; 0: not by events.</summary>
    public long AfterEvents { get; set; }

    /// <summary>
    /// Training stops after the epoch that passes this many minutes (keeping its best epoch), and is abandoned at half as
    /// long again should an epoch run on; the default leaves room for a shop of a few million events on a few cores.
    /// </summary>
    public int MaxMinutes { get; set; } = DefaultMaxMinutes;

    /// <summary>Start from the serving model's weights (same settings, shared items' vectors); false trains from scratch.</summary>
    public bool WarmStart { get; set; } = true;

    /// <summary>
    /// Start the item table from the text encoder's item vectors (the search index's, <see cref="SequenceTextInit"/>), so
    /// items with few interactions sit near items described alike; items a warm start knows keep their learned rows.
    /// Off by default: on Amazon Beauty, where every item has five or more interactions, it did not help (bench/README).
    /// </summary>
    public bool TextInit { get; set; }

    /// <summary>Most epochs of a run (early stopping and <see cref="MaxMinutes"/> usually end it sooner).</summary>
    public int Epochs { get; set; } = SequenceTrainingOptions.DefaultEpochs;

    /// <summary>Whether the server trains at all.</summary>
    public bool Enabled => IntervalMinutes > 0 || AfterEvents > 0;
}

public sealed class PersonaTrainingOptionsValidator : IValidateOptions<PersonaTrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonaTrainingOptions options)
    {
        var failures = new List<string>();
        if (options.IntervalMinutes is < 0 or > PersonaTrainingOptions.MaxIntervalMinutes)
            failures.Add($"Persona:Training:IntervalMinutes must be between 0 (no schedule) and {PersonaTrainingOptions.MaxIntervalMinutes}.");
        if (options.AfterEvents is < 0 or > 1_000_000_000) failures.Add("Persona:Training:AfterEvents must be between 0 (off) and 1000000000.");
        if (options.MaxMinutes is < 1 or > 1440) failures.Add("Persona:Training:MaxMinutes must be between 1 and 1440.");
        if (options.Epochs is < 1 or > 10_000) failures.Add("Persona:Training:Epochs must be between 1 and 10000.");
        if (options.Enabled && options.IntervalMinutes > 0 && options.IntervalMinutes < options.MaxMinutes)
            failures.Add($"Persona:Training:IntervalMinutes ({options.IntervalMinutes}) must be at least MaxMinutes ({options.MaxMinutes}), or the server would do nothing but train.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
