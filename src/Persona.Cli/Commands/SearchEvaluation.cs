using Persona.Core.Search;
using Persona.Hosting;
using Persona.Pretrained;
using Persona.Text;

namespace Persona.Cli.Commands;

/// <summary><c>persona evaluate --task search</c>: BENCHMARKS.md §2 on amazon-beauty, and the Taobao titles protocol on taobao-titles-zh.</summary>
internal static class SearchEvaluation
{
    public const string Task = "search";
    public const string AmazonBeauty = "amazon-beauty";
    public const string TaobaoTitles = "taobao-titles-zh";

    public const string ColdStartTask = "cold-start";

    /// <summary><c>--encoder</c>: which text encoder the search and cold-start protocols measure.</summary>
    public static System.CommandLine.Option<string> EncoderOption() => new("--encoder")
    {
        Description = "search, cold-start, next-item --text-init: the text encoder: in-domain (trained on the catalog, the default), minilm (the packaged all-MiniLM-L6-v2), " +
            "a Hugging Face checkpoint folder or an .onnx file with vocab.txt beside it.",
        DefaultValueFactory = _ => PersonaTextOptions.InDomain,
    };

    /// <summary><c>--fine-tune</c>: LoRA-tune the pretrained encoder on the data set's own pairs first.</summary>
    public static System.CommandLine.Option<bool> FineTuneOption() => new("--fine-tune")
    {
        Description = "search, cold-start: fine-tune the pretrained --encoder first (LoRA, the defaults of `persona train --task text-encoder`) on the data set's " +
            "own pairs: title → brand and category, title fragment → item, and (amazon-beauty) items bought one after the other, from histories without their last two items.",
    };

    /// <summary>Training time of <c>--with-sequence-model</c> without <c>--max-minutes</c>: the budget the next-item figures were measured with.</summary>
    public static readonly TimeSpan DefaultSequenceTime = TimeSpan.FromMinutes(10);

    /// <summary><c>--with-sequence-model</c>: let a sequence model's user vectors re-rank too, as they do in the server.</summary>
    public static System.CommandLine.Option<bool> WithSequenceModelOption() => new("--with-sequence-model")
    {
        Description = "search (amazon-beauty): also train sequence models, one per evaluated step as a server would hold it then (the validation step's without each " +
            "history's last item, the test step's on whole histories; neither learns the step it serves), and let their user vectors feed the re-ranker's sequence " +
            "feature, as the server's do. The next-item training options apply; --max-minutes (per model) defaults to 10 here. --save-model DIR stores both, --model DIR measures them again.",
    };

    /// <summary>
    /// Runs the protocol of <paramref name="dataset"/>, prints the table, writes JSON to <paramref name="output"/>; returns the exit code.
    /// With <paramref name="sequenceTraining"/> (amazon-beauty search) a sequence model trained with those options re-ranks too.
    /// </summary>
    public static async Task<int> RunAsync(string task, string dataset, string path, string encoderSpec, bool fineTune, FileInfo? output, int maxUsers, int seed,
        CancellationToken cancellationToken, Persona.Core.Models.Sequence.SequenceTrainingOptions? sequenceTraining = null,
        DirectoryInfo? modelFolder = null, DirectoryInfo? saveModel = null)
    {
        if (!Directory.Exists(path))
        {
            Console.Error.WriteLine($"No data set folder at '{path}'.");
            return 2;
        }
        if ((sequenceTraining is not null || modelFolder is not null) && (task != Task || dataset != AmazonBeauty))
        {
            Console.Error.WriteLine($"--with-sequence-model and --model apply to --task {Task} --dataset {AmazonBeauty}.");
            return 2;
        }
        SearchSequenceModels? stored = null;
        if (modelFolder is not null)
        {
            try
            {
                stored = SearchSequenceModels.Load(modelFolder.FullName);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine($"--model {modelFolder.FullName} could not be read: {ex.Message}");
                return 2;
            }
        }
        if (task == ColdStartTask && dataset != AmazonBeauty)
        {
            Console.Error.WriteLine($"--task {ColdStartTask} supports --dataset {AmazonBeauty}, not '{dataset}'.");
            return 2;
        }
        var progress = new Progress<string>(line => Console.Error.WriteLine(line));
        if (!CommonOptions.TryOpenEncoder(encoderSpec, dataDirectory: null, Console.Error, out var encoder)) return 2;
        if (fineTune && encoder is null)
        {
            Console.Error.WriteLine("--fine-tune needs a pretrained --encoder (minilm, a checkpoint folder or an .onnx file).");
            return 2;
        }
        try
        {
            if (fineTune)
            {
                Func<IReadOnlyList<Persona.Abstractions.Item>, IReadOnlySet<string>>? hidden = task == ColdStartTask
                    ? items => ColdStartEvaluator.NewItems(items, seed).Select(i => i.Id).ToHashSet(StringComparer.Ordinal)
                    : null;
                var tuned = await FineTuneAsync(encoderSpec, dataset, path, hidden, progress, cancellationToken);
                (encoder as IDisposable)?.Dispose();
                encoder = tuned;
            }
            SearchEvaluationReport report;
            switch (task, dataset)
            {
                case (ColdStartTask, _):
                    encoder ??= await InDomainEncoderAsync(path, cancellationToken);
                    report = await ColdStartEvaluator.AmazonBeautyAsync(path, encoder, seed, progress, cancellationToken);
                    break;
                case (_, AmazonBeauty) when stored is not null:
                    (report, _) = await SearchEvaluator.AmazonBeautyWithModelAsync(path, null, maxUsers, 5000, seed, encoder, progress, null, null, stored, cancellationToken);
                    break;
                case (_, AmazonBeauty) when sequenceTraining is not null:
                    SearchEvaluationReport? withModel = null;
                    SearchSequenceModels? trained = null;
                    await TrainingProgress.RunAsync(async training => (withModel, trained) = await SearchEvaluator.AmazonBeautyWithModelAsync(path, null, maxUsers, 5000, seed, encoder,
                        progress, sequenceTraining, training, null, cancellationToken));
                    report = withModel!;
                    if (saveModel is not null && trained is not null)
                    {
                        trained.Save(saveModel.FullName, sequenceTraining);
                        Console.Error.WriteLine($"sequence models stored in {saveModel.FullName}");
                    }
                    break;
                case (_, AmazonBeauty):
                    report = await SearchEvaluator.AmazonBeautyAsync(path, maxUsers: maxUsers, seed: seed, encoder: encoder, progress: progress, cancellationToken: cancellationToken);
                    break;
                case (_, TaobaoTitles):
                    report = await SearchEvaluator.TaobaoTitlesAsync(path, maxQueries: maxUsers > 0 ? maxUsers : 2000, seed: seed, encoder: encoder, progress: progress, cancellationToken: cancellationToken);
                    break;
                default:
                    Console.Error.WriteLine($"--task search supports --dataset {AmazonBeauty} or {TaobaoTitles}, not '{dataset}'.");
                    return 2;
            }
            Console.WriteLine(report.ToMarkdown());
            if (output is not null) await File.WriteAllTextAsync(output.FullName, report.ToJson(), cancellationToken);
            return 0;
        }
        finally
        {
            (encoder as IDisposable)?.Dispose();
        }
    }

    /// <summary>LoRA-tunes <paramref name="encoderSpec"/> on the data set's pairs with the default options, reporting each step.</summary>
    private static async Task<ITextEncoder> FineTuneAsync(string encoderSpec, string dataset, string path,
        Func<IReadOnlyList<Persona.Abstractions.Item>, IReadOnlySet<string>>? hidden, IProgress<string> progress, CancellationToken cancellationToken)
    {
        var pairs = await TuningPairs.FromDatasetAsync(dataset, path, hidden, cancellationToken);
        var options = new TextEncoderTuningOptions();
        progress.Report($"fine-tuning {encoderSpec} on {pairs.Count:N0} pairs (LoRA rank {options.Rank}, at most {options.MaxMinutes:0.#} min)");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        var steps = new Progress<Persona.Neural.Bert.Lora.TuningProgress>(p =>
        {
            if (p.Elapsed - last < TimeSpan.FromSeconds(15) && p.Step != p.TotalSteps) return;
            last = p.Elapsed;
            progress.Report($"  step {p.Step:N0}/{p.TotalSteps:N0}, loss {p.Loss:0.000}, {p.Elapsed.TotalSeconds:0} s");
        });
        var tuned = await System.Threading.Tasks.Task.Run(() => TextEncoderTuning.FineTune(encoderSpec, pairs, options, progress: steps, cancellationToken: cancellationToken), cancellationToken);
        progress.Report($"fine-tuned in {clock.Elapsed.TotalSeconds:0} s: {tuned.Result.Steps:N0} steps, loss {tuned.Result.StartLoss:0.000} → {tuned.Result.EndLoss:0.000} ({tuned.Result.StoppedBy})");
        return tuned.Encoder;
    }

    /// <summary>The in-domain encoder trained on the Beauty catalog, as the search protocol trains it.</summary>
    private static async Task<ITextEncoder> InDomainEncoderAsync(string path, CancellationToken cancellationToken)
    {
        var (items, _) = await SearchEvaluator.ReadAmazonBeautyAsync(path, cancellationToken);
        return SemanticEncoder.Train(SemanticPairs.Build(items), cancellationToken: cancellationToken);
    }
}
