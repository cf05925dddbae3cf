using System.CommandLine;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona evaluate --task next-item --dataset NAME --path PATH</c>: the harness of BENCHMARKS.md §1 (model,
/// popularity and item co-occurrence on one split). The data set becomes the same events and items an import stores
/// and goes through <see cref="SequenceDataset.Build"/> and <see cref="SequenceTrainer"/> as <c>persona train</c> does.
/// </summary>
internal static class NextItemEvaluation
{
    public const string Task = "next-item";

    /// <summary>Default cap on training time in the harness, so a run stays inside the 30-minute budget.</summary>
    public static readonly TimeSpan DefaultTimeLimit = TimeSpan.FromMinutes(25);

    /// <summary>Training options for <c>evaluate</c> (without <c>--seed</c>, which evaluate already has); add them with <see cref="TrainingOptionSet.AddTo"/>.</summary>
    public static TrainingOptionSet Options { get; } = new(includeSeed: false);

    /// <summary>What <c>--dataset</c> takes for next-item: the named event logs, or any name for a sequence file.</summary>
    public static string DatasetHelp =>
        $"next-item {string.Join(" or ", NextItemSources.Named.Select(s => s.Name))}, or any other name (amazon-beauty, sports, ...) for an S3-Rec style sequence file, which only labels the report (default: the last name in --path, so a folder named like a listed data set is read as that one)";

    /// <summary>What <c>--path</c> takes for next-item, per data set.</summary>
    public static string PathHelp =>
        $"next-item: {string.Join("; ", NextItemSources.Named.Select(s => $"{s.Name}: {s.PathHelp}"))}; any other name: {NextItemSources.SequenceFile.PathHelp}";

    public static async Task<int> RunAsync(string dataset, string path, FileInfo? output, SequenceTrainingOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TimeLimit is null) options = options with { TimeLimit = DefaultTimeLimit };
        NextItemReport? report = null;
        try
        {
            if (!await TrainingProgress.TryRunAsync(async progress =>
            {
                (report, _) = await NextItemBenchmark.RunAsync(dataset, path, options, trainModel: true, progress,
                    loaded: line => Console.Error.WriteLine($"{dataset}: {line}"), cancellationToken);
            }))
                return 1;
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            // The reader's message says which path and why (none or several sequence files, an unreadable attribute map).
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        Console.WriteLine(report!.ToMarkdown());
        if (output is not null) await File.WriteAllTextAsync(output.FullName, report.ToJson(), cancellationToken);
        return 0;
    }

    /// <summary>Parses the training options that <see cref="Options"/> added to the evaluate command.</summary>
    public static SequenceTrainingOptions ReadOptions(ParseResult parse) => Options.Read(parse);
}
