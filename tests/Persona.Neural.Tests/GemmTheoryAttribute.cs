using System.ComponentModel;
using Persona.Numerics;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Persona.Neural.Tests;

/// <summary>
/// A theory with a <see cref="GemmBackend"/> among its arguments: on a machine without OpenBLAS its OpenBLAS rows are
/// reported as skipped, with the reason in the name <c>dotnet test</c> prints, instead of running on the managed
/// kernels and passing as if OpenBLAS had been checked.
/// </summary>
[XunitTestCaseDiscoverer("Persona.Neural.Tests.GemmTheoryDiscoverer", "Persona.Neural.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class GemmTheoryAttribute : TheoryAttribute;

public class GemmTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public const string Reason = "libopenblas.so.0 is not installed (apt-get install libopenblas0-pthread)";

    protected virtual bool OpenBlasAvailable => Gemm.IsOpenBlasAvailable;

    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(
        ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute, object[] dataRow)
    {
        ArgumentNullException.ThrowIfNull(dataRow);
        if (!OpenBlasAvailable && dataRow.Any(value => value is GemmBackend.OpenBlas))
            return [new OpenBlasSkippedTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, dataRow)];
        return base.CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow);
    }
}

/// <summary>A skipped OpenBLAS row whose display name ends with why it was skipped.</summary>
public sealed class OpenBlasSkippedTestCase : XunitSkippedDataRowTestCase
{
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public OpenBlasSkippedTestCase()
    {
    }

    public OpenBlasSkippedTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod testMethod, object[] dataRow)
        : base(sink, display, options, testMethod, GemmTheoryDiscoverer.Reason, dataRow)
    {
    }

    protected override string GetDisplayName(IAttributeInfo factAttribute, string displayName) =>
        $"{base.GetDisplayName(factAttribute, displayName)} — skipped: {GemmTheoryDiscoverer.Reason}";
}
