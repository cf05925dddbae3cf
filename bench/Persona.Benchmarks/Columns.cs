using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Persona.Benchmarks;

/// <summary>Benchmarks that know their floating-point work per invocation.</summary>
public interface IFlopCount
{
    double FlopsPerInvocation { get; }
}

/// <summary>Benchmarks that process a known number of sequences per invocation.</summary>
public interface ISequenceCount
{
    int SequencesPerInvocation { get; }
}

/// <summary>GFLOP/s from the median time.</summary>
public sealed class GflopsColumn : MetricColumn<IFlopCount>
{
    public GflopsColumn()
        : base("GFLOP/s", (b, ns) => b.FlopsPerInvocation / ns)
    {
    }
}

/// <summary>Sequences per second from the median time.</summary>
public sealed class SequencesPerSecondColumn : MetricColumn<ISequenceCount>
{
    public SequencesPerSecondColumn()
        : base("seq/s", (b, ns) => b.SequencesPerInvocation / (ns * 1e-9))
    {
    }
}

/// <summary>A column computed from a fresh instance of the benchmark (with its parameters applied) and the median.</summary>
public abstract class MetricColumn<T>(string name, Func<T, double, double> metric) : IColumn
    where T : class
{
    public string Id => GetType().Name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => name;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null || Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not T instance)
        {
            return "-";
        }

        foreach (var p in benchmarkCase.Parameters.Items)
        {
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(instance, p.Value);
            benchmarkCase.Descriptor.Type.GetField(p.Name)?.SetValue(instance, p.Value);
        }

        return metric(instance, report.ResultStatistics.Median).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(b => typeof(T).IsAssignableFrom(b.Descriptor.Type));

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
