namespace Persona.Storage.Sqlite;

/// <summary>Where and how the embedded SQLite store keeps its file.</summary>
public sealed class SqliteStoreOptions
{
    public const string DefaultFileName = "persona.db";
    public const int DefaultBusyTimeoutMilliseconds = 10_000;
    public const int DefaultReadPageSize = 10_000;
    public const int DefaultWriterCacheSizeKib = 64 * 1024;
    public const int DefaultWalAutoCheckpointPages = 10_000;
    public const int DefaultBulkCacheSizeKib = 512 * 1024;

    /// <summary>Folder holding the database file and its WAL; created when missing.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>Database file name inside <see cref="DataDirectory"/>.</summary>
    public string FileName { get; set; } = DefaultFileName;

    /// <summary>How long a connection waits for a lock held by another process before failing.</summary>
    public int BusyTimeoutMilliseconds { get; set; } = DefaultBusyTimeoutMilliseconds;

    /// <summary>
    /// Rows fetched per page by the streaming readers. Each page is read in its own short read transaction,
    /// so a slow consumer never pins the WAL and blocks checkpoints.
    /// </summary>
    public int ReadPageSize { get; set; } = DefaultReadPageSize;

    /// <summary>
    /// Page cache of the writer connection. The unique index on event ids takes random inserts; keeping it
    /// in cache is what keeps ingest fast once the log outgrows the default 2 MiB cache.
    /// </summary>
    public int WriterCacheSizeKib { get; set; } = DefaultWriterCacheSizeKib;

    /// <summary>
    /// WAL size (in 4 KiB pages) that triggers a checkpoint into the main file. Larger than SQLite's 1,000:
    /// random event ids touch pages all over the id index, and a page rewritten by many batches is then copied
    /// to the main file (and fsynced) once per checkpoint instead of once per few batches. Costs up to about
    /// 40 MiB of WAL on disk; measured roughly 1.5–2x faster ingest with <c>synchronous=FULL</c>.
    /// </summary>
    public int WalAutoCheckpointPages { get; set; } = DefaultWalAutoCheckpointPages;

    /// <summary>
    /// Page cache of the writer during a bulk append (a history import), returned to <see cref="WriterCacheSizeKib"/>
    /// after it. Each bulk transaction inserts ids and users all over the two event indexes; when the indexes fit in
    /// cache a page is read once and written once per transaction instead of being evicted and re-read between rows.
    /// Measured on 2M Taobao-shaped events: 64 MiB → 43,000 rows/s, 1 GiB → 56,000 rows/s (SQLite alone).
    /// </summary>
    public int BulkCacheSizeKib { get; set; } = DefaultBulkCacheSizeKib;

    /// <summary>Full path of the database file.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, FileName);

    /// <summary>Returns what is wrong with the options; empty when they are usable.</summary>
    public static IReadOnlyList<string> Validate(SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
            errors.Add($"{nameof(DataDirectory)} is required.");
        else if (options.DataDirectory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            errors.Add($"{nameof(DataDirectory)} contains characters that are not valid in a path.");
        if (string.IsNullOrWhiteSpace(options.FileName))
            errors.Add($"{nameof(FileName)} is required.");
        else if (options.FileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            errors.Add($"{nameof(FileName)} must be a plain file name without folders.");
        if (options.BusyTimeoutMilliseconds < 0)
            errors.Add($"{nameof(BusyTimeoutMilliseconds)} must be zero or more (was {options.BusyTimeoutMilliseconds}).");
        if (options.ReadPageSize < 1)
            errors.Add($"{nameof(ReadPageSize)} must be at least 1 (was {options.ReadPageSize}).");
        if (options.WriterCacheSizeKib < 0)
            errors.Add($"{nameof(WriterCacheSizeKib)} must be zero or more (was {options.WriterCacheSizeKib}).");
        if (options.BulkCacheSizeKib < 0)
            errors.Add($"{nameof(BulkCacheSizeKib)} must be zero or more (was {options.BulkCacheSizeKib}).");
        if (options.WalAutoCheckpointPages < 1)
            errors.Add($"{nameof(WalAutoCheckpointPages)} must be at least 1 (was {options.WalAutoCheckpointPages}).");
        return errors;
    }
}
