using System.Diagnostics;
using Persona.Core.Models.Sequence;
using Persona.Core.Retrieval;

namespace Persona.Benchmarks;

/// <summary>
/// Recall@10 and query time of <see cref="VectorIndex"/>'s approximate (inverted-file) path against its exact scan:
/// on the item vectors of a trained sequence model (<c>--model DATA_DIR</c>, the partition forced by a low exact
/// limit) or on synthetic clustered vectors (<c>--rows N</c>). Queries are item vectors plus noise, as users near
/// what they interacted with.
/// </summary>
public static class AnnProbe
{
    public static void Run(string[] args)
    {
        var model = Value(args, "--model");
        var rows = int.Parse(Value(args, "--rows") ?? "200000", System.Globalization.CultureInfo.InvariantCulture);
        var random = new Random(3);
        var (vectors, dim, source) = model is null ? Synthetic(rows, 64, random) : Trained(model);
        using var exact = new VectorIndex(dim, vectors.Count, exactLimit: int.MaxValue);
        foreach (var (v, i) in vectors.Select((v, i) => (v, i))) exact.Upsert($"i{i}", v);
        var clock = Stopwatch.StartNew();
        using var approximate = new VectorIndex(dim, vectors.Count, exactLimit: Math.Min(1_000, vectors.Count - 1));
        foreach (var (v, i) in vectors.Select((v, i) => (v, i))) approximate.Upsert($"i{i}", v);
        var build = clock.Elapsed.TotalSeconds;

        const int Queries = 300, K = 10;
        double exactMs = 0, approximateMs = 0;
        var found = 0;
        for (var q = 0; q < Queries; q++)
        {
            var query = vectors[random.Next(vectors.Count)].Select(x => x + (float)(0.2 * (random.NextDouble() - 0.5))).ToArray();
            var start = Stopwatch.GetTimestamp();
            var truth = exact.Search(query, K).Select(h => h.Id).ToHashSet();
            exactMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            start = Stopwatch.GetTimestamp();
            found += approximate.Search(query, K).Count(h => truth.Contains(h.Id));
            approximateMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Console.WriteLine($"{source}: {vectors.Count:N0} vectors, d {dim}; approximate {approximate.IsApproximate}, built with every upsert in {build:0.0} s");
        Console.WriteLine($"recall@{K} {found / (double)(Queries * K):0.000}; exact {exactMs / Queries:0.000} ms/query, approximate {approximateMs / Queries:0.000} ms/query");
    }

    private static string? Value(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static (List<float[]>, int, string) Trained(string dataDirectory)
    {
        var repository = SequenceModelRepository.ForDataDirectory(dataDirectory);
        repository.Refresh();
        var model = repository.CurrentModel ?? throw new InvalidOperationException($"No trained model under {repository.Root}; run persona train first.");
        var table = model.ItemTable.ToArray(); // (items + 1, dim); row 0 is padding
        var dim = model.Dimension;
        var vectors = Enumerable.Range(1, table.Length / dim - 1).Select(r => table.AsSpan(r * dim, dim).ToArray()).ToList();
        return (vectors, dim, $"model {model.Version}");
    }

    /// <summary>Groups around 400 centres, with spread and varied norms, as item vectors of categories look.</summary>
    private static (List<float[]>, int, string) Synthetic(int rows, int dim, Random random)
    {
        float[] Gaussian(double sigma) => [.. Enumerable.Range(0, dim).Select(_ =>
            (float)(sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];
        var centres = Enumerable.Range(0, 400).Select(_ => Gaussian(1)).ToArray();
        var vectors = Enumerable.Range(0, rows).Select(_ =>
        {
            var centre = centres[random.Next(centres.Length)];
            var scale = (float)(0.6 + 0.8 * random.NextDouble());
            return centre.Zip(Gaussian(0.35), (c, n) => scale * (c + n)).ToArray();
        }).ToList();
        return (vectors, dim, "synthetic clustered");
    }
}
