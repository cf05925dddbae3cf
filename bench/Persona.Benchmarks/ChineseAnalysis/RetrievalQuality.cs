namespace Persona.Benchmarks.ChineseAnalysis;

/// <summary>
/// MRR@10, NDCG@10 (binary gains, against the ideal order) and Recall@100 (relevant titles in the top 100 over
/// min(100, relevant): a query with 500 answers is not held to finding all of them), averaged over queries.
/// </summary>
public sealed class RetrievalQuality
{
    private readonly List<double> _reciprocalRanks = [];
    private double _mrr, _ndcg, _recall;

    public int Queries { get; private set; }
    public double Mrr10 => Queries == 0 ? 0 : _mrr / Queries;
    public double Ndcg10 => Queries == 0 ? 0 : _ndcg / Queries;
    public double Recall100 => Queries == 0 ? 0 : _recall / Queries;

    /// <summary>Queries where this ranking put its first relevant title higher, and lower, than <paramref name="baseline"/> (same queries, same order).</summary>
    public (int Better, int Worse) ComparedWith(RetrievalQuality baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        if (baseline.Queries != Queries) throw new ArgumentException("The baseline was measured on other queries.", nameof(baseline));
        var pairs = _reciprocalRanks.Zip(baseline._reciprocalRanks).ToList();
        return (pairs.Count(p => p.First > p.Second), pairs.Count(p => p.First < p.Second));
    }

    /// <summary>One query: <paramref name="ranked"/> best first, at most 100 read.</summary>
    public void Add(IEnumerable<int> ranked, HashSet<int> relevant)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(relevant);
        double dcg = 0, rr = 0;
        var found = 0;
        var rank = 0;
        foreach (var doc in ranked)
        {
            if (++rank > 100) break;
            if (!relevant.Contains(doc)) continue;
            found++;
            if (rank > 10) continue;
            if (rr == 0) rr = 1.0 / rank;
            dcg += 1 / Math.Log2(rank + 1);
        }
        double ideal = 0;
        for (var k = 1; k <= Math.Min(10, relevant.Count); k++) ideal += 1 / Math.Log2(k + 1);
        Queries++;
        _reciprocalRanks.Add(rr);
        _mrr += rr;
        _ndcg += ideal > 0 ? dcg / ideal : 0;
        _recall += relevant.Count > 0 ? (double)found / Math.Min(100, relevant.Count) : 0;
    }
}
