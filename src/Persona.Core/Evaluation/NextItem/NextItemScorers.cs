using Persona.Core.Models.Sequence;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>The sequence transformer as a scorer: user vector of the history · item table.</summary>
public sealed class SequenceModelScorer(SequenceModel model) : INextItemScorer
{
    public string Name => "sequence transformer";

    public void Score(SequenceDataset data, ReadOnlySpan<int> users, NextItemSplit split, Span<float> scores)
    {
        ArgumentNullException.ThrowIfNull(data);
        var d = model.Dimension;
        var seqs = new UserSequence[users.Length];
        var lengths = new int[users.Length];
        for (var i = 0; i < users.Length; i++)
        {
            seqs[i] = data.Users[users[i]];
            lengths[i] = SequenceDataset.HistoryLength(seqs[i], split);
        }
        var vectors = new float[users.Length * d];
        SequenceModel.EncodeHistories(model.Network, model.ItemTable, seqs, lengths, vectors);
        model.ScoreAll(vectors, users.Length, scores);
    }
}

/// <summary>Global popularity: interaction counts over every step before the test step (the validation step included).</summary>
public sealed class PopularityScorer : INextItemScorer
{
    private readonly float[] _scores;

    public PopularityScorer(SequenceDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Counts = FitCounts(data);
        _scores = Counts.Select(c => (float)c).ToArray();
    }

    public string Name => "popularity";

    /// <summary>Interactions per item index from all but each user's last step.</summary>
    public long[] Counts { get; }

    public void Score(SequenceDataset data, ReadOnlySpan<int> users, NextItemSplit split, Span<float> scores)
    {
        for (var i = 0; i < users.Length; i++) _scores.CopyTo(scores.Slice(i * _scores.Length, _scores.Length));
    }

    /// <summary>Interactions per item index over every user's steps but the last (the test item).</summary>
    public static long[] FitCounts(SequenceDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var counts = new long[data.ItemCount + 1];
        foreach (var u in data.Users)
        {
            for (var t = 0; t < u.Length - 1; t++) counts[u.Items[t]]++;
        }
        return counts;
    }
}

/// <summary>
/// Item-to-item "next item" co-occurrence: how often item b directly followed item a over every step before each
/// user's test step; a user's scores are the counts following the newest history item, popularity breaking ties.
/// </summary>
public sealed class CooccurrenceScorer : INextItemScorer
{
    private readonly Dictionary<int, Dictionary<int, int>> _next = [];
    private readonly float[] _popularity;

    public CooccurrenceScorer(SequenceDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var counts = PopularityScorer.FitCounts(data);
        var max = Math.Max(1, counts.Max());
        // Popularity scaled into [0, 1): below one co-occurrence, so it only breaks ties.
        _popularity = counts.Select(c => (float)(c / (max + 1.0))).ToArray();
        foreach (var u in data.Users)
        {
            for (var t = 0; t + 1 < u.Length - 1; t++)
            {
                if (!_next.TryGetValue(u.Items[t], out var row)) _next[u.Items[t]] = row = [];
                row[u.Items[t + 1]] = row.GetValueOrDefault(u.Items[t + 1]) + 1;
            }
        }
    }

    public string Name => "item co-occurrence";

    public void Score(SequenceDataset data, ReadOnlySpan<int> users, NextItemSplit split, Span<float> scores)
    {
        ArgumentNullException.ThrowIfNull(data);
        var width = _popularity.Length;
        for (var i = 0; i < users.Length; i++)
        {
            var row = scores.Slice(i * width, width);
            _popularity.CopyTo(row);
            var user = data.Users[users[i]];
            var h = SequenceDataset.HistoryLength(user, split);
            if (h > 0 && _next.TryGetValue(user.Items[h - 1], out var next))
            {
                foreach (var (item, count) in next) row[item] += count;
            }
        }
    }
}
