using System.CommandLine;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Audiences;
using Persona.Hosting;

namespace Persona.Cli.Commands;

/// <summary><c>persona audience</c>: count an audience (k-suppressed, optionally noised) and optionally export its members.</summary>
internal static class AudienceCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var rule = new Option<string?>("--rule") { Description = """The rule as JSON, e.g. '{"lifecycle":["active"],"predictions":{"churn_risk":{"min":0.5}}}'.""" };
        var ruleFile = new Option<FileInfo?>("--rule-file") { Description = "A file holding the rule as JSON." };
        var export = new Option<FileInfo?>("--export") { Description = "Write the members to this file (an admin operation: it lists individuals)." };
        var format = new Option<string?>("--format") { Description = "Export format: csv or jsonl (default: from the file extension, else csv)." };
        format.AcceptOnlyFromAmong(AudienceFormats.Csv, AudienceFormats.JsonLines);
        var command = new Command("audience", "Count the users a rule selects (consent respected, small counts suppressed) and export them.") { data, rule, ruleFile, export, format };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var json = parse.GetValue(rule) ?? (parse.GetValue(ruleFile) is { } f ? await File.ReadAllTextAsync(f.FullName, cancellationToken) : null);
            if (json is null)
            {
                Console.Error.WriteLine("Give the rule with --rule '<json>' or --rule-file F.");
                return 2;
            }
            var (parsed, errors) = AudienceRuleJson.Parse(json);
            if (parsed is null)
            {
                foreach (var e in errors) Console.Error.WriteLine($"{e.Field}: {e.Message}");
                return 2;
            }
            await using var engine = await EngineSession.OpenAsync(parse.GetValue(data)!, quiet: true, cancellationToken, error: parse.InvocationConfiguration.Error);
            if (engine is null) return 2;
            var models = SegmentsCommand.Open(engine, PersonaModelOptions.DefaultSeed, 0, PersonaModelOptions.DefaultHorizonDays);
            if (!await models.LoadAsync(cancellationToken)) await models.RefreshAsync(cancellationToken);
            var audiences = new AudienceService(engine, Microsoft.Extensions.Options.Options.Create(models.Options), TimeProvider.System);
            var audience = await audiences.CreateAsync(parsed, cancellationToken);
            Console.WriteLine(JsonSerializer.Serialize(new { id = audience.Id, count = audience.Published.Count, suppressed = audience.Published.Suppressed, noised = audience.Published.Noised, epsilon = audience.Published.Epsilon, min_count = audience.Published.MinCount }, PersonaJson.Options));
            if (parse.GetValue(export) is { } file)
            {
                var fmt = parse.GetValue(format) ?? (file.Extension.Equals(".jsonl", StringComparison.OrdinalIgnoreCase) ? AudienceFormats.JsonLines : AudienceFormats.Csv);
                await using var writer = new StreamWriter(file.FullName, append: false, new System.Text.UTF8Encoding(false));
                var rows = await audiences.ExportAsync(audience, fmt, writer, cancellationToken);
                Console.Error.WriteLine($"Wrote {rows} members to {file.FullName}.");
            }
            return 0;
        });
        return command;
    }
}
