using Persona.Abstractions;
using Persona.Core.Search;
using Persona.Neural.Bert.Lora;

namespace Persona.Cli.Commands;

/// <summary>Fine-tuning pairs of a public data set, as a shop's own data would give them.</summary>
internal static class TuningPairs
{
    /// <summary>
    /// The catalog's pairs (<see cref="SemanticPairs.Build"/>) and, for amazon-beauty, (item title, next item's text)
    /// for items bought one after the other in each history without its last two items (never the evaluated steps),
    /// as many as the catalog's pairs.
    /// </summary>
    /// <remarks><paramref name="newItems"/> gives the items whose interactions the protocol hides (cold-start): never in a bought-together pair.</remarks>
    public static async Task<List<TextPair>> FromDatasetAsync(string dataset, string path, Func<IReadOnlyList<Item>, IReadOnlySet<string>>? newItems, CancellationToken cancellationToken)
    {
        var items = new List<Item>();
        List<(string User, string[] Items)> sequences = [];
        if (dataset == SearchEvaluation.AmazonBeauty) (items, sequences) = await SearchEvaluator.ReadAmazonBeautyAsync(path, cancellationToken);
        else
        {
            foreach (var (title, _) in new[] { "train.txt", "dev.txt", "test.txt" }.Select(f => Path.Combine(path, f)).Where(File.Exists).SelectMany(SearchEvaluator.ReadBio))
                items.Add(new Item { Id = $"tb-{items.Count}", Title = title });
        }
        var pairs = SemanticPairs.Build(items).Select(p => new TextPair(p.Anchor, p.Positive)).ToList();
        if (dataset == SearchEvaluation.AmazonBeauty)
        {
            var catalogPairs = pairs.Count;
            var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
            var hidden = newItems?.Invoke(items) ?? new HashSet<string>();
            foreach (var id in hidden) byId.Remove(id);
            // The last two items of each history are the test and validation steps.
            foreach (var (_, history) in sequences)
                for (var i = 0; i + 1 < history.Length - 2; i++)
                    if (byId.TryGetValue(history[i], out var a) && byId.TryGetValue(history[i + 1], out var b) && a.Title.Length > 0)
                        pairs.Add(new TextPair(a.Title, SearchFields.FullText(b)));
            // As many bought-together pairs as catalog pairs: more would teach what goes together, not what a text asks for.
            var random = new Random(17);
            var bought = pairs.Skip(catalogPairs).OrderBy(_ => random.Next()).Take(catalogPairs).ToList();
            pairs.RemoveRange(catalogPairs, pairs.Count - catalogPairs);
            pairs.AddRange(bought);
        }
        return pairs;
    }
}
