namespace Persona.Core.Ranking;

/// <summary>
/// Maximal marginal relevance: picks, one at a time, the candidate maximising
/// (1 − diversity) · relevance − diversity · (greatest similarity to anything already picked).
/// Diversity 0 returns the relevance order (stable: equal relevance keeps the given order).
/// </summary>
public static class Mmr
{
    /// <summary>Indices into <paramref name="relevance"/> (0..1 each), in pick order, at most <paramref name="n"/>.</summary>
    public static int[] Select(IReadOnlyList<double> relevance, int n, double diversity, Func<int, int, double> similarity)
    {
        ArgumentNullException.ThrowIfNull(relevance);
        ArgumentNullException.ThrowIfNull(similarity);
        if (diversity is < 0 or > 1 || double.IsNaN(diversity)) throw new ArgumentOutOfRangeException(nameof(diversity));
        n = Math.Min(n, relevance.Count);
        var picked = new List<int>(n);
        if (n <= 0) return [];
        if (diversity == 0)
        {
            var order = Enumerable.Range(0, relevance.Count).ToArray();
            // Stable sort on relevance, highest first.
            return [.. order.OrderByDescending(i => relevance[i]).Take(n)];
        }
        var taken = new bool[relevance.Count];
        // maxSim[i]: greatest similarity of candidate i to any picked item so far.
        var maxSim = new double[relevance.Count];
        while (picked.Count < n)
        {
            var best = -1;
            var bestValue = double.NegativeInfinity;
            for (var i = 0; i < relevance.Count; i++)
            {
                if (taken[i]) continue;
                var value = (1 - diversity) * relevance[i] - diversity * maxSim[i];
                if (value > bestValue)
                {
                    bestValue = value;
                    best = i;
                }
            }
            taken[best] = true;
            picked.Add(best);
            for (var i = 0; i < relevance.Count; i++)
                if (!taken[i]) maxSim[i] = Math.Max(maxSim[i], similarity(best, i));
        }
        return [.. picked];
    }
}
