using BenchmarkDotNet.Attributes;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>Training throughput of the benchmark transformer (2 layers, 2 heads, d = 64, seq 50, batch 256).</summary>
public class TrainingStepBenchmarks : ISequenceCount
{
    private SequenceModel? _model;

    [Params("full-softmax", "sampled-256")]
    public string Loss { get; set; } = "full-softmax";

    [Params(GemmBackend.Managed, GemmBackend.OpenBlas)]
    public GemmBackend Backend { get; set; }

    public int SequencesPerInvocation => 256;

    [GlobalSetup]
    public void Setup()
    {
        Gemm.DefaultBackend = Backend;
        _model = new SequenceModel();
        _model.Step(Loss != "full-softmax");
    }

    [Benchmark]
    public float Step() => _model!.Step(Loss != "full-softmax");
}
