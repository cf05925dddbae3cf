using System.CommandLine;
using System.Globalization;
using Persona.Hosting;
using Persona.Neural.Bert.Lora;
using Persona.Pretrained;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary><c>persona train --task text-encoder</c>: its options, and the run with a progress bar.</summary>
internal sealed class TextEncoderTrainTask
{
    public const string Task = "text-encoder";
    public const double DefaultMinutes = 5;

    private readonly Option<string> _base = new("--base")
    {
        Description = "text-encoder: the pretrained encoder to fine-tune: minilm (default), a Hugging Face checkpoint folder or an .onnx file with vocab.txt beside it.",
        DefaultValueFactory = _ => PretrainedEncoders.MiniLm,
    };

    private readonly Option<int> _rank = new("--lora-rank")
    {
        Description = "text-encoder: rank of the LoRA adapters on the attention's query and value projections.",
        DefaultValueFactory = _ => LoraOptions.DefaultRank,
    };

    public TextEncoderTrainTask() =>
        _rank.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 256) r.AddError("--lora-rank must be between 1 and 256.");
        });

    public void AddTo(Command command)
    {
        command.Options.Add(_base);
        command.Options.Add(_rank);
    }

    public async Task<int> RunAsync(ParseResult parse, DirectoryInfo dir, double? maxMinutes, bool force, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        var output = parse.InvocationConfiguration.Output;
        await using var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken, error: error);
        if (engine is null) return 2;
        using var search = await EngineSession.OpenSearchAsync(engine, dir, new PersonaSearchOptions { Semantic = false }, quiet: true, error, cancellationToken);
        var items = search.Index.Items.ToList();
        var pairs = Hosting.TextEncoderTraining.Pairs(items, search.LoggedClicks(), engine.ItemPairs);
        var tuning = new TextEncoderTuningOptions { Rank = parse.GetValue(_rank), Alpha = 2f * parse.GetValue(_rank), MaxMinutes = maxMinutes ?? DefaultMinutes };
        var baseSpec = parse.GetValue(_base)!;
        var repository = TextAdapterRepository.ForDataDirectory(dir.FullName);
        TextAdapterManifest manifest;
        try
        {
            manifest = await RunWithProgressAsync(progress => Hosting.TextEncoderTraining.Run(
                repository, baseSpec, pairs, tuning, new PretrainedEncoderOptions(), force, progress, cancellationToken), tuning.MaxMinutes);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or InvalidDataException or ArgumentException)
        {
            await error.WriteLineAsync($"Cannot fine-tune '{baseSpec}': {ex.Message}");
            return 1;
        }
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c,
            $"Fine-tuned {baseSpec} as {manifest.Version} on {manifest.TrainingPairs:N0} pairs ({manifest.Steps:N0} steps, loss {manifest.FirstLoss:0.000} → {manifest.LastLoss:0.000}, {manifest.Seconds:0} s). Stored in {Path.Combine(repository.Root, manifest.Version)}."));
        output.WriteLine(string.Create(c,
            $"Gate on {manifest.ValidationPairs:N0} held-out pairs, top-1 retrieval: base {manifest.BaseAccuracy:0.000}, tuned {manifest.TunedAccuracy:0.000}: ") +
            (manifest.Serves ? (manifest.Forced ? "serves (forced)." : "serves.") + $" A server with Persona:Text:Encoder={baseSpec} picks it up at its next start."
                : "not served (the base retrieves as well); --force serves it anyway."));
        return 0;
    }

    /// <summary>Runs the fine-tuning under a progress bar of its steps (one line per quarter minute when redirected).</summary>
    private static async Task<TextAdapterManifest> RunWithProgressAsync(Func<IProgress<TuningProgress>, TextAdapterManifest> work, double minutes)
    {
        if (Console.IsErrorRedirected || Console.IsOutputRedirected)
        {
            var last = TimeSpan.Zero;
            return await System.Threading.Tasks.Task.Run(() => work(new InlineProgress<TuningProgress>(p =>
            {
                if (p.Elapsed - last < TimeSpan.FromSeconds(15) && p.Step != p.TotalSteps) return;
                last = p.Elapsed;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step:N0}/{p.TotalSteps:N0}: loss {p.Loss:0.000}, {p.Elapsed.TotalSeconds:0} s"));
            })));
        }
        TextAdapterManifest? result = null;
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask($"Fine-tuning the text encoder (at most {minutes:0.#} min)", maxValue: 1);
                result = await System.Threading.Tasks.Task.Run(() => work(new InlineProgress<TuningProgress>(p =>
                {
                    // The time limit usually ends the run before the planned steps: the bar shows whichever comes first.
                    bar.MaxValue = 1;
                    bar.Value = Math.Max((double)p.Step / Math.Max(1, p.TotalSteps), p.Elapsed.TotalMinutes / minutes);
                    bar.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"Fine-tuning the text encoder: step {p.Step:N0}, loss {p.Loss:0.000}"));
                })));
                bar.Value = 1;
            });
        return result!;
    }
}
