using System.CommandLine;
using System.Text.Json;
using Persona.Abstractions;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Generative;
using Persona.Hosting;
using Persona.Hosting.Generative;
using Spectre.Console;

namespace Persona.Cli.Commands;

internal static class ProfileCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var userId = new Argument<string>("user-id") { Description = "The user whose profile to show." };
        var json = new Option<bool>("--json") { Description = "Print the profile as JSON, exactly as the API returns it." };
        var summarize = new Option<bool>("--summarize")
        {
            Description = "Ask the chat endpoint (Persona__Generative__BaseUrl and __Model in the environment) for the summary now when the tags changed since the stored one.",
        };
        var command = new Command("profile", "Show a user's profile, with its summary (the stored model summary for its present tags, else the template).") { data, userId, json, summarize };
        CommonOptions.Require(command, userId, "user id", "persona profile [--data DIR] USER_ID [--json] [--summarize]");
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var engine = await EngineSession.OpenAsync(parse.GetValue(data)!, quiet: parse.GetValue(json), cancellationToken, error: parse.InvocationConfiguration.Error);
            if (engine is null) return 2;
            // The predictions and segments the server serves (stored by its last refresh), so both show one state.
            await new PersonaModels(engine, Microsoft.Extensions.Options.Options.Create(new PersonaModelOptions())).LoadAsync(cancellationToken);
            var id = parse.GetValue(userId)!;
            var stored = engine.UserIds.ToStored(id);
            var generative = LlmCommand.OptionsFromEnvironment();
            if (generative.Validate() is { Count: > 0 } problems)
            {
                foreach (var problem in problems) Console.Error.WriteLine($"{GenerativeOptions.SectionName}: {problem}");
                return 2;
            }
            if (parse.GetValue(summarize) && !generative.Enabled)
            {
                Console.Error.WriteLine("--summarize needs a chat endpoint: set Persona__Generative__BaseUrl and Persona__Generative__Model.");
                return 2;
            }
            using var endpoint = new GenerativeEndpoint(generative.Enabled ? new GenerativeClient(generative) : null, generative);
            var summaries = new ProfileSummaries(engine, endpoint, TimeProvider.System, NullLogger<ProfileSummaries>.Instance);
            if (parse.GetValue(summarize)) await summaries.RefreshAsync(stored, cancellationToken);
            var read = engine.GetProfile(stored);
            if (read.Status == ProfileStatus.Found)
            {
                // Nothing here works through the queue: a summary is either stored already or the template.
                var summary = await summaries.DescribeAsync(stored, read.Profile!, cancellationToken) with { Pending = false };
                read = read with { Profile = read.Profile! with { Summary = summary } };
                if (parse.GetValue(summarize) && summaries.Figures is { LastError: { } error }) Console.Error.WriteLine($"The chat endpoint did not answer: {error}");
                if (parse.GetValue(summarize) && summaries.Figures is { LastRejection: { } why }) Console.Error.WriteLine($"The model's summary was refused ({why}); the template answers.");
            }
            switch (read.Status)
            {
                case ProfileStatus.Found when parse.GetValue(json):
                    Console.WriteLine(JsonSerializer.Serialize(read.Profile! with { UserId = id }, new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true }));
                    return 0;
                case ProfileStatus.Found:
                    ProfilePrinter.Print(read.Profile! with { UserId = id });
                    return 0;
                case ProfileStatus.ConsentWithdrawn:
                    Console.Error.WriteLine("This user has withdrawn consent to personalisation; no profile is built.");
                    return 2;
                default:
                    Console.Error.WriteLine($"No events or attributes are known for user '{parse.GetValue(userId)}'.");
                    return 2;
            }
        });
        return command;
    }
}

/// <summary>Renders a profile for a person at a terminal, labels in both languages.</summary>
internal static class ProfilePrinter
{
    public static void Print(Persona.Abstractions.Profile profile)
    {
        var t = profile.Traits;
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("[bold]用户 User[/]", Markup.Escape(profile.UserId));
        grid.AddRow("生命周期 Lifecycle", Markup.Escape(t.Lifecycle));
        grid.AddRow("活跃度 Activity", Markup.Escape(t.ActivityLevel));
        grid.AddRow("RFM", $"R {t.Rfm.RecencyDays:0.#}d ({t.Rfm.RecencyScore}) · F {t.Rfm.Frequency} ({t.Rfm.FrequencyScore}) · M {t.Rfm.Monetary:0.##} ({t.Rfm.MonetaryScore})");
        grid.AddRow("消费力 Purchasing power", Markup.Escape(t.PurchasingPowerTier ?? "-") + (t.PricePercentile is { } p ? $" (p{p * 100:0})" : ""));
        grid.AddRow("价格敏感 Price sensitivity", t.PriceSensitivity is { } s ? $"{s:0.00}" : "-");
        grid.AddRow("活跃时段 Active hours", string.Join(", ", t.ActiveHours.Select(h => $"{h:00}:00")));
        grid.AddRow("设备/渠道 Device/channel", Markup.Escape($"{t.PreferredDevice ?? "-"} / {t.PreferredChannel ?? "-"}"));
        grid.AddRow("事件 Events", $"{profile.EventCount} (v{profile.Version}, as of {profile.AsOf:yyyy-MM-dd HH:mm}Z)");
        if (profile.Summary is { } summary)
        {
            var source = summary.Source == "model" ? $"model {summary.Model} v{summary.Version}" : "template 模板";
            grid.AddRow("摘要 Summary", Markup.Escape($"{summary.Zh}\n{summary.En}\n({source})"));
        }
        var tags = new Table().Border(TableBorder.Rounded).AddColumn("标签 Tag").AddColumn("Confidence").AddColumn("Evidence");
        foreach (var tag in profile.Tags)
            tags.AddRow(Markup.Escape($"{tag.LabelZh} / {tag.LabelEn}"), $"{tag.Confidence:0.00}", Markup.Escape(string.Join(" ", tag.EvidenceEventIds.Take(3))));
        var categories = new Table().Border(TableBorder.Rounded).AddColumn("类目偏好 Category").AddColumn("Share");
        foreach (var a in profile.Affinities.Categories.Where(a => a.Level >= 2).Take(5))
            categories.AddRow(Markup.Escape($"{a.LabelZh} / {a.LabelEn}"), $"{a.Share:P0}");
        AnsiConsole.Write(new Panel(new Rows(grid, tags, categories)).Header($"画像 Profile · {Markup.Escape(profile.UserId)}"));
    }
}
