using Persona.Core.Models.Sequence;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>Scores every item index (0 = padding, ignored) for a batch of data-set users at a split.</summary>
public interface INextItemScorer
{
    string Name { get; }

    /// <summary>Fills <paramref name="scores"/> (users.Length, items + 1); higher is better.</summary>
    void Score(SequenceDataset data, ReadOnlySpan<int> users, NextItemSplit split, Span<float> scores);
}

/// <summary>
/// Leave-one-out, full-ranking evaluation (BENCHMARKS.md §1): every item of the catalog is a candidate except the
/// user's history (seen items excluded); ties go to the lower item index, so results are deterministic.
/// </summary>
public static class NextItemEvaluator
{
    private const int Batch = 512;

    /// <summary>Evaluates the scorer on every user with enough steps for the split (or on <paramref name="users"/>).</summary>
    public static NextItemMetrics Evaluate(SequenceDataset data, INextItemScorer scorer, NextItemSplit split, IReadOnlyList<int>? users = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(scorer);
        var minimum = split == NextItemSplit.Test ? 2 : 3;
        var selected = (users ?? Enumerable.Range(0, data.Users.Count).ToArray()).Where(u => data.Users[u].Length >= minimum).ToArray();
        var width = data.ItemCount + 1;
        var ranks = new int[selected.Length];
        var lists = new int[selected.Length][];
        var scores = new float[Math.Min(Batch, Math.Max(1, selected.Length)) * width];
        for (var b0 = 0; b0 < selected.Length; b0 += Batch)
        {
            var count = Math.Min(Batch, selected.Length - b0);
            scorer.Score(data, selected.AsSpan(b0, count), split, scores.AsSpan(0, count * width));
            Parallel.For(0, count, i =>
            {
                var user = data.Users[selected[b0 + i]];
                var h = SequenceDataset.HistoryLength(user, split);
                var row = scores.AsSpan(i * width, width);
                row[0] = float.NegativeInfinity;
                for (var t = 0; t < h; t++) row[user.Items[t]] = float.NegativeInfinity;
                var target = user.Items[h];
                ranks[b0 + i] = Rank(row, target);
                lists[b0 + i] = Top(row, NextItemMetrics.ListLength);
            });
        }
        return new NextItemMetrics(ranks, lists, data.ItemCount);
    }

    /// <summary>0-based rank of <paramref name="target"/> (higher score first, ties to the lower index), −1 beyond <see cref="NextItemMetrics.MaxRank"/>.</summary>
    public static int Rank(ReadOnlySpan<float> scores, int target)
    {
        var s = scores[target];
        if (float.IsNegativeInfinity(s)) return -1;
        var rank = 0;
        for (var j = 0; j < scores.Length; j++)
        {
            var x = scores[j];
            if (x > s || (x == s && j < target)) rank++;
        }
        return rank < NextItemMetrics.MaxRank ? rank : -1;
    }

    /// <summary>Indices of the k best scores (higher first, ties to the lower index), skipping −∞.</summary>
    public static int[] Top(ReadOnlySpan<float> scores, int k)
    {
        var best = new int[k];
        var bestScores = new float[k];
        var n = 0;
        for (var j = 0; j < scores.Length; j++)
        {
            var x = scores[j];
            if (float.IsNegativeInfinity(x) || (n == k && x <= bestScores[k - 1])) continue;
            var p = n < k ? n++ : k - 1;
            while (p > 0 && bestScores[p - 1] < x)
            {
                best[p] = best[p - 1];
                bestScores[p] = bestScores[p - 1];
                p--;
            }
            best[p] = j;
            bestScores[p] = x;
        }
        return best[..n];
    }
}
