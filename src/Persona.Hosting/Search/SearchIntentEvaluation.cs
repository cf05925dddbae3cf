using System.Globalization;
using System.Text;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Search;

namespace Persona.Hosting;

/// <summary>A query with what its results must be: in <paramref name="Category"/> (a key, <c>Beauty &gt; Makeup &gt; Lipstick</c>, at any depth) and within the price bounds.</summary>
public sealed record SearchIntentCase(string Query, string Category, double? PriceMax = null, double? PriceMin = null)
{
    /// <summary>Whether <paramref name="item"/> is what the query asks for.</summary>
    public bool Matches(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var inCategory = false;
        for (var d = 1; d <= item.CategoryPath.Count && !inCategory; d++)
            inCategory = CategoryPaths.Key(item.CategoryPath, d) == Category;
        if (!inCategory) return false;
        if ((PriceMax is not null || PriceMin is not null) && item.Price is not { } price) return false;
        return !(item.Price > PriceMax) && !(item.Price < PriceMin);
    }
}

/// <summary>One query's figures over every shopper: the share of top-k results that match it, personalised and not.</summary>
public sealed record SearchIntentRow(
    string Query, string Category, double? PriceMax, int Users, double PersonalShare, double AnonymousShare, double PersonalFill, int UsersBelowHalf);

/// <summary>What <see cref="SearchIntentEvaluator"/> measured.</summary>
public sealed record SearchIntentReport
{
    public required int K { get; init; }
    public required int Users { get; init; }
    public required IReadOnlyList<SearchIntentRow> Rows { get; init; }
    /// <summary>Matching results ÷ results returned, over every (shopper, query) personalised search.</summary>
    public double PersonalShare { get; init; }
    public double AnonymousShare { get; init; }
    /// <summary>Results returned ÷ k, personalised: a search that answers nothing is no good either.</summary>
    public double PersonalFill { get; init; }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Search intent on {Users:N0} shoppers: share of the top {K} results in the query's category and price range.");
        sb.AppendLine();
        sb.AppendLine("| query | category | price ≤ | personalised | not personalised | results / k | shoppers below 50 % |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in Rows)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Query} | {r.Category} | {(r.PriceMax is { } max ? max.ToString("0.##", CultureInfo.InvariantCulture) : "")} | {r.PersonalShare:P1} | {r.AnonymousShare:P1} | {r.PersonalFill:P1} | {r.UsersBelowHalf:N0} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| **all** | | | **{PersonalShare:P1}** | {AnonymousShare:P1} | {PersonalFill:P1} | |");
        return sb.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true });
}

/// <summary>
/// Checks that personalisation re-orders what matches a query and never brings in what doesn't: every shopper runs each
/// query, and the share of their top-k results that lie in the query's category and price range is compared with the
/// non-personal order's.
/// </summary>
public static class SearchIntentEvaluator
{
    /// <summary>
    /// The README's example query and its English twin, plus one per kind of intent (price bound, Chinese or English,
    /// category word only) over the demo shop's categories.
    /// </summary>
    public static IReadOnlyList<SearchIntentCase> DemoCases { get; } =
    [
        new("口红 100元以下", "Beauty > Makeup > Lipstick", PriceMax: 100),
        new("lipstick under 100", "Beauty > Makeup > Lipstick", PriceMax: 100),
        new("运动鞋 300元以下", "Apparel > Shoes > Sneakers", PriceMax: 300),
        new("wireless earbuds under 200", "Electronics > Audio > Headphones", PriceMax: 200),
        new("面霜", "Beauty > Skincare > Face Cream"),
        new("coffee beans", "Food > Coffee"),
    ];

    public static SearchIntentReport Evaluate(SearchService search, IReadOnlyCollection<string> users, IReadOnlyList<SearchIntentCase>? cases = null, int k = 10)
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentNullException.ThrowIfNull(users);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        cases ??= DemoCases;
        var rows = new List<SearchIntentRow>(cases.Count);
        long matched = 0, returned = 0, anonymousMatched = 0, anonymousReturned = 0;
        foreach (var c in cases)
        {
            var request = new SearchRequest { Query = c.Query, Limit = k };
            var anonymous = search.Search(request with { Personalize = false }, null).Hits;
            var anonymousHits = anonymous.Count(h => c.Matches(h.Item));
            long rowMatched = 0, rowReturned = 0;
            var belowHalf = 0;
            foreach (var user in users)
            {
                var hits = search.Search(request, user).Hits;
                var good = hits.Count(h => c.Matches(h.Item));
                rowMatched += good;
                rowReturned += hits.Count;
                if (hits.Count > 0 && good * 2 < hits.Count) belowHalf++;
            }
            rows.Add(new SearchIntentRow(c.Query, c.Category, c.PriceMax, users.Count,
                Share(rowMatched, rowReturned), Share(anonymousHits, anonymous.Count), Share(rowReturned, (long)users.Count * k), belowHalf));
            matched += rowMatched;
            returned += rowReturned;
            anonymousMatched += anonymousHits;
            anonymousReturned += anonymous.Count;
        }
        return new SearchIntentReport
        {
            K = k,
            Users = users.Count,
            Rows = rows,
            PersonalShare = Share(matched, returned),
            AnonymousShare = Share(anonymousMatched, anonymousReturned),
            PersonalFill = Share(returned, (long)users.Count * k * cases.Count),
        };

        static double Share(long part, long whole) => whole == 0 ? 0 : Math.Round((double)part / whole, 4);
    }
}
