using Persona.Core.Search;

namespace Persona.Cli.Commands;

/// <summary><c>persona evaluate --task search</c>: BENCHMARKS.md §2 on amazon-beauty, and the Taobao titles protocol on taobao-titles-zh.</summary>
internal static class SearchEvaluation
{
    public const string Task = "search";
    public const string AmazonBeauty = "amazon-beauty";
    public const string TaobaoTitles = "taobao-titles-zh";

    /// <summary>Runs the protocol of <paramref name="dataset"/>, prints the table, writes JSON to <paramref name="output"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string dataset, string path, FileInfo? output, int maxUsers, int seed, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(path))
        {
            Console.Error.WriteLine($"No data set folder at '{path}'.");
            return 2;
        }
        var progress = new Progress<string>(line => Console.Error.WriteLine(line));
        SearchEvaluationReport report;
        switch (dataset)
        {
            case AmazonBeauty:
                report = await SearchEvaluator.AmazonBeautyAsync(path, maxUsers: maxUsers, seed: seed, progress: progress, cancellationToken: cancellationToken);
                break;
            case TaobaoTitles:
                report = await SearchEvaluator.TaobaoTitlesAsync(path, maxQueries: maxUsers > 0 ? maxUsers : 2000, seed: seed, progress: progress, cancellationToken: cancellationToken);
                break;
            default:
                Console.Error.WriteLine($"--task search supports --dataset {AmazonBeauty} or {TaobaoTitles}, not '{dataset}'.");
                return 2;
        }
        Console.WriteLine(report.ToMarkdown());
        if (output is not null) await File.WriteAllTextAsync(output.FullName, report.ToJson(), cancellationToken);
        return 0;
    }
}
