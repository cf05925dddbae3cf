using System.CommandLine;
using System.Globalization;
using Persona.Hosting;
using Persona.Core.Models.Sequence;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary><c>persona train</c>: trains the sequence transformer from the store's events and stores a new model version.</summary>
internal static class TrainCommand
{
    public const string SequenceTask = "sequence";

    public static Command Create()
    {
        var data = CommonOptions.Data();
        var options = new TrainingOptionSet();
        var force = new Option<bool>("--force") { Description = "Serve the new model even if its validation NDCG@10 is below the serving model's (the gate is still measured and audited)." };
        var task = new Option<string>("--task")
        {
            Description = "sequence: the sequence transformer (default); text-encoder: LoRA fine-tuning of the pretrained text encoder on the shop's own pairs.",
            DefaultValueFactory = _ => SequenceTask,
        };
        task.AcceptOnlyFromAmong(SequenceTask, TextEncoderTrainTask.Task);
        var textOptions = new TextEncoderTrainTask();
        var command = new Command("train", "Train the sequence transformer on the store's events; writes DATA/models/sequence/<version>/, which serves if it is at least as good as the serving model on the same validation split. " +
            "With --task text-encoder: fine-tunes the text encoder; writes DATA/models/text/<version>/, which serves when it retrieves held-out pairs better than the base.")
        {
            data, force, task,
        };
        options.AddTo(command);
        textOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(data)!;
            if (parse.GetValue(task) == TextEncoderTrainTask.Task) return await textOptions.RunAsync(parse, dir, options.MaxMinutes(parse), parse.GetValue(force), cancellationToken);
            var training = options.Read(parse);
            await using var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken, error: parse.InvocationConfiguration.Error);
            if (engine is null) return 2;
            var repository = SequenceModelRepository.ForDataDirectory(dir.FullName);
            using var models = new SequenceModelService(repository, engine.Store, Microsoft.Extensions.Options.Options.Create(engine.Options), TimeProvider.System);
            SequenceTrainingRun? run = null;
            if (!await TrainingProgress.TryRunAsync(async progress =>
                run = await models.TrainAsync(training, ModelsCommand.Actor, parse.GetValue(force), warmStart: null, progress, cancellationToken)))
                return 1;
            var c = CultureInfo.InvariantCulture;
            var output = parse.InvocationConfiguration.Output;
            var (version, result, dataset) = (run!.Version, run.Result, run.Data);
            output.WriteLine(string.Create(c,
                $"Trained {version} on {dataset.Users.Count:N0} users, {dataset.ItemCount:N0} items: best epoch {result.BestEpoch} of {result.EpochsRun}, " +
                $"validation NDCG@10 {result.BestValidationNdcg10:0.0000}, {result.Elapsed.TotalSeconds:0} s. Stored in {Path.Combine(repository.Root, version)}."));
            output.WriteLine(ModelsCommand.DescribeGate(run.Gate, version));
            if (engine.Options.Store.IsShared && run.Gate.Serves)
                output.WriteLine($"Published to {Hosting.PersonaStores.Describe(engine.Options)}: the servers sharing it serve {version} within {Hosting.SequenceModelHostingExtensions.PollInterval.TotalSeconds:0} s.");
            return 0;
        });
        return command;
    }
}

/// <summary>The training options shared by <c>persona train</c> and <c>persona evaluate --task next-item</c>.</summary>
internal sealed class TrainingOptionSet
{
    private readonly bool _includeSeed;
    private readonly Option<int> _epochs = new("--epochs") { Description = "Most epochs (early stopping usually ends sooner).", DefaultValueFactory = _ => SequenceTrainingOptions.DefaultEpochs };
    private readonly Option<int> _dim = new("--dim") { Description = "Embedding and hidden width.", DefaultValueFactory = _ => SequenceTrainingOptions.DefaultDimension };
    private readonly Option<int> _maxLength = new("--max-len") { Description = "Newest steps of a user the model reads.", DefaultValueFactory = _ => SequenceTrainingOptions.DefaultMaxLength };
    private readonly Option<int> _seed = new("--seed") { Description = "Seed of initialisation, batching and dropout.", DefaultValueFactory = _ => SequenceTrainingOptions.DefaultSeed };
    private readonly Option<int> _layers = new("--layers") { Description = "Transformer layers.", DefaultValueFactory = _ => new SequenceTrainingOptions().Layers };
    private readonly Option<int> _heads = new("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => new SequenceTrainingOptions().Heads };
    private readonly Option<float> _dropout = new("--dropout") { Description = "Dropout of embeddings, attention and feed-forward blocks.", DefaultValueFactory = _ => new SequenceTrainingOptions().Dropout };
    private readonly Option<int> _batch = new("--batch") { Description = "Users per step.", DefaultValueFactory = _ => new SequenceTrainingOptions().BatchSize };
    private readonly Option<float> _lr = new("--lr") { Description = "Peak learning rate (AdamW).", DefaultValueFactory = _ => new SequenceTrainingOptions().LearningRate };
    private readonly Option<int> _negatives = new("--negatives") { Description = "0: full softmax over the catalog; N: N shared sampled negatives per step.", DefaultValueFactory = _ => new SequenceTrainingOptions().SampledNegatives };
    private readonly Option<int> _patience = new("--patience") { Description = "Epochs without a better validation NDCG@10 before stopping.", DefaultValueFactory = _ => new SequenceTrainingOptions().Patience };
    private readonly Option<int> _refit = new("--refit-epochs") { Description = "Epochs after early stopping that also learn each user's newest step, the learning rate falling to zero.", DefaultValueFactory = _ => SequenceTrainingOptions.DefaultRefitEpochs };
    private readonly Option<double?> _minutes = new("--max-minutes") { Description = "Stop training after this many minutes (keeping the best epoch)." };

    public TrainingOptionSet(bool includeSeed = true)
    {
        _includeSeed = includeSeed;
        AtLeast(_epochs, 1);
        AtLeast(_dim, 1);
        AtLeast(_maxLength, 1);
        AtLeast(_layers, 1);
        AtLeast(_heads, 1);
        AtLeast(_batch, 1);
        AtLeast(_negatives, 0);
        AtLeast(_patience, 1);
        AtLeast(_refit, 0);
        _heads.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is var heads and > 0 && r.GetValue(_dim) is var dim and > 0 && dim % heads != 0)
                r.AddError($"--heads must divide --dim ({dim} is not a multiple of {heads}).");
        });
        _dropout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<float>() is not (>= 0f and < 1f)) r.AddError("--dropout must be at least 0 and below 1.");
        });
        _lr.Validators.Add(r =>
        {
            if (!(r.GetValueOrDefault<float>() is var lr && float.IsFinite(lr) && lr > 0)) r.AddError("--lr must be a positive number.");
        });
        _minutes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } m && !(double.IsFinite(m) && m > 0)) r.AddError("--max-minutes must be a positive number.");
        });
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _epochs, _dim, _maxLength, _layers, _heads, _dropout, _batch, _lr, _negatives, _patience, _refit, _minutes })
            command.Options.Add(option);
        if (_includeSeed) command.Options.Add(_seed);
    }

    /// <summary>A value below <paramref name="minimum"/> is a parse error that names the option.</summary>
    private static void AtLeast(Option<int> option, int minimum) => option.Validators.Add(r =>
    {
        if (r.GetValueOrDefault<int>() < minimum) r.AddError($"{option.Name} must be at least {minimum} (got {r.GetValueOrDefault<int>()}).");
    });

    public double? MaxMinutes(ParseResult parse) => parse.GetValue(_minutes);

    public SequenceTrainingOptions Read(ParseResult parse) => new()
    {
        Epochs = parse.GetValue(_epochs),
        Dimension = parse.GetValue(_dim),
        MaxLength = parse.GetValue(_maxLength),
        Seed = _includeSeed ? parse.GetValue(_seed) : SequenceTrainingOptions.DefaultSeed,
        Layers = parse.GetValue(_layers),
        Heads = parse.GetValue(_heads),
        Dropout = parse.GetValue(_dropout),
        BatchSize = parse.GetValue(_batch),
        LearningRate = parse.GetValue(_lr),
        SampledNegatives = parse.GetValue(_negatives),
        Patience = parse.GetValue(_patience),
        RefitEpochs = parse.GetValue(_refit),
        TimeLimit = parse.GetValue(_minutes) is { } m ? TimeSpan.FromMinutes(m) : null,
    };
}

/// <summary>A Spectre progress bar over training: epoch, loss, validation NDCG@10 and ETA.</summary>
internal static class TrainingProgress
{
    /// <summary>
    /// Runs training under the progress display; when the data cannot train a model (the trainer's
    /// InvalidOperationException, e.g. no user with three or more steps) prints its message on one line and returns false.
    /// </summary>
    public static async Task<bool> TryRunAsync(Func<IProgress<SequenceTrainingProgress>, Task> work)
    {
        try
        {
            await RunAsync(work);
            return true;
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"Cannot train: {ex.Message}");
            return false;
        }
    }

    public static async Task RunAsync(Func<IProgress<SequenceTrainingProgress>, Task> work)
    {
        if (Console.IsErrorRedirected || Console.IsOutputRedirected)
        {
            await work(new InlineProgress<SequenceTrainingProgress>(p =>
            {
                if (p.ValidationNdcg10 is { } v)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}: loss {p.Loss:0.0000}, validation NDCG@10 {v:0.0000} (best {p.BestValidationNdcg10:0.0000}), {p.Elapsed.TotalSeconds:0} s"));
            }));
            return;
        }
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("training", maxValue: 1);
                double? lastNdcg = null;
                await work(new InlineProgress<SequenceTrainingProgress>(p =>
                {
                    lastNdcg = p.ValidationNdcg10 ?? lastNdcg;
                    var c = CultureInfo.InvariantCulture;
                    var ndcg = lastNdcg is { } v ? string.Create(c, $"val NDCG@10 {v:0.0000} (best {p.BestValidationNdcg10:0.0000})") : "val NDCG@10 –";
                    var eta = p.Eta is { } e ? string.Create(c, $" ETA ≤ {e:hh\\:mm\\:ss}") : "";
                    task.Description = Markup.Escape(string.Create(c, $"epoch {p.Epoch}/{p.Epochs} loss {p.Loss:0.000} {ndcg}{eta}"));
                    task.MaxValue = Math.Max(1, (double)p.Epochs * p.StepsPerEpoch);
                    task.Value = ((p.Epoch - 1.0) * p.StepsPerEpoch) + p.Step;
                }));
                task.Value = task.MaxValue;
            });
    }
}
