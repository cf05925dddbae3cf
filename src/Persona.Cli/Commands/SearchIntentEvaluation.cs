using Persona.Hosting;

namespace Persona.Cli.Commands;

/// <summary>
/// <c>persona evaluate --task search-intent --data DIR</c>: every shopper of the store runs the demo's example queries;
/// prints the share of their top-10 results in the query's category and price range, personalised and not.
/// </summary>
internal static class SearchIntentEvaluation
{
    public const string Task = "search-intent";

    public static async Task<int> RunAsync(DirectoryInfo data, FileInfo? output, CancellationToken cancellationToken)
    {
        // The caller has checked that the folder holds a store.
        await using var engine = await EngineSession.OpenAsync(data, quiet: true, cancellationToken);
        if (engine is null) return 2;
        using var search = await EngineSession.OpenSearchAsync(engine, data, new PersonaSearchOptions(), quiet: false, Console.Error, cancellationToken);
        var users = engine.ProfileUsers.Order(StringComparer.Ordinal).ToList();
        if (users.Count == 0)
        {
            Console.Error.WriteLine($"The store in '{data.FullName}' has no shopper profiles to search for.");
            return 2;
        }
        var report = SearchIntentEvaluator.Evaluate(search, users);
        Console.WriteLine(report.ToMarkdown());
        if (output is not null) await File.WriteAllTextAsync(output.FullName, report.ToJson(), cancellationToken);
        return 0;
    }
}
