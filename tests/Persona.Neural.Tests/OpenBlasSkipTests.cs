using System.Reflection;
using Persona.Numerics;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Persona.Neural.Tests;

/// <summary>OpenBLAS rows of the backend theories are skipped visibly where OpenBLAS is missing, never run on the managed kernels.</summary>
public sealed class OpenBlasSkipTests
{
    [Fact]
    public void EveryTheoryOverGemmBackends_IsAGemmTheory()
    {
        var theories = typeof(OpenBlasSkipTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttribute<TheoryAttribute>() is not null && m.GetParameters().Any(p => p.ParameterType == typeof(GemmBackend)))
            .ToList();

        Assert.NotEmpty(theories);
        Assert.All(theories, m => Assert.True(m.GetCustomAttribute<GemmTheoryAttribute>() is not null, $"{m.DeclaringType!.Name}.{m.Name} takes a GemmBackend but is a plain [Theory]"));
    }

    [Fact]
    public void GemmTheory_WithoutOpenBlas_SkipsOnlyTheOpenBlasRowsWithTheReasonInTheirName()
    {
        var method = typeof(ModuleTests).GetMethod(nameof(ModuleTests.TransformerEncoder_PreAndPostNorm_GradientsMatch))!;
        var testMethod = new TestMethod(
            new TestClass(new TestCollection(new TestAssembly(Reflector.Wrap(method.DeclaringType!.Assembly)), null, "gemm"), Reflector.Wrap(method.DeclaringType)),
            Reflector.Wrap(method));

        var cases = new WithoutOpenBlas().Discover(new DiscoveryOptions(), testMethod, testMethod.Method.GetCustomAttributes(typeof(GemmTheoryAttribute)).Single()).ToList();

        Assert.Equal(4, cases.Count);
        var skipped = cases.Where(c => c.TestMethodArguments.Contains(GemmBackend.OpenBlas)).ToList();
        Assert.Equal(2, skipped.Count);
        Assert.All(skipped, c =>
        {
            Assert.Equal(GemmTheoryDiscoverer.Reason, c.SkipReason);
            Assert.EndsWith("skipped: " + GemmTheoryDiscoverer.Reason, c.DisplayName, StringComparison.Ordinal);
        });
        Assert.All(cases.Except(skipped), c => Assert.Null(c.SkipReason));
    }

    private sealed class WithoutOpenBlas() : GemmTheoryDiscoverer(new Sink())
    {
        protected override bool OpenBlasAvailable => false;
    }

    private sealed class Sink : LongLivedMarshalByRefObject, IMessageSink
    {
        public bool OnMessage(IMessageSinkMessage message) => true;
    }

    private sealed class DiscoveryOptions : ITestFrameworkDiscoveryOptions
    {
        public TValue GetValue<TValue>(string name) => default!;

        public void SetValue<TValue>(string name, TValue value)
        {
        }
    }
}
