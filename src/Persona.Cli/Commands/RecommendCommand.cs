using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Core.Ranking;
using Persona.Hosting;
using Persona.Hosting.Recommendations;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary><c>persona recommend --data DIR USER_ID [--n N] [--category C]</c>: the same recommendations the API serves, as a table.</summary>
internal static class RecommendCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var userId = new Argument<string>("user-id") { Description = "The user to recommend for." };
        var n = new Option<int>("--n") { Description = "How many items.", DefaultValueFactory = _ => RecommendationOptions.DefaultCount };
        var category = new Option<string?>("--category") { Description = "Only items under this category (path key such as \"Beauty > Makeup\" or a segment name)." };
        var excludeSeen = new Option<bool>("--exclude-seen") { Description = "Leave out items the user recently interacted with." };
        var diversity = new Option<double>("--diversity") { Description = "0 (relevance order) .. 1 (most diverse).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON, exactly as the API returns it." };
        var command = new Command("recommend", "Show recommendations for a user, with reasons in Chinese and English.") { data, userId, n, category, excludeSeen, diversity, json };
        CommonOptions.Require(command, userId, "user id", "persona recommend [--data DIR] USER_ID [--n N]");
        n.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > RecommendationOptions.DefaultMaxCount) result.AddError($"--n must be between 1 and {RecommendationOptions.DefaultMaxCount}.");
        });
        diversity.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is < 0 or > 1) result.AddError("--diversity must be between 0 and 1.");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var quiet = parse.GetValue(json);
            var dir = parse.GetValue(data)!;
            var error = parse.InvocationConfiguration.Error;
            await using var engine = await EngineSession.OpenAsync(dir, quiet, cancellationToken, error: error);
            if (engine is null) return 2;
            // The model the server would serve from this folder, so the CLI recommends what the API does.
            ISequenceModelProvider? models = EngineSession.SequenceModels(dir, error);
            var service = new RecommendationService(engine, Options.Create(new RecommendationOptions()), models);
            await service.LoadAsync(cancellationToken);
            var user = parse.GetValue(userId)!;
            var list = service.Recommend(engine.UserIds.ToStored(user), new RecommendationQuery
            {
                Count = parse.GetValue(n),
                Category = parse.GetValue(category),
                ExcludeSeen = parse.GetValue(excludeSeen),
                Diversity = parse.GetValue(diversity),
            }) with { UserId = user };
            if (quiet)
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync(JsonSerializer.Serialize(list, new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true }));
                return 0;
            }
            Print(EngineSession.Terminal(parse), list);
            return 0;
        });
        return command;
    }

    private static void Print(IAnsiConsole console, RecommendationList list)
    {
        var how = list.Personalized
            ? list.ModelVersion is { } v ? $"个性化 personalised · model {v}" : "个性化 personalised · co-occurrence + popularity + affinities (no model trained)"
            : "非个性化 not personalised · popular items";
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"推荐 Recommendations · {Markup.Escape(list.UserId)}")
            .Caption(Markup.Escape(how))
            .AddColumn("#").AddColumn("商品 Item").AddColumn(new TableColumn("Score").RightAligned()).AddColumn("来源 Sources").AddColumn("理由 Reason");
        var rank = 0;
        foreach (var r in list.Items)
        {
            table.AddRow(
                (++rank).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape($"{r.Title} ({r.ItemId})"),
                r.Score.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(", ", r.Sources)),
                Markup.Escape($"{r.Reason.Zh}\n{r.Reason.En}"));
        }
        if (list.Items.Count == 0) table.AddRow("", "[grey]no items to recommend (empty catalog or everything filtered out)[/]", "", "", "");
        console.Write(table);
    }
}
