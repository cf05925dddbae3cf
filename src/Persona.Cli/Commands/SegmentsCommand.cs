using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Core.Models.Segments;
using Persona.Hosting;
using Persona.Hosting.Generative;

namespace Persona.Cli.Commands;

/// <summary><c>persona segments</c>: show the stored segments, or refresh predictions and segments first.</summary>
internal static class SegmentsCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var refresh = new Option<bool>("--refresh") { Description = "Retrain predictions and re-segment now (also done when nothing is stored)." };
        var k = new Option<int>("--k") { Description = "Number of segments (0 = choose by silhouette).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of learners and k-means.", DefaultValueFactory = _ => PersonaModelOptions.DefaultSeed };
        var horizon = new Option<double>("--horizon-days") { Description = "Predictions are about the next N days.", DefaultValueFactory = _ => PersonaModelOptions.DefaultHorizonDays };
        var command = new Command("segments", "Refresh and print predictions' models and segments (sizes, bilingual labels).") { data, refresh, k, seed, horizon };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var engine = await EngineSession.OpenAsync(parse.GetValue(data)!, quiet: false, cancellationToken, error: parse.InvocationConfiguration.Error);
            if (engine is null) return 2;
            var models = Open(engine, parse.GetValue(seed), parse.GetValue(k), parse.GetValue(horizon));
            var loaded = await models.LoadAsync(cancellationToken);
            if (parse.GetValue(refresh) || !loaded)
            {
                var summary = await models.RefreshAsync(cancellationToken);
                Console.WriteLine(Describe(summary));
            }
            if (models.Segments is { } segments)
            {
                Console.WriteLine(Describe(segments));
                await PrintBriefsAsync(engine, models, segments, cancellationToken);
            }
            else Console.WriteLine("No segments yet (too few users with events).");
            return 0;
        });
        return command;
    }

    /// <summary>Each segment's name and brief as the server serves them: stored (an admin's or the chat model's) or the template.</summary>
    private static async Task PrintBriefsAsync(PersonaEngine engine, PersonaModels models, SegmentModel segments, CancellationToken cancellationToken)
    {
        var generative = LlmCommand.OptionsFromEnvironment();
        using var endpoint = new GenerativeEndpoint(null, generative);
        var briefs = new GroupBriefs(models, new AudienceService(engine, Microsoft.Extensions.Options.Options.Create(models.Options), TimeProvider.System),
            endpoint, TimeProvider.System, NullLogger<GroupBriefs>.Instance);
        foreach (var segment in segments.Segments)
            if (await briefs.GetAsync(BriefKinds.Segment, segment.Id, cancellationToken) is { } brief)
                Console.WriteLine($"{segment.Id} · {brief.NameEn} / {brief.NameZh} ({brief.Source}): {brief.BriefEn} / {brief.BriefZh}");
    }

    public static PersonaModels Open(PersonaEngine engine, int seed, int k, double horizonDays) =>
        new(engine, Microsoft.Extensions.Options.Options.Create(new PersonaModelOptions { Seed = seed, SegmentCount = k, HorizonDays = horizonDays }),
            NullLogger<PersonaModels>.Instance);

    public static string Describe(RefreshSummary s)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Refreshed {s.Users} users as of {s.AsOf:u} in {s.TotalSeconds:0.00} s " +
            $"(split {s.SplitSeconds:0.00} s, train {s.TrainSeconds:0.00} s, predict {s.PredictSeconds:0.00} s, segments {s.SegmentSeconds:0.00} s).");
        if (s.Skipped is not null) sb.AppendLine(s.Skipped);
        foreach (var t in s.Tasks)
        {
            var scores = string.Join(", ", t.Scores.Select(x => string.Create(c, $"{x.Learner} {x.Validation:0.000}")));
            sb.AppendLine(c, $"  {t.Task,-40} {t.Learner,-9} rows {t.Rows,7} positives {t.Positives,6}  validation {scores}");
        }
        return sb.ToString();
    }

    public static string Describe(SegmentModel m)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var byK = m.SilhouetteByK.Count > 0 ? " — by k: " + string.Join(", ", m.SilhouetteByK.Select(p => string.Create(c, $"{p.Key}: {p.Value:0.000}"))) : "";
        sb.AppendLine(c, $"{m.K} segments ({m.Version}), silhouette {m.Silhouette:0.000}{byK}");
        sb.AppendLine("| id | label | 标签 | users | share |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var s in m.Segments) sb.AppendLine(c, $"| {s.Id} | {s.LabelEn} | {s.LabelZh} | {s.Size} | {s.Share:P1} |");
        return sb.ToString();
    }
}
