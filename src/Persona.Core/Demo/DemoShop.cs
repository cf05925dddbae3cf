using Persona.Abstractions;

namespace Persona.Core.Demo;

/// <summary>A generated shop: catalog, users, their events (sorted by time) and the latent truth behind them.</summary>
public sealed record DemoShop(
    IReadOnlyList<Item> Items,
    IReadOnlyList<User> Users,
    IReadOnlyList<Event> Events,
    IReadOnlyList<DemoTruth> Truth,
    DemoOptions Options);

/// <summary>
/// What the generator knew about a user, against which profiles are scored. Category keys are leaf keys
/// (<see cref="CategoryPaths.Key"/> of the whole English path). Hours are UTC; the shoppers live in UTC+8.
/// </summary>
public sealed record DemoTruth
{
    public required string UserId { get; init; }
    /// <summary>The 3 preferred leaf categories, most preferred first.</summary>
    public required IReadOnlyList<string> TopCategories { get; init; }
    /// <summary>Weights of <see cref="TopCategories"/> (sum to 1).</summary>
    public IReadOnlyList<double> TopCategoryWeights { get; init; } = [];
    /// <summary>Share of item interactions that explore outside the top categories.</summary>
    public double ExploreRate { get; init; }
    /// <summary><c>low</c>, <c>mid</c> or <c>high</c>: the third of within-leaf prices the user mostly chooses from.</summary>
    public required string PriceTier { get; init; }
    /// <summary>0..1: how strongly price puts the user off buying, and how often they use coupons.</summary>
    public double PriceSensitivity { get; init; }
    /// <summary>Probability of choosing a favourite brand when one sells in the category.</summary>
    public double BrandLoyalty { get; init; }
    /// <summary>English names of the favourite brands.</summary>
    public IReadOnlyList<string> FavoriteBrands { get; init; } = [];
    public bool Churned { get; init; }
    /// <summary>When a churned user stopped: they have no events at or after this instant.</summary>
    public DateTimeOffset? ChurnedAt { get; init; }
    /// <summary>Signed up within the last 14 days before the end of the period.</summary>
    public bool IsNew { get; init; }
    public DateTimeOffset SignupAt { get; init; }
    /// <summary>
    /// The generator's latent purchase rate while active: expected purchases per calendar day between
    /// <see cref="ActiveFrom"/> and the churn instant (or the end). Outcomes are Poisson-like draws around it.
    /// </summary>
    public double PurchaseRatePerDay { get; init; }
    /// <summary>Start of the user's activity (signup, or the start of the period).</summary>
    public DateTimeOffset ActiveFrom { get; init; }
    /// <summary>Mean sessions per active day.</summary>
    public double SessionsPerDay { get; init; }
    /// <summary>The user's peak hours of day (UTC), main peak first.</summary>
    public IReadOnlyList<int> PreferredHoursUtc { get; init; } = [];
    public string PreferredDevice { get; init; } = "";
    public string PreferredChannel { get; init; } = "";
    public int EventCount { get; init; }
    public int PurchaseCount { get; init; }
    public DateTimeOffset? LastEventAt { get; init; }
}
