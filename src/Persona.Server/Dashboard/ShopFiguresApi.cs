using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Core.Models.Sequence;
using Persona.Hosting;
using Persona.Server.Apis;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Dashboard;

/// <summary>Shop figures over a date range (UTC days, both ends included), for the Overview page.</summary>
public sealed record ShopFiguresResponse(
    DateOnly? DataFrom, DateOnly? DataTo, DateOnly? From, DateOnly? To, string Currency,
    double Revenue, int Orders, int ActiveShoppers, int Buyers, double? Conversion, double? AverageOrderValue,
    LifecycleMix Lifecycle, IReadOnlyList<DayFigures> Daily, PopulationFigures Population, IReadOnlyList<ModelInService> Models);

/// <summary>Profiled shoppers per lifecycle stage, as of the engine's clock.</summary>
public sealed record LifecycleMix(int New, int Active, int AtRisk, int Churned)
{
    public static LifecycleMix Of(IEnumerable<string> stages)
    {
        int n = 0, a = 0, r = 0, c = 0;
        foreach (var stage in stages)
        {
            switch (stage)
            {
                case LifecycleStages.New: n++; break;
                case LifecycleStages.Active: a++; break;
                case LifecycleStages.AtRisk: r++; break;
                case LifecycleStages.Churned: c++; break;
            }
        }
        return new LifecycleMix(n, a, r, c);
    }
}

/// <summary>
/// Why the user and profile counts differ: users are records sent with <c>PUT /v1/users</c> or an import; profiles are
/// shoppers with events. A record without events has no profile yet; events from a shopper without a record make one.
/// </summary>
public sealed record PopulationFigures(long Users, long Profiles, int UsersWithoutEvents, int ProfilesWithoutUserRecord, int ConsentWithdrawn);

/// <summary>One model the server uses now: what it is (<see cref="Name"/>), its version, when it was trained and a bilingual note.</summary>
public sealed record ModelInService(string Name, string Status, string? Version, DateTimeOffset? TrainedAt, string DetailEn, string DetailZh);

/// <summary>A segment in plain figures: who is in it, what they spend and on what.</summary>
public sealed record SegmentSummary(
    string Id, string LabelEn, string LabelZh, int Size, double Share, double Revenue, double RevenueShare, int Orders, int Buyers,
    double? AverageOrderValue, LifecycleMix Lifecycle, string Basis, IReadOnlyList<NamedShare> TopCategories, IReadOnlyList<NamedShare> TopBrands,
    double? CentreX, double? CentreY);

/// <summary>A category or brand with its bilingual label and its share of the segment's revenue (or item events).</summary>
public sealed record NamedShare(string Key, string LabelEn, string LabelZh, double Share);

public sealed record SegmentSummariesResponse(string Version, string Currency, double Revenue, IReadOnlyList<SegmentSummary> Segments);

/// <summary>A value the audience builder offers: a key with its labels and how many profiled shoppers have it.</summary>
public sealed record AudienceChoice(string Key, string LabelEn, string LabelZh, int Users, int? Level = null);

public sealed record AudienceChoicesResponse(
    IReadOnlyList<AudienceChoice> Segments, IReadOnlyList<AudienceChoice> Lifecycle, IReadOnlyList<AudienceChoice> Tiers,
    IReadOnlyList<AudienceChoice> Tags, IReadOnlyList<AudienceChoice> Categories);

/// <summary>The read endpoints behind the Overview figures, the segment summaries and the audience builder's choices.</summary>
public static class ShopFiguresApi
{
    public const int TopNamed = 3;
    /// <summary>Category levels the audience builder offers (top level and the one below).</summary>
    public const int ChoiceCategoryLevels = 2;

    private static readonly (string Key, string En, string Zh)[] Stages =
    [
        (LifecycleStages.New, "new", "新用户"), (LifecycleStages.Active, "active", "活跃"),
        (LifecycleStages.AtRisk, "at risk", "有流失风险"), (LifecycleStages.Churned, "churned", "已流失"),
    ];

    private static readonly (string Key, string En, string Zh)[] TierLabels =
        [(Tiers.Low, "low", "低"), (Tiers.Mid, "mid", "中"), (Tiers.High, "high", "高")];

    public static IEndpointRouteBuilder MapShopFigures(this IEndpointRouteBuilder app, ShopLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/v1/admin/overview/figures", (string? from, string? to, HttpContext context, CancellationToken cancellationToken) =>
                GetFiguresAsync(from, to, ledger, context.RequestServices, cancellationToken))
            .WithTags("Admin").WithName("GetShopFigures")
            .WithSummary("Revenue (GMV), orders, active shoppers, buyers, conversion and average order value over from..to (UTC dates YYYY-MM-DD, both included; default: the data's whole range), per day; the lifecycle mix; why users and profiles differ; every model in service.")
            .RequireScope(PersonaScopes.Admin);
        app.MapGet("/v1/segments/summary", (PersonaModels models, CancellationToken cancellationToken) => GetSegmentSummariesAsync(ledger, models, cancellationToken))
            .WithTags("Segments").WithName("GetSegmentSummaries")
            .WithSummary("Per segment: size, revenue and its share, orders, average order value, lifecycle mix, top categories and brands, and its centre on the 2-D map.")
            .RequireScope(PersonaScopes.Read);
        app.MapGet("/v1/audiences/choices", (PersonaModels models, CancellationToken cancellationToken) => GetChoicesAsync(ledger, models, cancellationToken))
            .WithTags("Audiences").WithName("GetAudienceChoices")
            .WithSummary("What an audience rule can name: segments, lifecycle stages, purchasing-power tiers, tag keys in use and categories, each with labels and the number of profiled shoppers.")
            .RequireScope(PersonaScopes.Read);
        return app;
    }

    public static async Task<Results<Ok<ShopFiguresResponse>, ValidationProblem>> GetFiguresAsync(
        string? from, string? to, ShopLedger ledger, IServiceProvider services, CancellationToken cancellationToken)
    {
        var errors = new List<FieldError>();
        var fromDate = ParseDate(from, "from", errors);
        var toDate = ParseDate(to, "to", errors);
        if (fromDate is { } f && toDate is { } t && f > t) errors.Add(new FieldError(null, "from", $"from ({f:yyyy-MM-dd}) is after to ({t:yyyy-MM-dd})."));
        if (errors.Count > 0) return ApiResults.Problem(errors);

        var ledgerNow = await ledger.GetAsync(cancellationToken);
        var start = fromDate ?? ledgerNow.FirstDay;
        var end = toDate ?? ledgerNow.LastDay;
        var daily = start is { } s && end is { } e ? ledgerNow.Days.Where(d => d.Date >= s && d.Date <= e).ToList() : [];
        var revenue = Math.Round(daily.Sum(d => d.Revenue), 2);
        var orders = daily.Sum(d => d.Orders);
        int active = 0, buyers = 0;
        if (start is { } lo && end is { } hi)
        {
            foreach (var shopper in ledgerNow.Shoppers.Values)
            {
                if (AnyIn(shopper.ActiveDays, lo.DayNumber, hi.DayNumber)) active++;
                if (AnyIn(shopper.PurchaseDays, lo.DayNumber, hi.DayNumber)) buyers++;
            }
        }
        var population = new PopulationFigures(ledgerNow.Users, ledgerNow.Profiles, ledgerNow.UsersWithoutEvents, ledgerNow.ProfilesWithoutUserRecord, ledgerNow.ConsentWithdrawn);
        return TypedResults.Ok(new ShopFiguresResponse(
            ledgerNow.FirstDay, ledgerNow.LastDay, start, end, ledgerNow.Currency,
            revenue, orders, active, buyers,
            active > 0 ? Math.Round((double)buyers / active, 4) : null,
            orders > 0 ? Math.Round(revenue / orders, 2) : null,
            LifecycleMix.Of(ledgerNow.Lifecycle.Values), daily, population, ModelsInService(services)));
    }

    private static DateOnly? ParseDate(string? value, string field, List<FieldError> errors)
    {
        if (value is null) return null;
        if (DateOnly.TryParseExact(value.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)) return date;
        errors.Add(new FieldError(null, field, $"'{EventBatchReader.Truncate(value)}' is not a date; expected YYYY-MM-DD (UTC)."));
        return null;
    }

    /// <summary>Whether a sorted array of day numbers has one in [lo, hi].</summary>
    private static bool AnyIn(int[] days, int lo, int hi)
    {
        var i = Array.BinarySearch(days, lo);
        if (i < 0) i = ~i;
        return i < days.Length && days[i] <= hi;
    }

    /// <summary>Every model the server serves from: predictions, segments, the sequence model and the search encoder and re-ranker.</summary>
    public static IReadOnlyList<ModelInService> ModelsInService(IServiceProvider services)
    {
        var list = new List<ModelInService>();
        var models = services.GetService<PersonaModels>();
        var refresh = models?.LastRefresh;
        if (refresh?.PredictionModel is { } prediction)
        {
            var chosen = refresh.Tasks.Where(t => t.Task is Core.Models.Propensity.PredictionTask.Purchase or Core.Models.Propensity.PredictionTask.Churn).ToList();
            var learners = string.Join(", ", chosen.Select(t => $"{t.Task}: {t.Learner}"));
            var learnersZh = string.Join("，", chosen.Select(t => $"{(t.Task == "purchase" ? "购买" : "流失")}：{t.Learner}"));
            list.Add(new ModelInService("predictions", "serving", prediction, refresh.AsOf,
                $"Purchase propensity, churn risk and per-category purchase and demand ({refresh.Tasks.Count} tasks; {learners}); trained on {refresh.Users:N0} shoppers.",
                $"购买倾向、流失风险及各品类购买与需求（{refresh.Tasks.Count} 个任务；{learnersZh}），基于 {refresh.Users:N0} 位用户训练。"));
        }
        else
        {
            list.Add(new ModelInService("predictions", "not_trained", null, null,
                "Not trained yet: the scheduled refresh or POST /v1/segments/refresh trains it.", "尚未训练：定时刷新或 POST /v1/segments/refresh 会训练它。"));
        }
        if (models?.Segments is { } segments)
        {
            list.Add(new ModelInService("segments", "serving", segments.Version, segments.ComputedAt,
                $"k-means, {segments.K} segments, silhouette {segments.Silhouette.ToString("0.00", CultureInfo.InvariantCulture)}.",
                $"k-means，{segments.K} 个分群，轮廓系数 {segments.Silhouette.ToString("0.00", CultureInfo.InvariantCulture)}。"));
        }
        else
        {
            list.Add(new ModelInService("segments", "not_trained", null, null, "Not computed yet.", "尚未计算。"));
        }
        if (services.GetService<ISequenceModelProvider>() is SequenceModelRepository { CurrentModel: { } sequence })
        {
            list.Add(new ModelInService("sequence", "serving", sequence.Version, sequence.Manifest?.CreatedAt,
                $"Transformer over behaviour sequences: {sequence.Network.Config.ItemCount:N0} items, dimension {sequence.Dimension}; next-item scores, shopper embeddings and next categories.",
                $"基于行为序列的 Transformer：{sequence.Network.Config.ItemCount:N0} 个商品，维度 {sequence.Dimension}；用于下一商品打分、用户向量与下一步品类。"));
        }
        else if (services.GetService<ISequenceModelProvider>()?.Current is { } other)
        {
            list.Add(new ModelInService("sequence", "serving", other.Version, null, "Transformer over behaviour sequences.", "基于行为序列的 Transformer。"));
        }
        else
        {
            list.Add(new ModelInService("sequence", "not_trained", null, null,
                "Not trained: run persona train; recommendations use co-occurrence, affinity and popularity meanwhile.",
                "未训练：运行 persona train；在此之前推荐使用共现、偏好与热度。"));
        }
        if (services.GetService<SearchService>() is { } search)
        {
            var status = search.Status;
            list.Add(status.EncoderVersion is { } encoder
                ? new ModelInService("search_encoder", "serving", encoder, null,
                    $"In-domain text encoder for semantic search over {status.Items:N0} items.", $"语义搜索的领域内文本编码器，覆盖 {status.Items:N0} 个商品。")
                : new ModelInService("search_encoder", "not_trained", null, null,
                    $"Not trained yet: search is lexical (BM25) over {status.Items:N0} items.", $"尚未训练：搜索为词法检索（BM25），覆盖 {status.Items:N0} 个商品。"));
            list.Add(new ModelInService("search_reranker", "serving", status.Weights.Source, null,
                $"Personal re-ranker weights ({status.Weights.Source}, {status.Weights.TrainingPairs:N0} click pairs).",
                $"个性化重排权重（{status.Weights.Source}，{status.Weights.TrainingPairs:N0} 个点击对）。"));
        }
        return list;
    }

    public static async Task<Results<Ok<SegmentSummariesResponse>, ProblemHttpResult>> GetSegmentSummariesAsync(
        ShopLedger ledger, PersonaModels models, CancellationToken cancellationToken)
    {
        if (models.Segments is not { } model)
            return ApiResults.NotFound("No segments yet.", "Segments are computed by the scheduled refresh or POST /v1/segments/refresh once enough users have events.");
        var snapshot = await ledger.GetAsync(cancellationToken);
        var total = snapshot.Shoppers.Values.Sum(s => s.Revenue);
        var members = model.Members.GroupBy(m => m.Value.SegmentId, m => m.Key).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var centres = model.Projection.GroupBy(p => p.SegmentId)
            .ToDictionary(g => g.Key, g => (X: g.Average(p => p.X), Y: g.Average(p => p.Y)), StringComparer.Ordinal);
        var summaries = new List<SegmentSummary>();
        foreach (var segment in model.Segments)
        {
            var ids = members.GetValueOrDefault(segment.Id) ?? [];
            var shoppers = ids.Select(id => snapshot.Shoppers.GetValueOrDefault(id)).OfType<ShopperLedger>().ToList();
            var revenue = shoppers.Sum(s => s.Revenue);
            var orders = shoppers.Sum(s => s.Orders);
            var byRevenue = revenue > 0;
            var categories = byRevenue ? Sum(shoppers.Select(s => s.CategoryRevenue)) : Sum(shoppers.Select(s => s.CategoryEvents.ToDictionary(kv => kv.Key, kv => (double)kv.Value)));
            var brands = byRevenue ? Sum(shoppers.Select(s => s.BrandRevenue)) : Sum(shoppers.Select(s => s.BrandEvents.ToDictionary(kv => kv.Key, kv => (double)kv.Value)));
            centres.TryGetValue(segment.Id, out var centre);
            summaries.Add(new SegmentSummary(
                segment.Id, segment.LabelEn, segment.LabelZh, segment.Size, segment.Share,
                Math.Round(revenue, 2), total > 0 ? Math.Round(revenue / total, 4) : 0, orders, shoppers.Count(s => s.Orders > 0),
                orders > 0 ? Math.Round(revenue / orders, 2) : null,
                LifecycleMix.Of(ids.Select(id => snapshot.Lifecycle.GetValueOrDefault(id)).OfType<string>()),
                byRevenue ? "revenue" : "events",
                Top(categories, key => snapshot.Catalog.CategoryLabel(key)),
                Top(brands, key => snapshot.Catalog.BrandLabel(key)),
                centres.ContainsKey(segment.Id) ? Math.Round(centre.X, 4) : null,
                centres.ContainsKey(segment.Id) ? Math.Round(centre.Y, 4) : null));
        }
        return TypedResults.Ok(new SegmentSummariesResponse(model.Version, snapshot.Currency, Math.Round(total, 2), summaries));
    }

    private static Dictionary<string, double> Sum(IEnumerable<IReadOnlyDictionary<string, double>> parts)
    {
        var sum = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var part in parts)
            foreach (var (key, value) in part)
                sum[key] = sum.GetValueOrDefault(key) + value;
        return sum;
    }

    private static List<NamedShare> Top(Dictionary<string, double> totals, Func<string, (string En, string Zh)> label)
    {
        var all = totals.Values.Sum();
        if (all <= 0) return [];
        return [.. totals.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(TopNamed)
            .Select(kv => { var (en, zh) = label(kv.Key); return new NamedShare(kv.Key, en, zh, Math.Round(kv.Value / all, 4)); })];
    }

    public static async Task<Ok<AudienceChoicesResponse>> GetChoicesAsync(ShopLedger ledger, PersonaModels models, CancellationToken cancellationToken)
    {
        var snapshot = await ledger.GetAsync(cancellationToken);
        var segments = models.Segments?.Segments.Select(s => new AudienceChoice(s.Id, s.LabelEn, s.LabelZh, s.Size)).ToList() ?? [];
        var stages = snapshot.Lifecycle.Values.GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var tiers = snapshot.PurchasingPower.Values.OfType<string>().GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var tags = snapshot.Tags.OrderByDescending(t => t.Value.Users).ThenBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new AudienceChoice(t.Key, t.Value.En, t.Value.Zh, t.Value.Users)).ToList();
        var categoryUsers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var shopper in snapshot.Shoppers.Values)
            foreach (var key in shopper.Categories)
                categoryUsers[key] = categoryUsers.GetValueOrDefault(key) + 1;
        var categories = snapshot.Catalog.Categories.Where(c => c.Level <= ChoiceCategoryLevels)
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new AudienceChoice(c.Key, c.LabelEn, c.LabelZh, categoryUsers.GetValueOrDefault(c.Key), c.Level)).ToList();
        return TypedResults.Ok(new AudienceChoicesResponse(
            segments,
            [.. Stages.Select(s => new AudienceChoice(s.Key, s.En, s.Zh, stages.GetValueOrDefault(s.Key)))],
            [.. TierLabels.Select(s => new AudienceChoice(s.Key, s.En, s.Zh, tiers.GetValueOrDefault(s.Key)))],
            tags, categories));
    }
}
