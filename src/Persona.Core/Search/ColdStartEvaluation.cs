using System.Diagnostics;
using System.Numerics.Tensors;
using Persona.Abstractions;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>
/// The cold-start protocol of issue 17 on Amazon Beauty. Beauty keeps only items with at least five interactions, so
/// cold items are made: a seeded tenth of the catalog is held out as new, and every interaction with them is removed
/// from training. For each user whose held-out last item is one of them (and who has history left), the new items are
/// ranked for them and the held-out one is looked for in the top 10. Two rankings: by category (the new items in the
/// deepest category of the user's last item first, then its parent's, and so on; new items have no popularity, so
/// within a tier the order is a seeded shuffle), and by text (cosine between the item's vector and the mean of the
/// user's last items' vectors, from the encoder under test).
/// </summary>
public static class ColdStartEvaluator
{
    /// <summary>Share of the catalog held out as new items.</summary>
    public const double ColdShare = 0.1;

    /// <summary>History items whose vectors make a user's text vector.</summary>
    public const int RecentItems = 5;

    public static async Task<SearchEvaluationReport> AmazonBeautyAsync(
        string directory, ITextEncoder encoder, int seed = 7, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var (items, sequences) = await SearchEvaluator.ReadAmazonBeautyAsync(directory, cancellationToken);
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var cold = NewItems(items, seed);
        var isCold = cold.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var cases = new List<(string User, string[] Items)>();
        foreach (var (user, all) in sequences)
        {
            if (!isCold.Contains(all[^1])) continue;
            string[] history = [.. all[..^1].Where(id => !isCold.Contains(id) && byId.ContainsKey(id))];
            if (history.Length > 0) cases.Add((user, [.. history, all[^1]]));
        }
        progress?.Report($"{cold.Count:N0} of {items.Count:N0} items held out as new; {cases.Count:N0} users' held-out item is one of them");

        var clock = Stopwatch.StartNew();
        var dim = encoder.Dimension;
        var coldVectors = new float[cold.Count * dim]; // (cold, dim)
        encoder.EncodeInBatches(cold.Select(SearchFields.FullText).ToList(), coldVectors, progress, cancellationToken);
        var encodeSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();

        var byCategory = new SearchEvaluator.Accumulator();
        var byText = new SearchEvaluator.Accumulator();
        var vectorOf = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (user, all) in cases)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = all[^1];
            var history = all[..^1];
            byCategory.Add(SearchEvaluator.RankOf(CategoryOrder(cold, byId.GetValueOrDefault(history[^1])), target));

            var recent = history[Math.Max(0, history.Length - RecentItems)..].Where(byId.ContainsKey).ToList();
            var missing = recent.Where(id => !vectorOf.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                var encoded = new float[missing.Count * dim];
                encoder.EncodeBatch([.. missing.Select(id => SearchFields.FullText(byId[id]))], encoded);
                for (var i = 0; i < missing.Count; i++) vectorOf[missing[i]] = encoded.AsSpan(i * dim, dim).ToArray();
            }
            var query = new float[dim];
            foreach (var id in recent) TensorPrimitives.Add(query, vectorOf[id], query);
            var scores = new float[cold.Count];
            for (var i = 0; i < cold.Count; i++) scores[i] = TensorPrimitives.Dot(coldVectors.AsSpan(i * dim, dim), query);
            var order = Enumerable.Range(0, cold.Count).OrderByDescending(i => scores[i]).ThenBy(i => i);
            byText.Add(SearchEvaluator.RankOf(order.Select(i => cold[i].Id), target));
        }

        return new SearchEvaluationReport
        {
            Dataset = "amazon-beauty (new items)",
            Items = cold.Count,
            EncoderSeconds = encodeSeconds,
            EvaluateSeconds = clock.Elapsed.TotalSeconds,
            Encoder = $"{encoder.Kind} {encoder.Version}",
            Rows = [byCategory.Row("same category (new items have no popularity)"), byText.Row($"text ({encoder.Kind})")],
            Notes =
            [
                $"{cold.Count:N0} items ({ColdShare:0%} of the catalog, seed {seed}) held out as new, their interactions removed from every history; "
                + $"{cases.Count:N0} users whose last item is one of them each rank the {cold.Count:N0} new items. "
                + $"Text: cosine with the mean vector of the user's last {RecentItems} items.",
            ],
        };
    }

    /// <summary>The items held out as new, in a seeded order (the tie-break within a category tier).</summary>
    public static List<Item> NewItems(IReadOnlyList<Item> items, int seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        var random = new Random(seed);
        return [.. items.OrderBy(_ => random.Next()).Take((int)Math.Round(items.Count * ColdShare))];
    }

    /// <summary>Cold items sharing the deepest category of <paramref name="last"/> first, then its parent's, and so on; the rest after.</summary>
    private static IEnumerable<string> CategoryOrder(List<Item> cold, Item? last)
    {
        var path = last?.CategoryPath ?? [];
        return cold.Select((item, at) => (item.Id, Depth: SharedDepth(item.CategoryPath, path), At: at))
            .OrderByDescending(c => c.Depth).ThenBy(c => c.At).Select(c => c.Id);
    }

    private static int SharedDepth(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var d = 0;
        while (d < a.Count && d < b.Count && string.Equals(a[d], b[d], StringComparison.OrdinalIgnoreCase)) d++;
        return d;
    }
}
