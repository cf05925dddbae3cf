using Persona.Abstractions;
using Persona.Core.Demo;

namespace Persona.Core.Evaluation;

/// <summary>
/// Scores profiles against the demo generator's latent truth: do the top category affinities name the shopper's
/// real favourite categories, does the lifecycle catch the churned, does the purchasing-power tier match.
/// </summary>
public static class ProfileQualityEvaluator
{
    /// <summary>Placeholder tier in the confusion matrix for profiles without a tier.</summary>
    public const string NoTier = "none";

    /// <summary>
    /// Evaluates the users present in both inputs (profiles of users without truth are ignored; truth without a profile
    /// is counted in <see cref="ProfileQualityReport.MissingProfiles"/>).
    /// <list type="bullet">
    /// <item>Precision@3: a profile's leaf category affinities are those whose key is not a prefix of another of its
    /// category keys (the deepest level on each path); the 3 with the highest <see cref="Affinity.Score"/> (key order
    /// breaks ties) are compared with the truth's 3 leaf keys, and the share that hits is averaged over users with at
    /// least one category affinity (a user with only 2 leaves is scored out of 2).</item>
    /// <item>Churn recall: share of truly churned users whose lifecycle is <c>churned</c>; precision: share of users
    /// labelled <c>churned</c> who truly churned.</item>
    /// <item>Tier exact match: share of users whose purchasing-power tier equals the truth's (no tier counts as a miss).</item>
    /// </list>
    /// </summary>
    public static ProfileQualityReport Evaluate(IEnumerable<Profile> profiles, IEnumerable<DemoTruth> truth)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(truth);
        var byUser = new Dictionary<string, Profile>(StringComparer.Ordinal);
        foreach (var profile in profiles) byUser[profile.UserId] = profile;

        int users = 0, truthUsers = 0, missing = 0;
        int withCategories = 0;
        double precisionSum = 0;
        int churned = 0, predictedChurned = 0, churnHits = 0;
        int isNew = 0, newHits = 0;
        int withTier = 0, tierHits = 0;
        string[] tiers = [Tiers.Low, Tiers.Mid, Tiers.High];
        var confusion = tiers.ToDictionary(t => t, _ => new[] { NoTier }.Concat(tiers).ToDictionary(p => p, _ => 0), StringComparer.Ordinal);

        foreach (var t in truth)
        {
            truthUsers++;
            if (!byUser.TryGetValue(t.UserId, out var profile))
            {
                missing++;
                continue;
            }
            users++;

            var top = TopLeafCategories(profile.Affinities.Categories, 3);
            if (top.Count > 0)
            {
                withCategories++;
                precisionSum += (double)top.Count(k => t.TopCategories.Contains(k, StringComparer.Ordinal)) / top.Count;
            }

            var labelledChurned = profile.Traits.Lifecycle == LifecycleStages.Churned;
            if (labelledChurned) predictedChurned++;
            if (t.Churned)
            {
                churned++;
                if (labelledChurned) churnHits++;
            }
            if (t.IsNew)
            {
                isNew++;
                if (profile.Traits.Lifecycle == LifecycleStages.New) newHits++;
            }

            var predictedTier = profile.Traits.PurchasingPowerTier;
            if (predictedTier is not null) withTier++;
            if (predictedTier == t.PriceTier) tierHits++;
            if (confusion.TryGetValue(t.PriceTier, out var row))
            {
                var column = predictedTier is not null && row.ContainsKey(predictedTier) ? predictedTier : NoTier;
                row[column]++;
            }
        }

        return new ProfileQualityReport
        {
            Users = users,
            TruthUsers = truthUsers,
            MissingProfiles = missing,
            UsersWithCategories = withCategories,
            TopCategoryPrecisionAt3 = Ratio(precisionSum, withCategories),
            ChurnedUsers = churned,
            PredictedChurned = predictedChurned,
            ChurnRecall = Ratio(churnHits, churned),
            ChurnPrecision = Ratio(churnHits, predictedChurned),
            NewUsers = isNew,
            NewRecall = Ratio(newHits, isNew),
            UsersWithTier = withTier,
            PriceTierExactMatch = Ratio(tierHits, users),
            TierConfusion = confusion.ToDictionary(
                r => r.Key, r => (IReadOnlyDictionary<string, int>)r.Value, StringComparer.Ordinal),
        };
    }

    /// <summary>The deepest category affinity on each path, highest score first, key order breaking ties.</summary>
    public static IReadOnlyList<string> TopLeafCategories(IReadOnlyList<Affinity> categories, int count)
    {
        var keys = categories.Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        return categories
            .Where(c => !keys.Any(k => k.Length > c.Key.Length && k.StartsWith(c.Key + CategoryPaths.Separator, StringComparison.Ordinal)))
            .OrderByDescending(c => c.Score)
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => c.Key)
            .Distinct(StringComparer.Ordinal)
            .Take(count)
            .ToArray();
    }

    private static double Ratio(double numerator, int denominator) => denominator == 0 ? 0 : numerator / denominator;
}
