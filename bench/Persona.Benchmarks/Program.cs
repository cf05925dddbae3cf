using BenchmarkDotNet.Running;
using Persona.Benchmarks;

// dotnet run -c Release --project bench/Persona.Benchmarks -- --filter '*Gemm*'      (BenchmarkDotNet)
// dotnet run -c Release --project bench/Persona.Benchmarks -- --profile-step           (GEMM share of a training step)
// dotnet run -c Release --project bench/Persona.Benchmarks -- --gemm-probe [n]         (managed vs OpenBLAS, interleaved)
if (args.Contains("--profile-step"))
{
    StepProfile.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --train-step [--negatives N] [--steps N]   (the product's training step on Beauty's batches; bench/scripts/train_step_ratio.sh)
if (args.Contains("--train-step"))
{
    TrainStepTiming.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --lora-step [--pairs 32] [--tokens 32] [--rank 8] [--targets q,v] [--steps 10]  (LoRA fine-tuning step at MiniLM-L6's shape)
if (args.Contains("--lora-step"))
{
    LoraStepTiming.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --ann-probe [--rows N | --model DATA_DIR]  (approximate index recall)
if (args.Contains("--ann-probe"))
{
    AnnProbe.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --search-ann DATA_DIR --queries FILE [--probe F]  (search's semantic clusters against the exact scan)
if (args.Contains("--search-ann"))
{
    SearchAnnProbe.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --ledger-probe [--answers 500000] [--shoppers 200000] [--items 10]   (the online loop's served log: bytes and records/s per answer)
if (args.Contains("--ledger-probe"))
{
    LedgerProbe.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --summary-probe [--users 3000] [--shoppers 400] [--delay 200] [--concurrency 4]   (profile summaries per second on the demo shop, template and model)
if (args.Contains("--summary-probe"))
{
    SummaryProbe.Run(args);
    return;
}
// dotnet run -c Release --project bench/Persona.Benchmarks -- --rewrite-probe [--items 6000] [--searches 60] [--delay 200] [--budget 300]   (search latency with query rewriting: no endpoint, one answering in 200 ms, one timing out)
if (args.Contains("--rewrite-probe"))
{
    RewriteProbe.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --decode-probe FILE      (shopper record decoding)
if (args.Contains("--decode-probe"))
{
    DecodeProbe.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --pretrained-encode [--items N] [--batch 32] [--threads 2]   (MiniLM items/s, ONNX Runtime vs own engine; tokenizer speed)
if (args.Contains("--pretrained-encode"))
{
    PretrainedEncodeTiming.Run(args);
    return;
}

// dotnet run -c Release --project bench/Persona.Benchmarks -- --chinese-analysis [--max-queries 2000] [--speed-titles 50000]  (n-grams vs jieba.NET: BM25 quality on Taobao titles, titles/s)
if (args.Contains("--chinese-analysis"))
{
    Persona.Benchmarks.ChineseAnalysis.ChineseAnalysisComparison.Run(args);
    return;
}

if (args.Contains("--gemm-probe"))
{
    GemmProbe.Run(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args, ShortConfig.Create());
