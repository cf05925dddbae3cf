using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Persona.Benchmarks;

/// <summary>
/// The default config (console log, markdown/CSV export) with a short job: 2 warm-ups and 5 measured iterations, so
/// the suite finishes in minutes on the shared 2-core machine. Medians are reported because neighbours' load makes
/// means noisy.
/// </summary>
public static class ShortConfig
{
    public static IConfig Create() =>
        ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.ShortRun.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1).AsDefault())
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median, new GflopsColumn(), new SequencesPerSecondColumn())
            .WithOptions(ConfigOptions.JoinSummary);
}
