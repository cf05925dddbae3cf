using Persona.Abstractions;
using Persona.Core.Demo;

namespace Persona.Core.Tests.Demo;

/// <summary>
/// A deliberately plain profile builder (counts, no decay) used to show that the generator's latent signals can be
/// recovered from behaviour alone: affinities at every category level, lifecycle from silence, tier from the mean
/// within-leaf price percentile of what was carted or bought.
/// </summary>
internal static class DemoOracle
{
    public static string LeafKey(Item item) => CategoryPaths.Key(item.CategoryPath, item.CategoryPath.Count);

    public static Dictionary<string, double> LeafPercentiles(IEnumerable<Item> items)
    {
        var percentiles = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var leaf in items.GroupBy(LeafKey))
        {
            var sorted = leaf.OrderBy(i => i.Price).ThenBy(i => i.Id, StringComparer.Ordinal).ToArray();
            for (var k = 0; k < sorted.Length; k++)
                percentiles[sorted[k].Id] = sorted.Length == 1 ? 0.5 : (double)k / (sorted.Length - 1);
        }
        return percentiles;
    }

    public static IReadOnlyList<Profile> BuildProfiles(DemoShop shop)
    {
        var items = shop.Items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var percentiles = LeafPercentiles(shop.Items);
        var end = shop.Options.End;
        var profiles = new List<Profile>();
        foreach (var user in shop.Events.GroupBy(e => e.UserId))
        {
            var events = user.ToArray();
            var scores = new Dictionary<(string Key, int Level), double>();
            foreach (var e in events.Where(e => e.ItemId is not null))
            {
                var path = items[e.ItemId!].CategoryPath;
                for (var level = 1; level <= path.Count; level++)
                {
                    var key = (CategoryPaths.Key(path, level), level);
                    scores[key] = scores.GetValueOrDefault(key) + 1;
                }
            }
            var categories = scores
                .Select(s => new Affinity(s.Key.Key, s.Key.Key, s.Key.Key, s.Key.Level, s.Value, 0))
                .OrderByDescending(a => a.Score).ToArray();

            var first = events.Min(e => e.Timestamp!.Value);
            var last = events.Max(e => e.Timestamp!.Value);
            var lifecycle = (end - last).TotalDays >= 30 ? LifecycleStages.Churned
                : (end - first).TotalDays <= 14 ? LifecycleStages.New
                : LifecycleStages.Active;

            var bought = events.Where(e => e.Type is EventType.Purchase or EventType.AddToCart && e.ItemId is not null).ToArray();
            var basis = bought.Length > 0 ? bought : events.Where(e => e.ItemId is not null).ToArray();
            string? tier = null;
            if (basis.Length > 0)
            {
                var mean = basis.Average(e => percentiles[e.ItemId!]);
                tier = mean < 1.0 / 3 ? Tiers.Low : mean < 2.0 / 3 ? Tiers.Mid : Tiers.High;
            }

            profiles.Add(new Profile
            {
                UserId = user.Key,
                Traits = new Traits { Rfm = new Rfm(0, 0, 0, 0, 0, 0), Lifecycle = lifecycle, PurchasingPowerTier = tier, FirstSeen = first, LastSeen = last },
                Affinities = new Affinities { Categories = categories },
            });
        }
        return profiles;
    }
}
