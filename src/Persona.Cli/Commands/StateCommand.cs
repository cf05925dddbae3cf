using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Abstractions;
using Persona.Hosting;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona state [--data DIR] [--json]</c>: starts the engine over a data folder as the server's start does (shopper
/// records and the item pairs from their snapshots, the log's tail replayed) and reports what it restored, how long
/// it took and the memory it holds: the figures of <c>GET /v1/admin/state</c> without a running server (docs/state.md).
/// </summary>
internal static class StateCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var json = new Option<bool>("--json") { Description = "Print the report as JSON: the fields of GET /v1/admin/state, the start's seconds and the process's memory." };
        var command = new Command("state", "Start the engine over a data folder and report what it restored from snapshots, what it replayed, and the memory it holds.") { data, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var quiet = parse.GetValue(json);
            var clock = Stopwatch.StartNew();
            // Reading the item pairs before the start registers them, so the start pass restores (or rebuilds) them as the server's does.
            await using var engine = await EngineSession.OpenAsync(parse.GetValue(data)!, quiet, cancellationToken,
                error: parse.InvocationConfiguration.Error, beforeStart: e => _ = e.ItemPairs);
            if (engine is null) return 2;
            var report = new StateReport(
                Math.Round(clock.Elapsed.TotalSeconds, 2), engine.LastRestore, engine.LastPartRestores, engine.StateMemory,
                Math.Round(GC.GetTotalMemory(forceFullCollection: false) / 1048576.0, 1), Math.Round(Environment.WorkingSet / 1048576.0, 1));
            if (quiet)
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync(JsonSerializer.Serialize(report, new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true }));
                return 0;
            }
            Print(EngineSession.Terminal(parse), report);
            return 0;
        });
        return command;
    }

    private static void Print(IAnsiConsole console, StateReport report)
    {
        static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
        static string MiB(long bytes) => (bytes / 1048576.0).ToString("N1", CultureInfo.InvariantCulture) + " MiB";
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("[bold]启动 Start[/]", $"{report.StartSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s");
        if (report.Restore is { } r)
        {
            grid.AddRow("用户状态 Shopper records", $"{N(r.Shoppers)} restored from the checkpoint at sequence {N(r.CheckpointSequence)}, {N(r.Rebuilt)} rebuilt from their events");
            grid.AddRow("回放 Replayed", $"{N(r.TailEvents)} events after the checkpoint");
        }
        foreach (var (part, sequence) in report.Parts.OrderBy(p => p.Key, StringComparer.Ordinal))
            grid.AddRow($"快照 Part {Markup.Escape(part)}", sequence > 0 ? $"restored to sequence {N(sequence)}" : "rebuilt from the log (no usable snapshot)");
        var m = report.Memory;
        grid.AddRow("内存中 In memory", $"{N(m.Shoppers)} shoppers; hot states {MiB(m.HotBytes)} of a {MiB(m.BudgetBytes)} budget; {N(m.Loads)} cold loads, {N(m.Evictions)} evictions");
        grid.AddRow("进程 Process", $"managed heap {report.ManagedMiB.ToString("N1", CultureInfo.InvariantCulture)} MiB, resident {report.ResidentMiB.ToString("N1", CultureInfo.InvariantCulture)} MiB");
        console.Write(new Panel(grid).Header("状态 State").Border(BoxBorder.Rounded));
    }
}

/// <summary>What <c>persona state</c> reports (docs/state.md).</summary>
/// <param name="StartSeconds">From opening the store until the engine answered, snapshots restored and the tail replayed.</param>
/// <param name="Restore">Shopper records read, rebuilt and events replayed.</param>
/// <param name="Parts">Per state part, the log sequence its stored copy covered (0: rebuilt from the log).</param>
/// <param name="Memory">Shopper states in memory against their budget.</param>
/// <param name="ManagedMiB">Managed heap after the start, without a collection.</param>
/// <param name="ResidentMiB">Resident memory of the process.</param>
internal sealed record StateReport(
    double StartSeconds, StateRestore? Restore, IReadOnlyDictionary<string, long> Parts, ShopperStateMemory Memory,
    [property: JsonPropertyName("managed_mib")] double ManagedMiB, [property: JsonPropertyName("resident_mib")] double ResidentMiB);
