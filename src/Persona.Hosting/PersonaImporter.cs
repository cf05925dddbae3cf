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

    /// <summary>Imports an event history through the bulk path (see <see cref="ImportEventHistoryAsync"/>); returns the records read.</summary>
    public static async Task<long> ImportEventsAsync(PersonaEngine engine, Reader<Event> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        (await ImportEventHistoryAsync(engine, read, progress, cancellationToken)).Records;

    /// <summary>
    /// Checks the whole file (nothing is written when any row has a problem), then writes it through
    /// <see cref="PersonaEngine.AppendBulkAsync"/> in transactions of <see cref="PersonaEngine.BulkChunkEvents"/> events:
    /// the file is read and normalised on one thread while the previous chunk is inserted and the one before it applied
    /// to profiles. Each committed chunk is durable; an interrupted import leaves whole chunks, and running it again
    /// stores only what is missing (ids already stored are counted as duplicates).
    /// </summary>
    public static async Task<EventImportResult> ImportEventHistoryAsync(PersonaEngine engine, Reader<Event> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(read);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var records = await CheckAsync(engine.Options.Ingestion.MaxBatchSize, read, engine.ValidateEvents, "events", progress, cancellationToken);
        var checking = clock.Elapsed;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Two chunks in flight at most: one being normalised, one waiting for the insert of the one before.
        var chunks = System.Threading.Channels.Channel.CreateBounded<StoredEvent[]>(new System.Threading.Channels.BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            try
            {
                var batch = new List<Event>(PersonaEngine.BulkChunkEvents);
                await foreach (var result in read(null, stop.Token))
                {
                    batch.Add(result.Record!.Value);
                    if (batch.Count < PersonaEngine.BulkChunkEvents) continue;
                    await chunks.Writer.WriteAsync(engine.NormalizeValidated(batch, DateTimeOffset.UtcNow), stop.Token);
                    batch.Clear();
                }
                if (batch.Count > 0) await chunks.Writer.WriteAsync(engine.NormalizeValidated(batch, DateTimeOffset.UtcNow), stop.Token);
                chunks.Writer.Complete();
            }
            catch (Exception ex)
            {
                chunks.Writer.Complete(ex);
            }
        }, CancellationToken.None);

        BulkAppendOutcome outcome;
        var writing = progress is null ? null : new SynchronousProgress<long>(done => progress.Report(new WorkProgress(WritingEvents, done, Math.Max(records, 1), WorkProgress.Events)));
        try
        {
            outcome = await engine.AppendBulkAsync(chunks.Reader.ReadAllAsync(stop.Token), writing, stop.Token);
        }
        finally
        {
            await stop.CancelAsync();
            await producer;
        }
        if (outcome.Events != records)
            throw new ImportException([$"events: the file changed between the check and the import ({records} records checked, {outcome.Events} read)."]);
        return new EventImportResult(records, outcome.Stored, outcome.Duplicates, outcome.Excluded, checking, clock.Elapsed - checking, outcome.StoreSeconds, outcome.ApplySeconds);
    }

    /// <summary>The progress stage of the writing pass of an event import, counted in events.</summary>
    public const string WritingEvents = "Importing events";

    /// <summary>Items in batches of <see cref="ItemBatch"/>, each one transaction and one catalog swap.</summary>
    public static Task<long> ImportItemsAsync(PersonaEngine engine, Reader<Item> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        ImportAsync(engine.Options.Ingestion.MaxBatchSize, ItemBatch, read, engine.ValidateItems, engine.UpsertItemsBulkAsync, "items", progress, cancellationToken);

    /// <summary>Items written per catalog swap by an import (each swap copies the catalog).</summary>
    public const int ItemBatch = 50_000;

    public static Task<long> ImportUsersAsync(PersonaEngine engine, Reader<User> read, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        ImportAsync(1000, 1000, read, engine.ValidateUsers, engine.UpsertUsersAsync, "users", progress, cancellationToken);

    private static async Task<long> ImportAsync<T>(
        int batchSize,
        int writeBatchSize,
        Reader<T> read,
        Func<IReadOnlyList<T>, IReadOnlyList<FieldError>> validate,
        Func<IReadOnlyList<T>, CancellationToken, Task<IReadOnlyList<FieldError>>> write,
        string what,
        IProgress<WorkProgress>? progress,
        CancellationToken cancellationToken)
    {
        var records = await CheckAsync(batchSize, read, validate, what, progress, cancellationToken);
        var writing = Bytes($"Importing {what}", progress);
        var values = new List<T>(writeBatchSize);
        await foreach (var result in read(writing, cancellationToken))
        {
            values.Add(result.Record!.Value);
            if (values.Count == writeBatchSize) await WriteAsync();
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

    /// <summary>The first pass: reads and validates every record; throws <see cref="ImportException"/> listing the problems, or returns the record count.</summary>
    private static async Task<long> CheckAsync<T>(
        int batchSize,
        Reader<T> read,
        Func<IReadOnlyList<T>, IReadOnlyList<FieldError>> validate,
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
        return records;
    }

    private static IProgress<ImportProgress>? Bytes(string stage, IProgress<WorkProgress>? progress) =>
        progress is null ? null : new SynchronousProgress<ImportProgress>(p => progress.Report(new WorkProgress(stage, p.BytesRead, Math.Max(p.TotalBytes, 1), WorkProgress.Bytes)));

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>What an event import did, and where its time went.</summary>
/// <param name="Records">Rows read (and checked) from the file.</param>
/// <param name="Stored">Events newly stored.</param>
/// <param name="Duplicates">Rows whose event id was stored already (earlier in the file or by an earlier import).</param>
/// <param name="Excluded">Stored events left out of profiles as bursts.</param>
/// <param name="Checking">The first pass: parsing and validation of the whole file.</param>
/// <param name="Writing">The second pass: parsing, normalisation, inserts and profile updates, overlapped.</param>
/// <param name="StoreSeconds">Of <paramref name="Writing"/>, the time in the store's transactions.</param>
/// <param name="ApplySeconds">Time applying events to profiles and observers (overlaps the inserts).</param>
public sealed record EventImportResult(long Records, long Stored, long Duplicates, long Excluded, TimeSpan Checking, TimeSpan Writing, double StoreSeconds, double ApplySeconds)
{
    /// <summary>Rows per second over both passes.</summary>
    public double EventsPerSecond => Records / Math.Max((Checking + Writing).TotalSeconds, 1e-9);
}

/// <summary>An import stopped before writing anything of the failing part; every problem found is listed.</summary>
public sealed class ImportException(IReadOnlyList<string> problems)
    : Exception($"Import rejected: {problems.Count} problem(s). First: {(problems.Count > 0 ? problems[0] : "")}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
