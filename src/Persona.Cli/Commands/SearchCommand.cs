using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Abstractions;
using Persona.Core.Search;
using Persona.Generative;
using Persona.Hosting;
using Persona.Hosting.Generative;
using Spectre.Console;

namespace Persona.Cli.Commands;

/// <summary><c>persona search --data DIR "QUERY" [--user ID]</c>: one search over a data folder, results with reasons.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var query = new Argument<string>("query") { Description = "What to search for, in Chinese, English or both." };
        var user = new Option<string?>("--user") { Description = "Personalise for this user." };
        var n = new Option<int>("--n") { Description = "Results to show.", DefaultValueFactory = _ => 10 };
        var category = new Option<string?>("--category") { Description = "Only items in this category (key or name)." };
        var priceMax = new Option<double?>("--price-max") { Description = "Only items priced at most this." };
        var noPersonalize = new Option<bool>("--no-personalize") { Description = "The non-personal order even with --user." };
        var lexical = new Option<bool>("--lexical") { Description = "Lexical candidates only: no text encoder (neither loaded nor trained)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var encoderOption = new Option<string>("--encoder")
        {
            Description = "The text encoder, as Persona:Text:Encoder sets it for the server: in-domain (the default: the stored one, or trained now), minilm, " +
                "a Hugging Face checkpoint folder or an .onnx file with vocab.txt beside it. Fine-tuned adapters under DATA/models/text serve with a pretrained one.",
            DefaultValueFactory = _ => PersonaTextOptions.InDomain,
        };
        var command = new Command("search", "Search products, personalised with a user's profile.") { data, query, user, n, category, priceMax, noPersonalize, lexical, json, encoderOption };
        CommonOptions.Require(command, query, "query", "persona search [--data DIR] \"QUERY\" [--user ID]");
        n.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 100) result.AddError("--n must be between 1 and 100.");
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var quiet = parse.GetValue(json);
            var dir = parse.GetValue(data)!;
            var error = parse.InvocationConfiguration.Error;
            await using var engine = await EngineSession.OpenAsync(dir, quiet, cancellationToken, error: error);
            if (engine is null) return 2;
            var options = new PersonaSearchOptions { Semantic = !parse.GetValue(lexical) };
            Persona.Text.ITextEncoder? pretrained = null;
            if (options.Semantic && !CommonOptions.TryOpenEncoder(parse.GetValue(encoderOption)!, dir.FullName, error, out pretrained)) return 2;
            using var search = await EngineSession.OpenSearchAsync(engine, dir, options, quiet, error, cancellationToken, pretrained);
            if (search.Index.Count == 0)
            {
                await error.WriteLineAsync($"The store in {dir.FullName} holds no items to search. Import a catalog with `persona import --data {dir.FullName} --items F`, or run `persona demo`.");
                return 2;
            }
            var request = new SearchRequest
            {
                Query = parse.GetValue(query)!,
                Limit = parse.GetValue(n),
                Category = parse.GetValue(category),
                PriceMax = parse.GetValue(priceMax),
                Personalize = !parse.GetValue(noPersonalize),
            };
            if (!TryOpenRewriter(error, out var rewriter)) return 2;
            using var endpoint = rewriter.Endpoint;
            var (understood, rewrite) = await rewriter.Rewriter.RewriteAsync(search.Index, engine.Catalog, request, cancellationToken);
            var result = search.Search(understood, parse.GetValue(user) is { } id ? engine.UserIds.ToStored(id) : null);
            if (quiet)
            {
                var printed = JsonSerializer.SerializeToNode(result, PersonaJson.Options)!.AsObject();
                if (rewrite is not null) printed["rewrite"] = JsonSerializer.SerializeToNode(rewrite, PersonaJson.Options);
                await parse.InvocationConfiguration.Output.WriteLineAsync(printed.ToJsonString(new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true }));
                return 0;
            }
            var console = EngineSession.Terminal(parse);
            Print(console, result);
            if (rewrite is not null) console.MarkupLine(Markup.Escape($"改写 Rewrite: {Describe(rewrite)}"));
            var encoder = search.Index.Encoder is { } e
                ? $"{e.Kind} text encoder {e.Version}" + (search.Pretrained is not null ? "" : search.RestoredEncoder is not null ? " (stored)" : " (trained now)")
                : "no text encoder (lexical only)";
            var sequence = search.SequenceModelVersion is { } v ? $"sequence model {v}" : "no sequence model trained";
            console.MarkupLine(Markup.Escape($"模型 Models: {encoder} · {sequence}"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Query rewriting as the server does it, from the same settings in the environment (<c>Persona__Generative__BaseUrl</c>,
    /// <c>__Model</c>, ...): off without a base URL. False (and the problems written) when the settings are invalid.
    /// </summary>
    private static bool TryOpenRewriter(TextWriter error, out (QueryRewriter Rewriter, GenerativeEndpoint Endpoint) rewriter)
    {
        var options = new GenerativeOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(GenerativeOptions.SectionName).Bind(options);
        rewriter = default;
        if (options.Validate() is { Count: > 0 } problems)
        {
            foreach (var problem in problems) error.WriteLine($"{GenerativeOptions.SectionName}: {problem}");
            return false;
        }
        var endpoint = new GenerativeEndpoint(options.Enabled ? new GenerativeClient(options) : null, options);
        rewriter = (new QueryRewriter(endpoint), endpoint);
        return true;
    }

    private static string Describe(QueryRewrite rewrite) => rewrite.Source == QueryRewrite.ModelSource
        ? $"model {rewrite.Model} in {rewrite.ElapsedMs:0} ms{(rewrite.Cached ? " (cached)" : "")}"
        : $"own parser after {rewrite.ElapsedMs:0} ms ({rewrite.Reason})";

    private static void Print(IAnsiConsole console, SearchResult result)
    {
        var q = result.Query;
        var intents = new List<string>();
        if (q.PriceMin is { } min) intents.Add($"price ≥ {min}");
        if (q.PriceMax is { } max) intents.Add($"price ≤ {max}");
        if (q.PricePreference != PricePreference.None) intents.Add($"prefers {q.PricePreference.ToString().ToLowerInvariant()} prices");
        if (q.Brands.Count > 0) intents.Add("brand " + string.Join(", ", q.Brands));
        if (q.Categories.Count > 0) intents.Add("category " + q.Categories[0]);
        console.MarkupLine($"查询 Query: [bold]{Markup.Escape(q.Text)}[/]" + (intents.Count > 0 ? $"  ({Markup.Escape(string.Join("; ", intents))})" : "")
            + (result.Personalized ? "  [green]personalised 个性化[/]" : ""));
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("#").AddColumn("商品 Item").AddColumn("Score").AddColumn("lex / sem / intent / personal").AddColumn("原因 Reason");
        var rank = 0;
        foreach (var h in result.Hits)
        {
            var b = h.Breakdown;
            table.AddRow(
                $"{++rank}",
                Markup.Escape($"{h.Item.Title} [{h.Item.Id}]" + (h.Item.Brand is { } brand ? $" · {brand}" : "") + (h.Item.Price is { } p ? $" · {p:0.##} {h.Item.Currency}" : "")),
                $"{h.Score:0.000}",
                $"{b.Lexical:0.00} / {b.Semantic:0.00} / {b.Intent:0.00} / {b.Personal:0.00}",
                Markup.Escape($"{h.Reason.Zh} / {h.Reason.En}"));
        }
        if (result.Hits.Count == 0) table.AddRow("", "[grey]no item matches this query and its filters[/]", "", "", "");
        console.Write(table);
    }
}
