using System.CommandLine;
using System.Diagnostics;
using Persona.Core.Import;
using Persona.Core.Ranking;
using Persona.Hosting;
using Persona.Hosting.Recommendations;
using Spectre.Console;

namespace Persona.Cli.Commands;

internal static class ImportCommand
{
    public const string AmazonBeauty = "amazon-beauty";
    public const string TaobaoUserBehavior = "taobao-userbehavior";

    public static Command Create()
    {
        var data = CommonOptions.Data(creates: true);
        var events = new Option<FileInfo?>("--events") { Description = "Events file (.csv with header, or .jsonl)." };
        var items = new Option<FileInfo?>("--items") { Description = "Items file (.csv with header, or .jsonl)." };
        var users = new Option<FileInfo?>("--users") { Description = "Users file (.csv with header, or .jsonl)." };
        var dataset = new Option<string?>("--dataset") { Description = "A public data set to import, with --path." };
        dataset.AcceptOnlyFromAmong(AmazonBeauty, TaobaoUserBehavior);
        var path = new Option<string?>("--path") { Description = "Folder (amazon-beauty) or folder/CSV file (taobao-userbehavior) of the data set." };
        var format = new Option<string?>("--format") { Description = "Format of --events: csv, jsonl, or taobao (Taobao UserBehavior CSV without header: user,item,category,behavior,timestamp). Default: by extension." };
        format.AcceptOnlyFromAmong(CsvFormat, JsonLinesFormat, TaobaoFormat);
        var command = new Command("import", "Import events, items or users from files, or a public data set. A file with any error writes nothing.")
        {
            data, events, items, users, dataset, path, format,
        };
        command.Validators.Add(result =>
        {
            var chosen = new object?[] { result.GetValue(events), result.GetValue(items), result.GetValue(users), result.GetValue(dataset) }.Count(x => x is not null);
            if (chosen == 0) result.AddError("Give one of --events, --items, --users or --dataset.");
            if (result.GetValue(dataset) is not null && result.GetValue(path) is null) result.AddError("--dataset needs --path.");
            if (result.GetValue(format) is not null && result.GetValue(events) is null) result.AddError("--format applies to --events.");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Recommendations and search follow the import, so their state parts are built in the same pass and
            // checkpointed with the shoppers: the next `persona serve` restores them instead of reading the log (default
            // options; a server configured otherwise rebuilds them once). Observers of the engine, they live as long as it.
            await using var engine = await EngineSession.OpenAsync(parse.GetValue(data)!, quiet: false, cancellationToken, create: true,
                error: parse.InvocationConfiguration.Error, beforeStart: StateParts);
            if (engine is null) return 2;
            var clock = Stopwatch.StartNew();
            EventImportResult? history = null;
            try
            {
                await Progress.RunAsync(async progress =>
                {
                    if (parse.GetValue(items) is { } itemsFile)
                        await FileImporter.ImportItemsAsync(engine, (p, ct) => ItemImporter.ReadAsync(Existing(itemsFile), p, ct), progress, cancellationToken);
                    if (parse.GetValue(users) is { } usersFile)
                        await FileImporter.ImportUsersAsync(engine, (p, ct) => UserImporter.ReadAsync(Existing(usersFile), p, ct), progress, cancellationToken);
                    if (parse.GetValue(events) is { } eventsFile)
                        history = await ImportEventsFileAsync(engine, Existing(eventsFile), parse.GetValue(format), progress, cancellationToken);
                    if (parse.GetValue(dataset) is { } name)
                        history = await ImportDatasetAsync(engine, name, parse.GetValue(path)!, progress, cancellationToken);
                }, Console.Error);
            }
            catch (ImportException ex)
            {
                AnsiConsole.MarkupLine("[red]Import rejected; nothing of the failing file was written:[/]");
                foreach (var problem in ex.Problems) Console.Error.WriteLine("  " + problem);
                return 1;
            }
            catch (FileNotFoundException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 1;
            }
            var flush = Stopwatch.StartNew();
            var profiles = await engine.FlushProfilesAsync(cancellationToken);
            await Progress.RunAsync(progress => engine.CheckpointStateAsync(progress, cancellationToken), Console.Error);
            if (history is not null)
                await Console.Error.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Events: {history.Records:N0} rows in {(history.Checking + history.Writing).TotalSeconds:0.0} s ({history.EventsPerSecond:N0}/s): check {history.Checking.TotalSeconds:0.0} s, write {history.Writing.TotalSeconds:0.0} s (store {history.StoreSeconds:0.0} s, profiles {history.ApplySeconds:0.0} s); {history.Stored:N0} stored, {history.Duplicates:N0} duplicates, {history.Excluded:N0} excluded as bursts; {profiles:N0} profiles saved in {flush.Elapsed.TotalSeconds:0.0} s."));
            var stats = await engine.GetStatsAsync(cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"Imported in {clock.Elapsed.TotalSeconds:0.0} s. The store now holds {stats.Events:N0} events, {stats.Items:N0} items, {stats.Users:N0} users; {stats.Profiles:N0} profiles.");
            return 0;
        });
        return command;
    }

    /// <summary>The state parts <c>persona serve</c> runs, registered with the engine before it starts.</summary>
    internal static void StateParts(PersonaEngine engine)
    {
        _ = new RecommendationService(engine, Microsoft.Extensions.Options.Options.Create(new RecommendationOptions { WarmUsers = 0 }));
        _ = new SearchService(engine, Microsoft.Extensions.Options.Options.Create(new PersonaSearchOptions { PersistEncoder = false, WarmUsers = 0 }));
        _ = new Hosting.Online.OnlineLoop(engine, Microsoft.Extensions.Options.Options.Create(new Hosting.Online.OnlineOptions()), TimeProvider.System);
    }

    /// <summary>Items first, so the events' profiles see categories, brands and prices.</summary>
    public static async Task<EventImportResult> ImportDatasetAsync(PersonaEngine engine, string name, string path, IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        switch (name)
        {
            case AmazonBeauty:
                if (!AmazonBeautyReader.Exists(path)) throw new FileNotFoundException($"No {AmazonBeautyReader.EventsFileName} and {AmazonBeautyReader.ItemsFileName} in '{path}'.");
                var amazon = new AmazonBeautyReader(path);
                await FileImporter.ImportItemsAsync(engine, amazon.ReadItemsAsync, progress, cancellationToken);
                return await FileImporter.ImportEventHistoryAsync(engine, amazon.ReadEventsAsync, progress, cancellationToken);
            case TaobaoUserBehavior:
                return await ImportTaobaoAsync(engine, path, progress, cancellationToken);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown data set.");
        }
    }

    /// <summary>
    /// A Taobao UserBehavior log (one CSV file or a folder of them): the implied items, then the events through the
    /// bulk path. What <c>persona import --events F --format taobao</c> and <c>--dataset taobao-userbehavior</c> run.
    /// </summary>
    public static async Task<EventImportResult> ImportTaobaoAsync(PersonaEngine engine, string path, IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        var taobao = new TaobaoUserBehaviorReader(path);
        if (taobao.Files.Count == 0 || !taobao.Files.All(File.Exists)) throw new FileNotFoundException($"No Taobao UserBehavior CSV files at '{path}'.");
        await FileImporter.ImportItemsAsync(engine, taobao.ReadItemsAsync, progress, cancellationToken);
        return await FileImporter.ImportEventHistoryAsync(engine, taobao.ReadEventsAsync, progress, cancellationToken);
    }

    /// <summary>An events file in <paramref name="format"/> (csv, jsonl, taobao; null: by extension).</summary>
    public static Task<EventImportResult> ImportEventsFileAsync(PersonaEngine engine, string file, string? format, IProgress<WorkProgress>? progress, CancellationToken cancellationToken) =>
        format switch
        {
            TaobaoFormat => ImportTaobaoAsync(engine, file, progress, cancellationToken),
            _ => FileImporter.ImportEventHistoryAsync(engine,
                (p, ct) => format is null ? EventImporter.ReadAsync(file, p, ct) : EventImporter.ReadAsync(file, format == CsvFormat ? ImportFormat.Csv : ImportFormat.JsonLines, p, ct),
                progress, cancellationToken),
        };

    public const string CsvFormat = "csv";
    public const string JsonLinesFormat = "jsonl";
    public const string TaobaoFormat = "taobao";

    private static string Existing(FileInfo file) =>
        file.Exists ? file.FullName : throw new FileNotFoundException($"File not found: {file.FullName}");
}
