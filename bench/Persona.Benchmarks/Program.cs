using BenchmarkDotNet.Running;
using Persona.Benchmarks;

// dotnet run -c Release --project bench/Persona.Benchmarks -- --filter '*Gemm*'      (BenchmarkDotNet)
// dotnet run -c Release --project bench/Persona.Benchmarks -- --profile-step           (GEMM share of a training step)
if (args.Contains("--profile-step"))
{
    StepProfile.Run(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args, ShortConfig.Create());
