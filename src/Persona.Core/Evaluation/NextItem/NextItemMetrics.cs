namespace Persona.Core.Evaluation.NextItem;

/// <summary>
/// The per-user outcomes of a next-item run: the 0-based rank of each held-out item (−1 when it ranked below
/// <see cref="MaxRank"/>) and each user's top-<see cref="ListLength"/> list; the metrics are averages over users.
/// </summary>
public sealed class NextItemMetrics
{
    public const int MaxRank = 100;
    public const int ListLength = 10;

    public NextItemMetrics(int[] ranks, int[][] topLists, int catalogSize)
    {
        Ranks = ranks;
        TopLists = topLists;
        CatalogSize = catalogSize;
    }

    /// <summary>0-based rank of each user's target, −1 when beyond <see cref="MaxRank"/>.</summary>
    public int[] Ranks { get; }

    /// <summary>Each user's recommended item indices, best first.</summary>
    public int[][] TopLists { get; }

    public int CatalogSize { get; }

    public int Users => Ranks.Length;

    /// <summary>Hit rate at k: share of users whose target ranks in the top k.</summary>
    public double HitRate(int k) => Ranks.Length == 0 ? 0 : Ranks.Count(r => Hit(r, k)) / (double)Ranks.Length;

    /// <summary>NDCG at k with one relevant item: mean of 1 / log2(rank + 2) over users whose target ranks in the top k.</summary>
    public double Ndcg(int k) => Ranks.Length == 0 ? 0 : Ranks.Sum(r => Gain(r, k)) / Ranks.Length;

    /// <summary>Catalog coverage at k: distinct items in all top-k lists / catalog size.</summary>
    public double Coverage(int k) => Coverage(TopLists, k, CatalogSize);

    public static bool Hit(int rank, int k) => rank >= 0 && rank < k;

    public static double Gain(int rank, int k) => Hit(rank, k) ? 1.0 / Math.Log2(rank + 2) : 0.0;

    public static double Coverage(IEnumerable<int[]> lists, int k, int catalogSize) =>
        catalogSize == 0 ? 0 : lists.SelectMany(l => l.Take(k)).Distinct().Count() / (double)catalogSize;

    /// <summary>
    /// Novelty: mean self-information −log2 p(i) of the recommended items, with p(i) = (count(i) + 1) / (total + catalog)
    /// from the training interactions (add-one smoothing so unseen items are finite).
    /// </summary>
    public static double Novelty(IEnumerable<int[]> lists, int k, IReadOnlyList<long> counts, int catalogSize)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var total = counts.Sum();
        double sum = 0;
        long n = 0;
        foreach (var list in lists)
        {
            foreach (var item in list.Take(k))
            {
                sum -= Math.Log2((counts[item] + 1.0) / (total + catalogSize));
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }
}
