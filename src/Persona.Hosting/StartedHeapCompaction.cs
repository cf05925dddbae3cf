using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Persona.Hosting;

/// <summary>
/// Once the engine, recommendations and search have loaded, and before requests are served, collects and compacts the
/// whole heap once and gives the free memory back to the system. A start reads its state as large buffers and builds
/// its structures through many short-lived ones; the collector otherwise keeps the memory they held (at a million
/// shoppers, 1.4 GB beside 3.7 GB of live data). The pause (seconds at that size) is taken before the server
/// listens, so no request waits behind it; a heap under <see cref="MinimumHeapBytes"/> is left alone.
/// </summary>
/// <remarks>Registered after the services that load at start: hosted services start in the order they were added.</remarks>
internal sealed partial class StartedHeapCompaction(ILogger<StartedHeapCompaction> logger) : IHostedService
{
    /// <summary>Heaps smaller than this are not compacted: the pause would buy back little.</summary>
    internal const long MinimumHeapBytes = 2L << 30;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (GC.GetGCMemoryInfo().HeapSizeBytes < MinimumHeapBytes) return Task.CompletedTask;
        var before = Environment.WorkingSet;
        var clock = Stopwatch.StartNew();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var seconds = clock.Elapsed.TotalSeconds;
        var after = Environment.WorkingSet;
        var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
        LogCompacted(logger, before >> 20, after >> 20, heap >> 20, seconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Heap compacted after loading: resident {Before} → {After} MiB ({Heap} MiB of heap) in {Seconds:0.0} s")]
    private static partial void LogCompacted(ILogger logger, long before, long after, long heap, double seconds);
}
