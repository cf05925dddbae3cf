using System.CommandLine;
using System.Diagnostics;
using Persona.Core.Import;
using Persona.Hosting;
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
        var command = new Command("import", "Import events, items or users from files, or a public data set. A file with any error writes nothing.")
        {
            data, events, items, users, dataset, path,
        };
        command.Validators.Add(result =>
        {
            var chosen = new object?[] { result.GetValue(events), result.GetValue(items), result.GetValue(users), result.GetValue(dataset) }.Count(x => x is not null);
            if (chosen == 0) result.AddError("Give one of --events, --items, --users or --dataset.");
            if (result.GetValue(dataset) is not null && result.GetValue(path) is null) result.AddError("--dataset needs --path.");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var engine = await EngineSession.OpenAsync(parse.GetValue(data)!, quiet: false, cancellationToken, create: true, error: parse.InvocationConfiguration.Error);
            if (engine is null) return 2;
            var clock = Stopwatch.StartNew();
            try
            {
                await Progress.RunAsync(async progress =>
                {
                    if (parse.GetValue(items) is { } itemsFile)
                        await FileImporter.ImportItemsAsync(engine, (p, ct) => ItemImporter.ReadAsync(Existing(itemsFile), p, ct), progress, cancellationToken);
                    if (parse.GetValue(users) is { } usersFile)
                        await FileImporter.ImportUsersAsync(engine, (p, ct) => UserImporter.ReadAsync(Existing(usersFile), p, ct), progress, cancellationToken);
                    if (parse.GetValue(events) is { } eventsFile)
                        await FileImporter.ImportEventsAsync(engine, (p, ct) => EventImporter.ReadAsync(Existing(eventsFile), p, ct), progress, cancellationToken);
                    if (parse.GetValue(dataset) is { } name)
                        await ImportDatasetAsync(engine, name, parse.GetValue(path)!, progress, cancellationToken);
                });
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
            await engine.FlushProfilesAsync(cancellationToken);
            var stats = await engine.GetStatsAsync(cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"Imported in {clock.Elapsed.TotalSeconds:0.0} s. The store now holds {stats.Events:N0} events, {stats.Items:N0} items, {stats.Users:N0} users; {stats.Profiles:N0} profiles.");
            return 0;
        });
        return command;
    }

    /// <summary>Items first, so the events' profiles see categories, brands and prices.</summary>
    public static async Task ImportDatasetAsync(PersonaEngine engine, string name, string path, IProgress<WorkProgress>? progress, CancellationToken cancellationToken)
    {
        switch (name)
        {
            case AmazonBeauty:
                if (!AmazonBeautyReader.Exists(path)) throw new FileNotFoundException($"No {AmazonBeautyReader.EventsFileName} and {AmazonBeautyReader.ItemsFileName} in '{path}'.");
                var amazon = new AmazonBeautyReader(path);
                await FileImporter.ImportItemsAsync(engine, amazon.ReadItemsAsync, progress, cancellationToken);
                await FileImporter.ImportEventsAsync(engine, amazon.ReadEventsAsync, progress, cancellationToken);
                break;
            case TaobaoUserBehavior:
                var taobao = new TaobaoUserBehaviorReader(path);
                if (taobao.Files.Count == 0) throw new FileNotFoundException($"No Taobao UserBehavior CSV files at '{path}'.");
                await FileImporter.ImportItemsAsync(engine, taobao.ReadItemsAsync, progress, cancellationToken);
                await FileImporter.ImportEventsAsync(engine, taobao.ReadEventsAsync, progress, cancellationToken);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown data set.");
        }
    }

    private static string Existing(FileInfo file) =>
        file.Exists ? file.FullName : throw new FileNotFoundException($"File not found: {file.FullName}");
}
