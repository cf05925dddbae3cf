using Microsoft.Extensions.Options;
using Persona.Core.Audiences;

namespace Persona.Hosting;

/// <summary>Predictions, segments and audiences; bound from <c>Persona:Models</c>.</summary>
public sealed class PersonaModelOptions
{
    public const string SectionName = "Persona:Models";
    public const int DefaultRefreshIntervalMinutes = 60;
    public const double DefaultHorizonDays = 14;
    public const int DefaultSeed = 42;
    public const int DefaultMinUsersToTrain = 50;
    public const int DefaultProjectionSample = 500;
    public const int DefaultMaxTrainingUsers = 200_000;

    /// <summary>Minutes between scheduled refreshes; 0 refreshes only on demand (and on start).</summary>
    public int RefreshIntervalMinutes { get; set; } = DefaultRefreshIntervalMinutes;
    /// <summary>Refresh once at start when no stored results exist.</summary>
    public bool RefreshOnStart { get; set; } = true;
    /// <summary>N: predictions are about the next N days; training labels come from the last N days.</summary>
    public double HorizonDays { get; set; } = DefaultHorizonDays;
    public int Seed { get; set; } = DefaultSeed;
    /// <summary>Fixed number of segments; 0 chooses it by silhouette.</summary>
    public int SegmentCount { get; set; }
    /// <summary>
    /// At most about this many users train the propensity models: above it, a fixed share of users (chosen by a stable
    /// hash of the id, so the same users each refresh) is replayed into the training split, which otherwise holds a
    /// second profile state per shopper in memory. Predictions are still made for everyone.
    /// </summary>
    public int MaxTrainingUsers { get; set; } = DefaultMaxTrainingUsers;
    /// <summary>Below this many users with a profile, no model is trained.</summary>
    public int MinUsersToTrain { get; set; } = DefaultMinUsersToTrain;
    /// <summary>k: audience counts below it are suppressed unless a rule asks for more.</summary>
    public int AudienceMinCount { get; set; } = AudienceRule.DefaultMinCount;
    /// <summary>Points of the 2-D segment map returned by <c>GET /v1/segments</c>.</summary>
    public int ProjectionSample { get; set; } = DefaultProjectionSample;
}

public sealed class PersonaModelOptionsValidator : IValidateOptions<PersonaModelOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonaModelOptions options)
    {
        var failures = new List<string>();
        if (options.RefreshIntervalMinutes is < 0 or > 10_080) failures.Add("Persona:Models:RefreshIntervalMinutes must be between 0 and 10080.");
        if (options.HorizonDays is <= 0 or > 365 || double.IsNaN(options.HorizonDays)) failures.Add("Persona:Models:HorizonDays must be in (0, 365].");
        if (options.SegmentCount is < 0 or > 50) failures.Add("Persona:Models:SegmentCount must be between 0 (automatic) and 50.");
        if (options.MinUsersToTrain < 10) failures.Add("Persona:Models:MinUsersToTrain must be at least 10.");
        if (options.MaxTrainingUsers < options.MinUsersToTrain) failures.Add("Persona:Models:MaxTrainingUsers must be at least MinUsersToTrain.");
        if (options.AudienceMinCount < 1) failures.Add("Persona:Models:AudienceMinCount must be at least 1.");
        if (options.ProjectionSample is < 0 or > 100_000) failures.Add("Persona:Models:ProjectionSample must be between 0 and 100000.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
