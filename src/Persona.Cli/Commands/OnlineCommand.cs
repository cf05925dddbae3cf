using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Core.Online;
using Persona.Server.Apis;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary><c>persona online metrics</c>: the figures of GET /v1/metrics/online from a data folder (docs/online-loop.md).</summary>
internal static class OnlineCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        data.Recursive = true;
        var command = new Command("online", "What was served and how shoppers responded: CTR, add-to-cart rate, conversion and revenue per thousand impressions.") { data };
        command.Subcommands.Add(Metrics(data));
        return command;
    }

    private static Command Metrics(Option<DirectoryInfo> data)
    {
        var from = new Option<DateTimeOffset?>("--from") { Description = "Start of the range (ISO 8601; default 24 hours before --to)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End of the range (ISO 8601; default now)." };
        var by = new Option<string[]>("--by") { Description = "Group by surface, source, position, variant, hour (comma-separated or repeated).", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print JSON, as GET /v1/metrics/online answers." };
        var command = new Command("metrics", "The counters a server on this data wrote at its last checkpoint, with 95 % intervals.") { from, to, by, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var errors = new List<FieldError>();
            var (dimensions, names) = OnlineApi.ReadDimensions(parse.GetValue(by) ?? [], errors);
            var end = parse.GetValue(to) ?? DateTimeOffset.UtcNow;
            var start = parse.GetValue(from) ?? end.AddDays(-1);
            if (start >= end) errors.Add(new FieldError(null, "from", "--from must be before --to."));
            if (errors.Count > 0)
            {
                foreach (var e in errors) await error.WriteLineAsync($"--{e.Field}: {e.Message}");
                return 1;
            }
            await using var session = await ExperimentsCommand.Session.OpenAsync(parse.GetValue(data)!, error, cancellationToken);
            if (session is null) return 2;
            var report = OnlineApi.Report(session.Online, start, end, dimensions, names);
            if (parse.GetValue(json))
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(report, PersonaJson.Options));
                return 0;
            }
            var terminal = EngineSession.Terminal(parse);
            terminal.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.From:yyyy-MM-dd HH:mm} – {report.To:yyyy-MM-dd HH:mm} UTC; attribution window {report.AttributionWindowMinutes} min; {report.UnattributedEvents:N0} unattributed events."));
            if (report.Rows.Count == 0)
            {
                terminal.WriteLine("No answers were served in the range.");
                return 0;
            }
            var table = new Table().AddColumns([.. names, "shown", "clicks", "CTR (95 %)", "conversion (95 %)", "RPM"]);
            foreach (var row in report.Rows)
            {
                var keys = names.Select(n => n switch
                {
                    "surface" => row.Surface,
                    "source" => row.Source,
                    "position" => row.Position,
                    "variant" => row.Variant,
                    _ => row.Hour?.ToString("yyyy-MM-dd HH:00", CultureInfo.InvariantCulture),
                } ?? "");
                var shown = row.Basis == OnlineFigures.ImpressionsBasis ? row.Impressions : row.Served;
                table.AddRow([.. keys.Select(Markup.Escape), $"{shown:N0} {row.Basis}", $"{row.Clicks:N0}",
                    ExperimentsCommand.Rate(row.Ctr), ExperimentsCommand.Rate(row.Conversion), row.RevenuePerThousand.Estimate.ToString("0.00", CultureInfo.InvariantCulture)]);
            }
            terminal.Write(table);
            return 0;
        });
        return command;
    }
}
