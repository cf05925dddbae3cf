using System.CommandLine;
using Persona.Abstractions;
using Persona.Core.Demo;
using Persona.Core.Evaluation;
using Persona.Hosting;
using Spectre.Console;

namespace Persona.Cli.Commands;

internal static class EvaluateCommand
{
    public const string ProfilesTask = "profiles";

    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = "What to evaluate.", Required = true };
        task.AcceptOnlyFromAmong(ProfilesTask);
        var data = CommonOptions.Data(Path.Combine(PersonaOptions.DefaultDataDirectory, "demo"));
        var truth = new Option<FileInfo?>("--truth") { Description = $"Ground-truth file (default: DIR/{DemoCommand.TruthFileName}, written by `persona demo`)." };
        var output = new Option<FileInfo?>("--output") { Description = "Also write the report as JSON to this file." };
        var command = new Command("evaluate", "Measure quality against ground truth and print the tables.") { task, data, truth, output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(data)!;
            var truthFile = parse.GetValue(truth) ?? new FileInfo(Path.Combine(dir.FullName, DemoCommand.TruthFileName));
            if (!truthFile.Exists)
            {
                Console.Error.WriteLine($"No ground truth at {truthFile.FullName}; run `persona demo --data {dir.FullName} --no-serve` first or pass --truth.");
                return 2;
            }
            var truthRows = await DemoTruthFile.ReadAsync(truthFile.FullName, cancellationToken);
            await using var engine = await EngineSession.OpenAsync(dir, quiet: false, cancellationToken);
            var profiles = truthRows
                .Select(t => engine.GetProfile(t.UserId))
                .Where(r => r.Status == ProfileStatus.Found)
                .Select(r => r.Profile!)
                .ToList();
            var report = ProfileQualityEvaluator.Evaluate(profiles, truthRows);
            Console.WriteLine(report.ToMarkdown());
            var json = report.ToJson();
            await engine.Store.PutDocumentAsync("evaluation", ProfilesTask, json, cancellationToken);
            if (parse.GetValue(output) is { } file) await File.WriteAllTextAsync(file.FullName, json, cancellationToken);
            AnsiConsole.MarkupLine(report.MeetsTargets ? "[green]All profile-quality targets met.[/]" : "[yellow]Some profile-quality targets are not met.[/]");
            return 0;
        });
        return command;
    }
}
