using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Abstractions;
using Persona.Core.Online;
using Persona.Hosting;
using Persona.Hosting.Online;
using Persona.Server.Apis;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona experiments list|show|create|start|stop</c>: the experiments of a data folder, as the API has them. A
/// server on the same folder (or sharing the store) follows a change within <see cref="ExperimentLoader.RefreshInterval"/>.
/// </summary>
internal static class ExperimentsCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        data.Recursive = true;
        var command = new Command("experiments", "Online experiments: list them with their per-variant figures, create, start and stop them.") { data };
        command.Subcommands.Add(List(data));
        command.Subcommands.Add(Show(data));
        command.Subcommands.Add(CreateExperiment(data));
        command.Subcommands.Add(Change(data, "start", "Start assigning shoppers to the variants (one running experiment per surface); audited."));
        command.Subcommands.Add(Change(data, "stop", "Stop assigning; the figures stay; audited with the final figures."));
        return command;
    }

    private static Option<bool> Json() => new("--json") { Description = "Print JSON, as GET /v1/experiments answers." };

    private static Command List(Option<DirectoryInfo> data)
    {
        var json = Json();
        var command = new Command("list", "Every experiment: state, surface and per variant CTR and conversion with 95 % intervals.") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var session = await Session.OpenAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken);
            if (session is null) return 2;
            var reports = session.Experiments.List().Select(session.Experiments.Report).ToList();
            if (parse.GetValue(json))
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(reports, PersonaJson.Options));
                return 0;
            }
            var terminal = EngineSession.Terminal(parse);
            if (reports.Count == 0)
            {
                terminal.WriteLine("No experiments yet; make one with `persona experiments create FILE.json` (the body of POST /v1/experiments).");
                return 0;
            }
            foreach (var report in reports) Print(terminal, report);
            return 0;
        });
        return command;
    }

    private static Command Show(Option<DirectoryInfo> data)
    {
        var id = new Argument<string>("ID") { Description = "The experiment's id." };
        var json = Json();
        var command = new Command("show", "One experiment's per-variant figures and tests against the control.") { id, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var session = await Session.OpenAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken);
            if (session is null) return 2;
            if (session.Experiments.Get(parse.GetValue(id)!) is not { } experiment)
            {
                parse.InvocationConfiguration.Error.WriteLine($"No experiment has the id '{parse.GetValue(id)}'.");
                return 1;
            }
            var report = session.Experiments.Report(experiment);
            if (parse.GetValue(json)) parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(report, PersonaJson.Options));
            else Print(EngineSession.Terminal(parse), report);
            return 0;
        });
        return command;
    }

    private static Command CreateExperiment(Option<DirectoryInfo> data)
    {
        var body = new Argument<string>("DEFINITION")
        {
            Description = "The experiment as JSON (the body of POST /v1/experiments): a file, '-' for standard input, or the JSON itself.",
        };
        var command = new Command("create", "Make a draft experiment; `persona experiments start ID` starts it.") { body };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var text = parse.GetValue(body)!;
            string json;
            try
            {
                json = text == "-" ? await Console.In.ReadToEndAsync(cancellationToken)
                    : text.TrimStart().StartsWith('{') ? text
                    : await File.ReadAllTextAsync(text, cancellationToken);
            }
            catch (IOException ex)
            {
                await error.WriteLineAsync($"Cannot read {text}: {ex.Message}");
                return 2;
            }
            ExperimentRequest? request;
            try
            {
                request = JsonSerializer.Deserialize<ExperimentRequest>(json, PersonaJson.Options);
            }
            catch (JsonException ex)
            {
                await error.WriteLineAsync($"The definition is not the expected JSON{(ex.Path is { } path ? $" at {path}" : "")}: {ex.Message.Split(" Path:", 2)[0]}");
                return 1;
            }
            if (request is null)
            {
                await error.WriteLineAsync("The definition is empty; give a JSON object.");
                return 1;
            }
            await using var session = await Session.OpenAsync(parse.GetValue(data)!, error, cancellationToken);
            if (session is null) return 2;
            var (draft, errors) = ExperimentsApi.ToExperiment(request, session.Online.Options.MinSample);
            var change = draft is null ? new ExperimentChange(null, errors) : await session.Experiments.CreateAsync(draft, ModelsCommand.Actor, cancellationToken);
            if (change.Experiment is null)
            {
                foreach (var e in change.Errors) await error.WriteLineAsync($"{e.Field}: {e.Message}");
                return 1;
            }
            parse.InvocationConfiguration.Output.WriteLine(
                $"Created {change.Experiment.Id} (draft) on {change.Experiment.Surface.ToWire()}: {string.Join(", ", change.Experiment.Variants.Select(v => $"{v.Name} {v.Traffic.ToString("P0", CultureInfo.InvariantCulture)}"))}. " +
                $"Start it with `persona experiments start {change.Experiment.Id}`.");
            return 0;
        });
        return command;
    }

    private static Command Change(Option<DirectoryInfo> data, string name, string description)
    {
        var id = new Argument<string>("ID") { Description = "The experiment's id." };
        var command = new Command(name, description) { id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var session = await Session.OpenAsync(parse.GetValue(data)!, parse.InvocationConfiguration.Error, cancellationToken);
            if (session is null) return 2;
            var experimentId = parse.GetValue(id)!;
            var change = name == "start"
                ? await session.Experiments.StartAsync(experimentId, ModelsCommand.Actor, cancellationToken)
                : await session.Experiments.StopAsync(experimentId, ModelsCommand.Actor, cancellationToken);
            if (change.NotFound || change.Errors.Count > 0)
            {
                parse.InvocationConfiguration.Error.WriteLine(change.NotFound ? $"No experiment has the id '{experimentId}'." : change.Errors[0].Message);
                return 1;
            }
            parse.InvocationConfiguration.Output.WriteLine($"{experimentId} is {ExperimentService.Wire(change.Experiment!.State)}. A server on this data follows within {ExperimentLoader.RefreshInterval.TotalSeconds:0} s.");
            return 0;
        });
        return command;
    }

    private static void Print(IAnsiConsole terminal, ExperimentReport report)
    {
        var e = report.Experiment;
        terminal.MarkupLine($"[bold]{Markup.Escape(e.Id)}[/] — {Markup.Escape(e.Name)} · {e.Surface.ToWire()} · {ExperimentService.Wire(e.State)}" +
                            (e.StartedAt is { } s ? $" · since {s:yyyy-MM-dd HH:mm} UTC" : ""));
        var table = new Table().AddColumns("variant", "traffic", "shown", "CTR (95 %)", "conversion (95 %)", "RPM", "vs control", "");
        foreach (var v in report.Variants.Append(report.Excluded).OfType<VariantFigures>())
            table.AddRow(
                Markup.Escape(v.Name),
                v.Traffic.ToString("P0", CultureInfo.InvariantCulture),
                $"{v.Figures.Shown:N0} {v.Figures.Basis}",
                Rate(v.Figures.Ctr),
                Rate(v.Figures.Conversion),
                v.Figures.RevenuePerThousand.Estimate.ToString("0.00", CultureInfo.InvariantCulture),
                v.VsControl is { } t
                    ? string.Create(CultureInfo.InvariantCulture, $"CTR {t.Ctr.Difference:+0.00%;-0.00%} p={t.Ctr.PValue:0.###}; conv. p={t.Conversion.PValue:0.###}")
                    : v.Name == ExperimentReport.ExcludedVariant ? "counted apart" : "control",
                v.Warning is null ? "" : "[yellow]below min sample[/]");
        terminal.Write(table);
    }

    internal static string Rate(Interval r) => string.Create(CultureInfo.InvariantCulture, $"{r.Estimate:P2} [[{r.Low:P1}, {r.High:P1}]]");

    /// <summary>The engine with the online counters read (so reports have their figures) and the stored experiments.</summary>
    internal sealed class Session : IAsyncDisposable
    {
        private Session(PersonaEngine engine, OnlineLoop online, ExperimentService experiments)
        {
            Engine = engine;
            Online = online;
            Experiments = experiments;
        }

        public PersonaEngine Engine { get; }
        public OnlineLoop Online { get; }
        public ExperimentService Experiments { get; }

        public static async Task<Session?> OpenAsync(DirectoryInfo data, TextWriter error, CancellationToken cancellationToken)
        {
            var engine = await EngineSession.OpenAsync(data, quiet: true, cancellationToken, error: error);
            if (engine is null) return null;
            // Registered after the start and not adopted for checkpoints: the CLI reads the counters a server wrote and
            // leaves the stored part to the server (it never saw the server's answers).
            var online = new OnlineLoop(engine, Microsoft.Extensions.Options.Options.Create(new OnlineOptions()), TimeProvider.System);
            await online.LoadAsync(cancellationToken);
            var experiments = new ExperimentService(engine, online, TimeProvider.System, NullLogger<ExperimentService>.Instance,
                Core.Models.Sequence.SequenceModelRepository.ForDataDirectory(engine.Options.DataDirectory));
            await experiments.LoadAsync(cancellationToken);
            return new Session(engine, online, experiments);
        }

        public async ValueTask DisposeAsync()
        {
            Experiments.Dispose();
            await Engine.DisposeAsync();
        }
    }
}
