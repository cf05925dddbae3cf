using Persona.Abstractions;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Evaluation.NextItem;

/// <summary>
/// A next-item data set read into the product's records: events and items, the options that turn them into sequences
/// (whether back-to-back repeats merge), and one line saying what was read (files, counts, attributes).
/// </summary>
public sealed record NextItemData(IReadOnlyList<StoredEvent> Events, IReadOnlyList<Item> Items, SequenceDataOptions Options, string Source);

/// <summary>A data set that <c>persona evaluate --task next-item</c> can read, by its <c>--dataset</c> name.</summary>
public interface INextItemSource
{
    /// <summary>The <c>--dataset</c> name.</summary>
    string Name { get; }

    /// <summary>What <c>--path</c> takes for this data set (one phrase, for help text).</summary>
    string PathHelp { get; }

    /// <summary>Reads the data set at <paramref name="path"/>; throws <see cref="FileNotFoundException"/> saying which path and why when it is not there.</summary>
    Task<NextItemData> ReadAsync(string path, CancellationToken cancellationToken = default);
}

/// <summary>
/// The data sets of the next-item harness by name. Any name not listed here names an S3-Rec style sequence file
/// (<see cref="SequenceFileSource"/>), as the published Amazon data sets are; a new event-log data set is a new
/// <see cref="INextItemSource"/> added to <see cref="Named"/>.
/// </summary>
public static class NextItemSources
{
    public static INextItemSource SequenceFile { get; } = new SequenceFileSource();

    /// <summary>Data sets that are event logs rather than sequence files.</summary>
    public static IReadOnlyList<INextItemSource> Named { get; } = [new TaobaoSequenceSource(), new YoochooseSequenceSource()];

    /// <summary>The source of a <c>--dataset</c> name (case-insensitive); a sequence file for any other name or none.</summary>
    public static INextItemSource For(string? dataset) =>
        Named.FirstOrDefault(s => string.Equals(s.Name, dataset, StringComparison.OrdinalIgnoreCase)) ?? SequenceFile;

    /// <summary>The one file of a folder that matches <paramref name="pattern"/>, or the path itself when it is a file.</summary>
    internal static string SingleFile(string path, string pattern, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new FileNotFoundException($"No data set at '{path}' (neither a file nor a folder).");
        var candidates = Directory.GetFiles(path, pattern).Order(StringComparer.Ordinal).ToArray();
        return candidates.Length switch
        {
            1 => candidates[0],
            0 => throw new FileNotFoundException($"'{path}' holds no {pattern} file ({what})."),
            _ => throw new FileNotFoundException(
                $"'{path}' holds {candidates.Length} {pattern} files ({string.Join(", ", candidates.Select(Path.GetFileName))}); pass the one to evaluate as --path FILE."),
        };
    }
}

/// <summary>S3-Rec style sequence files (<c>user item item …</c>), read by <see cref="SequenceFileReader"/>.</summary>
public sealed class SequenceFileSource : INextItemSource
{
    public string Name => "sequence-file";

    public string PathHelp => "an S3-Rec style file NAME.txt (`user item item ...` per line, time order; NAME_item2attributes.json beside it is used when present) or a folder holding exactly one *.txt";

    public Task<NextItemData> ReadAsync(string path, CancellationToken cancellationToken = default) => SequenceFileReader.ReadAsync(path, cancellationToken);
}
