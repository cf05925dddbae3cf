namespace Persona.Core.Demo;

/// <summary>Size and seed of a generated demo shop. The same options always give the same shop.</summary>
public sealed class DemoOptions
{
    public const int DefaultSeed = 42;
    public const int DefaultUsers = 3000;
    public const int DefaultItems = 6000;
    public const int DefaultDays = 90;
    public const double DefaultTargetEventsPerUser = 100;

    /// <summary>The fixed end of the simulated period, so output does not depend on the clock.</summary>
    public static readonly DateTimeOffset DefaultEnd = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public int Seed { get; set; } = DefaultSeed;
    public int Users { get; set; } = DefaultUsers;
    public int Items { get; set; } = DefaultItems;
    /// <summary>Length of the simulated period, ending at <see cref="End"/>.</summary>
    public int Days { get; set; } = DefaultDays;
    /// <summary>Exclusive end of the simulated period; every event happens before it.</summary>
    public DateTimeOffset End { get; set; } = DefaultEnd;
    /// <summary>Mean events per user the activity rates are calibrated to (churned and new users get fewer).</summary>
    public double TargetEventsPerUser { get; set; } = DefaultTargetEventsPerUser;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Users < 1) throw new ArgumentOutOfRangeException(nameof(Users), Users, "At least one user is needed.");
        if (Items < DemoCatalog.Leaves.Length)
            throw new ArgumentOutOfRangeException(nameof(Items), Items, $"At least {DemoCatalog.Leaves.Length} items (one per leaf category) are needed.");
        if (Days < 60) throw new ArgumentOutOfRangeException(nameof(Days), Days, "At least 60 days are needed so churned users can stay silent for 35 days.");
        if (!(TargetEventsPerUser > 0)) throw new ArgumentOutOfRangeException(nameof(TargetEventsPerUser), TargetEventsPerUser, "Must be positive.");
    }
}
