namespace Persona.Core.Ingestion;

/// <summary>
/// Limits that incoming events, items and users must respect. Bound from configuration (section
/// <c>Persona:Ingestion</c> by convention); treat an instance as immutable once validators use it.
/// </summary>
public sealed class IngestionOptions
{
    public const int DefaultMaxBatchSize = 1000;
    public const int DefaultMaxIdLength = 128;
    public const int DefaultMaxQueryBytes = 512;
    public const int DefaultMaxTextBytes = 4096;
    public const int DefaultMaxDescriptionBytes = 16384;
    public const int DefaultMaxAttributes = 64;
    public const int DefaultMaxCategoryDepth = 10;
    public const int DefaultBurstEventsPerMinute = 120;
    public const double DefaultMaxValue = 1e9;
    public const double DefaultMinRating = 1;
    public const double DefaultMaxRating = 5;

    public static readonly TimeSpan DefaultMaxFutureSkew = TimeSpan.FromDays(1);
    public static readonly DateTimeOffset DefaultMinTimestamp = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan DefaultBurstWindow = TimeSpan.FromHours(2);

    /// <summary>Most records in one request.</summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;
    /// <summary>Most UTF-8 bytes in an id (event, user, item, session) and in device/channel/brand names and category segments.</summary>
    public int MaxIdLength { get; set; } = DefaultMaxIdLength;
    /// <summary>Most UTF-8 bytes in a search query.</summary>
    public int MaxQueryBytes { get; set; } = DefaultMaxQueryBytes;
    /// <summary>Most UTF-8 bytes in an item title and in any attribute value.</summary>
    public int MaxTextBytes { get; set; } = DefaultMaxTextBytes;
    /// <summary>Most UTF-8 bytes in an item description.</summary>
    public int MaxDescriptionBytes { get; set; } = DefaultMaxDescriptionBytes;
    /// <summary>Most attributes on one item or user.</summary>
    public int MaxAttributes { get; set; } = DefaultMaxAttributes;
    /// <summary>Most levels in an item's category path.</summary>
    public int MaxCategoryDepth { get; set; } = DefaultMaxCategoryDepth;
    /// <summary>How far past the server clock an event timestamp (or a signup) may lie.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = DefaultMaxFutureSkew;
    /// <summary>Earliest accepted event timestamp.</summary>
    public DateTimeOffset MinTimestamp { get; set; } = DefaultMinTimestamp;
    /// <summary>Counted events per user per UTC minute before further ones are flagged as a burst; 0 disables.</summary>
    public int BurstEventsPerMinute { get; set; } = DefaultBurstEventsPerMinute;
    /// <summary>How far behind a user's newest event the burst detector still tracks minutes.</summary>
    public TimeSpan BurstWindow { get; set; } = DefaultBurstWindow;
    /// <summary>Largest accepted event value or item price.</summary>
    public double MaxValue { get; set; } = DefaultMaxValue;
    /// <summary>Smallest rating a <c>rate</c> event may carry.</summary>
    public double MinRating { get; set; } = DefaultMinRating;
    /// <summary>Largest rating a <c>rate</c> event may carry.</summary>
    public double MaxRating { get; set; } = DefaultMaxRating;

    /// <summary>Every problem with these settings; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxBatchSize < 1) problems.Add($"{nameof(MaxBatchSize)} must be at least 1.");
        if (MaxIdLength < 1) problems.Add($"{nameof(MaxIdLength)} must be at least 1.");
        if (MaxQueryBytes < 1) problems.Add($"{nameof(MaxQueryBytes)} must be at least 1.");
        if (MaxTextBytes < 1) problems.Add($"{nameof(MaxTextBytes)} must be at least 1.");
        if (MaxDescriptionBytes < 1) problems.Add($"{nameof(MaxDescriptionBytes)} must be at least 1.");
        if (MaxAttributes < 0) problems.Add($"{nameof(MaxAttributes)} must not be negative.");
        if (MaxCategoryDepth < 1) problems.Add($"{nameof(MaxCategoryDepth)} must be at least 1.");
        if (MaxFutureSkew < TimeSpan.Zero) problems.Add($"{nameof(MaxFutureSkew)} must not be negative.");
        if (BurstEventsPerMinute < 0) problems.Add($"{nameof(BurstEventsPerMinute)} must not be negative (0 disables burst detection).");
        if (BurstWindow < TimeSpan.FromMinutes(1)) problems.Add($"{nameof(BurstWindow)} must be at least one minute.");
        if (!double.IsFinite(MaxValue) || MaxValue <= 0) problems.Add($"{nameof(MaxValue)} must be a positive finite number.");
        if (!double.IsFinite(MinRating) || !double.IsFinite(MaxRating) || MinRating < 0 || MinRating > MaxRating)
            problems.Add($"{nameof(MinRating)} and {nameof(MaxRating)} must be finite with 0 <= {nameof(MinRating)} <= {nameof(MaxRating)}.");
        return problems;
    }
}
