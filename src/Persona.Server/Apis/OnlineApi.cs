using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;
using Persona.Core.Online;
using Persona.Hosting.Online;
using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>One group of online figures; a dimension not grouped by is null.</summary>
public sealed record OnlineMetricsRow(
    string? Surface, string? Source, string? Position, string? Variant, DateTimeOffset? Hour,
    long Served, long Impressions, long Clicks, long Carts, long Purchases, double Revenue,
    string Basis, Interval Ctr, Interval AddToCartRate, Interval Conversion, Interval RevenuePerThousand);

public sealed record OnlineMetricsResponse(
    DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> By, int AttributionWindowMinutes, long UnattributedEvents, int AnswersHeld,
    IReadOnlyList<OnlineMetricsRow> Rows);

public static class OnlineApi
{
    /// <summary>The longest range one request may ask for.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    private static readonly Dictionary<string, OnlineDimensions> Dimensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["surface"] = OnlineDimensions.Surface,
        ["source"] = OnlineDimensions.Source,
        ["position"] = OnlineDimensions.Position,
        ["variant"] = OnlineDimensions.Variant,
        ["hour"] = OnlineDimensions.Hour,
    };

    public static IEndpointRouteBuilder MapOnlineApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/metrics/online", Metrics)
            .WithTags("Online")
            .WithName("GetOnlineMetrics")
            .WithSummary("CTR, add-to-cart rate, conversion and revenue per thousand impressions, with 95 % intervals, of the answers served " +
                         "(recommendations, similar items, search). Query: from, to (ISO 8601; default the last 24 hours), " +
                         "by (surface, source, position, variant, hour; comma-separated or repeated).")
            .RequireScope(PersonaScopes.Read);
        app.MapGet("/v1/metrics/online/blend", (LearnedBlendService blend) => TypedResults.Ok(blend.Current))
            .WithTags("Online")
            .WithName("GetLearnedBlend")
            .WithSummary("The recommendation blend learned from clicks: per source its shown positions, clicks, clicks its positions predict, lift and weight factor, " +
                         "and the weights a strategy with blend \"learned\" uses (refitted every Persona:Online:BlendRefitMinutes).")
            .RequireScope(PersonaScopes.Read);
        return app;
    }

    public static Results<Ok<OnlineMetricsResponse>, ValidationProblem> Metrics(HttpRequest request, OnlineLoop online, TimeProvider time)
    {
        var query = request.Query;
        var errors = new List<FieldError>();
        var to = ReadTime(query, "to", errors) ?? time.GetUtcNow();
        var from = ReadTime(query, "from", errors) ?? to.AddDays(-1);
        if (errors.Count == 0 && from >= to) errors.Add(new FieldError(null, "from", "from must be before to."));
        if (errors.Count == 0 && to - from > MaxRange) errors.Add(new FieldError(null, "from", $"The range may span at most {MaxRange.TotalDays:0} days."));
        var (by, names) = ReadDimensions(query["by"], errors);
        if (errors.Count > 0) return ApiResults.QueryProblem(errors);
        return TypedResults.Ok(Report(online, from, to, by, names));
    }

    /// <summary>The dimensions named in <paramref name="values"/> (comma-separated or repeated), in the order given; an unknown name is an error for <c>by</c>.</summary>
    public static (OnlineDimensions By, List<string> Names) ReadDimensions(IEnumerable<string?> values, List<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(errors);
        var by = OnlineDimensions.None;
        var names = new List<string>();
        foreach (var value in values)
            foreach (var name in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Dimensions.TryGetValue(name, out var dimension))
                    errors.Add(new FieldError(null, "by", $"'{EventBatchReader.Truncate(name)}' is not one of {string.Join(", ", Dimensions.Keys)}."));
                else if ((by & dimension) == 0)
                {
                    by |= dimension;
                    names.Add(name.ToLowerInvariant());
                }
            }
        return (by, names);
    }

    /// <summary>The figures of [<paramref name="from"/>, <paramref name="to"/>) grouped by <paramref name="by"/>: what the endpoint and <c>persona online metrics</c> answer.</summary>
    public static OnlineMetricsResponse Report(OnlineLoop online, DateTimeOffset from, DateTimeOffset to, OnlineDimensions by, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(online);
        var ledger = online.Ledger;
        var rows = ledger.Query(from, to, by).Select(r =>
        {
            var figures = OnlineFigures.Of(r.Counts);
            return new OnlineMetricsRow(r.Surface, r.Source, r.Position, r.Variant, r.Hour,
                r.Counts.Served, r.Counts.Impressions, r.Counts.Clicks, r.Counts.Carts, r.Counts.Purchases, Math.Round(r.Counts.Revenue, 2),
                figures.Basis, figures.Ctr, figures.AddToCartRate, figures.Conversion, figures.RevenuePerThousand);
        }).ToList();
        return new OnlineMetricsResponse(from, to, names, online.Options.AttributionWindowMinutes, ledger.UnattributedEvents, ledger.AnswerCount, rows);
    }

    private static DateTimeOffset? ReadTime(IQueryCollection query, string name, List<FieldError> errors)
    {
        var values = query[name];
        if (values.Count == 0) return null;
        if (values.Count > 1)
        {
            errors.Add(new FieldError(null, name, "Give this parameter once."));
            return null;
        }
        if (DateTimeOffset.TryParse(values[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) return parsed.ToUniversalTime();
        errors.Add(new FieldError(null, name, $"'{EventBatchReader.Truncate(values[0] ?? "")}' is not an ISO 8601 time such as 2026-12-08T10:00:00Z."));
        return null;
    }
}
