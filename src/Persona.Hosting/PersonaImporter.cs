using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Import;
using Persona.Core.Ingestion;

namespace Persona.Hosting;

/// <summary>Loads a generated demo shop through the same checked, all-or-nothing path as file imports.</summary>
public static class PersonaImporter
{
    public static async Task ImportShopAsync(PersonaEngine engine, DemoShop shop, IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        await FileImporter.ImportItemsAsync(engine, InMemory(shop.Items, "demo items"), progress, cancellationToken);
        await FileImporter.ImportUsersAsync(engine, InMemory(shop.Users, "demo users"), progress, cancellationToken);
        await FileImporter.ImportEventsAsync(engine, InMemory(shop.Events, "demo events"), progress, cancellationToken);
    }

    /// <summary>Records as if read from a file, one per line, with progress counted in records.</summary>
    private static FileImporter.Reader<T> InMemory<T>(IReadOnlyList<T> records, string name) =>
        (progress, cancellationToken) => Enumerate(records, name, progress, cancellationToken);

    private static async IAsyncEnumerable<ImportResult<T>> Enumerate<T>(
        IReadOnlyList<T> records, string name, IProgress<ImportProgress>? progress,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 0; i < records.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ImportResult<T>.Success(records[i], name, i + 1);
            if ((i + 1) % 10_000 == 0 || i + 1 == records.Count)
                progress?.Report(new ImportProgress(name, i + 1, records.Count, i + 1, 0));
        }
    }
}

/// <summary>
/// Imports files in two passes: the first parses and validates the whole file (every problem is collected,
/// with its file, line and field), the second writes it in batches. A file with any problem writes nothing.
/// </summary>
public static class FileImporter
{
    /// <summary>Problems listed in an <see cref="ImportException"/> at most; the count is always complete.</summary>
    public const int MaxReportedProblems = 50;

    public delegate IAsyncEnumerable<ImportResult<T>> Reader<T>(IProgress<ImportProgress>? progress, CancellationToken cancellationToken);

    public static Task<long> ImportEventsAsync(PersonaEngine engine, Reader<Event> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        ImportAsync(engine.Options.Ingestion.MaxBatchSize, read, engine.ValidateEvents,
            async (batch, ct) => { var outcome = await engine.IngestEventsAsync(batch, ct); return outcome.Errors; },
            "events", progress, cancellationToken);

    public static Task<long> ImportItemsAsync(PersonaEngine engine, Reader<Item> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        ImportAsync(1000, read, engine.ValidateItems, engine.UpsertItemsAsync, "items", progress, cancellationToken);

    public static Task<long> ImportUsersAsync(PersonaEngine engine, Reader<User> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        ImportAsync(1000, read, engine.ValidateUsers, engine.UpsertUsersAsync, "users", progress, cancellationToken);

    private static async Task<long> ImportAsync<T>(
        int batchSize,
        Reader<T> read,
        Func<IReadOnlyList<T>, IReadOnlyList<FieldError>> validate,
        Func<IReadOnlyList<T>, CancellationToken, Task<IReadOnlyList<FieldError>>> write,
        string what,
        IProgress<WorkProgress>? progress,
        CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var problemCount = 0L;
        var records = 0L;
        var batch = new List<ImportRecord<T>>(batchSize);

        void Check()
        {
            foreach (var error in validate(batch.ConvertAll(r => r.Value)))
            {
                var record = batch[error.Index ?? 0];
                Report(new ImportError(record.File, record.Line, error.Field, error.Message).ToString());
            }
            batch.Clear();
        }
        void Report(string problem)
        {
            problemCount++;
            if (problems.Count < MaxReportedProblems) problems.Add(problem);
        }

        var checking = Bytes($"Checking {what}", progress);
        await foreach (var result in read(checking, cancellationToken))
        {
            if (result.Error is { } error) { Report(error.ToString()); continue; }
            batch.Add(result.Record!);
            records++;
            if (batch.Count == batchSize) Check();
        }
        if (batch.Count > 0) Check();
        if (problemCount > 0)
        {
            if (problemCount > problems.Count) problems.Add($"… and {problemCount - problems.Count} more problem(s).");
            throw new ImportException(problems);
        }

        var writing = Bytes($"Importing {what}", progress);
        var values = new List<T>(batchSize);
        await foreach (var result in read(writing, cancellationToken))
        {
            values.Add(result.Record!.Value);
            if (values.Count == batchSize) await WriteAsync();
        }
        if (values.Count > 0) await WriteAsync();
        return records;

        async Task WriteAsync()
        {
            var errors = await write(values, cancellationToken);
            if (errors.Count > 0) throw new ImportException(errors.Select(e => $"{what}: field `{e.Field}`: {e.Message} (the data changed between the check and the import)").ToList());
            values.Clear();
        }
    }

    private static IProgress<ImportProgress>? Bytes(string stage, IProgress<WorkProgress>? progress) =>
        progress is null ? null : new SynchronousProgress(p => progress.Report(new WorkProgress(stage, p.BytesRead, Math.Max(p.TotalBytes, 1))));

    private sealed class SynchronousProgress(Action<ImportProgress> report) : Progress<ImportProgress>
    {
        protected override void OnReport(ImportProgress value) => report(value);
    }
}

/// <summary>An import stopped before writing anything of the failing part; every problem found is listed.</summary>
public sealed class ImportException(IReadOnlyList<string> problems)
    : Exception($"Import rejected: {problems.Count} problem(s). First: {(problems.Count > 0 ? problems[0] : "")}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
