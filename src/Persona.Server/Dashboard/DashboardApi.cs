using Persona.Core.Ingestion;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Server.Apis;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Dashboard;

/// <summary>One page of user ids matching a search, in ordinal order.</summary>
public sealed record UserListResponse(int Total, IReadOnlyList<string> Users);

/// <summary>A user's events, newest first, each with the item it concerns (when it is in the catalog).</summary>
public sealed record UserEventsResponse(string UserId, int Total, IReadOnlyList<EventView> Events);

public sealed record EventView(StoredEvent Event, ItemSummary? Item);

/// <summary>What a timeline needs to name an item in both languages.</summary>
public sealed record ItemSummary(string Id, string Title, string? TitleZh, IReadOnlyList<string> CategoryPath, string? CategoryPathZh, string? Brand, double? Price, string Currency);

/// <summary>The overview page: store counts, the live ingest rate, the current model versions and the shopper states in memory.</summary>
/// <param name="Stats">Store counts and the data clock.</param>
/// <param name="EventsLastMinute">Events stored in the last 60 s.</param>
/// <param name="EventsPerSecond">Events stored in each of the last 60 seconds, oldest first.</param>
/// <param name="Models">Prediction and segment model versions and the last refresh.</param>
/// <param name="ShopperStates">Shoppers' profile states in memory against <c>Persona:State:MemoryBudgetMiB</c>, with cold loads and evictions.</param>
public sealed record OverviewResponse(PersonaStats Stats, long EventsLastMinute, IReadOnlyList<long> EventsPerSecond, ModelVersions Models, ShopperStateMemory ShopperStates);

public sealed record ModelVersions(
    string? PredictionModel, string? SegmentModel, int? Segments, DateTimeOffset? SegmentsComputedAt, RefreshSummary? LastRefresh);

/// <summary>A stored report document (evaluation, training, model summary), parsed; too large ones are listed without a body.</summary>
public sealed record StoredReport(string Kind, string Key, int Chars, JsonElement? Report, string? Omitted);

public sealed record ReportsResponse(IReadOnlyList<StoredReport> Reports);

/// <summary>
/// Serves the dashboard at <c>/</c> (assets under <c>/dashboard/</c>) and the few read endpoints its pages need
/// beyond the resource APIs. Everything the pages show comes from these and the public API, so it can be fetched
/// with curl too.
/// </summary>
public static class DashboardApi
{
    public const int DefaultEventLimit = 50;
    public const int MaxEventLimit = 500;
    public const int MaxEvidenceIds = 100;
    public const int DefaultUserLimit = 20;
    public const int MaxUserLimit = 200;
    /// <summary>Report documents larger than this are listed without their body (model outputs, not reports).</summary>
    public const int MaxReportChars = 512 * 1024;

    /// <summary>Document kinds the Models page reads; <c>models</c> also holds predictions and segment outputs, which are skipped.</summary>
    public static readonly IReadOnlyList<string> ReportKinds = ["evaluation", "training", "models"];

    // Pages are same-origin modules; inline styles are allowed because ECharts positions its tooltips with them.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var assets = DashboardAssets.Load();
        var meter = new IngestRateMeter(app.ServiceProvider.GetRequiredService<TimeProvider>());
        app.ServiceProvider.GetRequiredService<PersonaEngine>().AddObserver(meter);
        var ledger = new ShopLedger(app.ServiceProvider.GetRequiredService<PersonaEngine>());
        app.ServiceProvider.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(ledger.Dispose);
        app.MapShopFigures(ledger);

        app.MapGet("/", (HttpContext context) => Asset(context, assets, "index.html"))
            .WithTags("Dashboard").WithName("Dashboard").WithSummary("The web dashboard.").ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/dashboard/{**path}", (string path, HttpContext context) => Asset(context, assets, path))
            .WithTags("Dashboard").WithName("DashboardAsset").ExcludeFromDescription().AllowAnonymous();

        app.MapGet("/v1/users", ListUsers)
            .WithTags("Users").WithName("ListUsers")
            .WithSummary("User ids containing q (case-insensitive), in ordinal order, at most limit (default 20, at most 200); optionally only those in a segment (segment=ID), a lifecycle stage (lifecycle=new|active|at_risk|churned), a purchasing-power tier (tier=low|mid|high) or with a tag (tag=KEY), all given ones together. With pseudonymised ids the list shows pseudonyms, and a raw id in q finds its own.")
            .RequireScope(PersonaScopes.Read);
        app.MapGet("/v1/users/{id}/events", GetUserEventsAsync)
            .WithTags("Users").WithName("GetUserEvents")
            .WithSummary("The user's events, newest first (limit, default 50, at most 500), or the ones named by ids (comma-separated, e.g. a tag's evidence), each with its item.")
            .RequireScope(PersonaScopes.Read);

        var admin = app.MapGroup("/v1/admin").WithTags("Admin").RequireScope(PersonaScopes.Admin);
        admin.MapGet("/overview", (PersonaEngine engine, PersonaModels models, CancellationToken cancellationToken) => GetOverviewAsync(engine, models, meter, cancellationToken))
            .WithName("GetOverview")
            .WithSummary("Store counts, events stored per second over the last minute, and the current model versions.");
        admin.MapGet("/reports", GetReportsAsync)
            .WithName("GetReports")
            .WithSummary("Stored evaluation and training reports and the last model refresh summary.");
        return app;
    }

    private static IResult Asset(HttpContext context, DashboardAssets assets, string path)
    {
        if (!assets.TryGet(path, out var asset))
            return ApiResults.NotFound("Not found.", $"The dashboard has no file '{EventBatchReader.Truncate(path)}'.");
        var headers = context.Response.Headers;
        // Revalidate every time: the ETag makes that a 304, and a new build is seen at once.
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (path.EndsWith(".html", StringComparison.Ordinal)) headers.ContentSecurityPolicy = ContentSecurityPolicy;
        return TypedResults.Bytes(asset.Bytes, asset.ContentType, entityTag: asset.ETag);
    }

    public static Results<Ok<UserListResponse>, ValidationProblem> ListUsers(
        string? q, string? limit, string? segment, string? lifecycle, string? tier, string? tag, PersonaEngine engine, PersonaModels models)
    {
        var errors = new List<Core.Ingestion.FieldError>();
        var take = DefaultUserLimit;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxUserLimit))
            errors.Add(new(null, "limit", $"Must be a whole number from 1 to {MaxUserLimit}."));
        if (lifecycle is not null && !LifecycleFilter.Contains(lifecycle))
            errors.Add(new(null, "lifecycle", $"Unknown lifecycle stage '{EventBatchReader.Truncate(lifecycle)}'; expected one of {string.Join(", ", LifecycleFilter)}."));
        if (tier is not null && !TierFilter.Contains(tier))
            errors.Add(new(null, "tier", $"Unknown purchasing-power tier '{EventBatchReader.Truncate(tier)}'; expected one of {string.Join(", ", TierFilter)}."));
        if (tag is not null && string.IsNullOrWhiteSpace(tag))
            errors.Add(new(null, "tag", "Must not be empty."));
        if (segment is not null)
        {
            if (models.Segments is not { } model)
                errors.Add(new(null, "segment", "No segments are computed yet."));
            else if (!model.Segments.Any(s => s.Id == segment))
                errors.Add(new(null, "segment", $"Unknown segment '{EventBatchReader.Truncate(segment)}'; expected one of {string.Join(", ", model.Segments.Select(s => s.Id))}."));
        }
        if (errors.Count > 0) return ApiResults.QueryProblem(errors);

        var query = q?.Trim() ?? "";
        // Stored ids are pseudonyms when pseudonymisation is on: an exact raw id is matched through its pseudonym.
        var exact = query.Length > 0 && engine.UserIds.Enabled ? engine.UserIds.ToStored(query) : null;
        var members = segment is null ? null : models.Segments!.Members;
        var byProfile = lifecycle is not null || tier is not null || tag is not null;
        var matches = engine.ProfileUsers
            .Where(u => query.Length == 0 || u.Contains(query, StringComparison.OrdinalIgnoreCase) || u == exact)
            .Where(u => members is null || (members.TryGetValue(u, out var m) && m.SegmentId == segment))
            .Where(u => !byProfile || MatchesProfile(engine.GetProfile(u, enrich: false), lifecycle, tier, tag))
            .ToList();
        var page = matches.Order(StringComparer.Ordinal).Take(take).ToList();
        return TypedResults.Ok(new UserListResponse(matches.Count, page));
    }

    private static readonly string[] LifecycleFilter = [LifecycleStages.New, LifecycleStages.Active, LifecycleStages.AtRisk, LifecycleStages.Churned];
    private static readonly string[] TierFilter = [Tiers.Low, Tiers.Mid, Tiers.High];

    // Filters read the same live profile GET /v1/users/{id}/profile serves; a withdrawn consent has no profile to match.
    private static bool MatchesProfile(ProfileRead read, string? lifecycle, string? tier, string? tag) =>
        read is { Status: ProfileStatus.Found, Profile: { } p }
        && (lifecycle is null || p.Traits.Lifecycle == lifecycle)
        && (tier is null || p.Traits.PurchasingPowerTier == tier)
        && (tag is null || p.Tags.Any(t => t.Key == tag));

    public static async Task<Results<Ok<UserEventsResponse>, ValidationProblem, ProblemHttpResult>> GetUserEventsAsync(
        string id, int? limit, string? ids, PersonaEngine engine, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxEventLimit)
            return ApiResults.QueryProblem([new Persona.Core.Ingestion.FieldError(null, "limit", $"Must be between 1 and {MaxEventLimit}.")]);
        var stored = engine.UserIds.ToStored(id);
        var user = await engine.GetUserAsync(stored, cancellationToken);
        if (user is { Consent.Personalization: false })
            return ApiResults.NotFound("No events shown.", "The user has withdrawn consent to personalisation, so their behaviour is not profiled or shown.");
        var events = await engine.Store.GetUserEventsAsync(stored, cancellationToken);
        if (events.Count == 0 && user is null)
            return ApiResults.NotFound("User not found.", $"No events or attributes are known for the user '{EventBatchReader.Truncate(id)}'.");

        IEnumerable<StoredEvent> chosen;
        if (!string.IsNullOrWhiteSpace(ids))
        {
            var wanted = ids.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Take(MaxEvidenceIds).ToHashSet(StringComparer.Ordinal);
            chosen = events.Where(e => wanted.Contains(e.Id));
        }
        else
        {
            chosen = events;
        }
        var page = chosen
            .OrderByDescending(e => e.Timestamp).ThenByDescending(e => e.Sequence)
            .Take(limit ?? DefaultEventLimit)
            .ToList();

        var items = new Dictionary<string, ItemSummary?>(StringComparer.Ordinal);
        foreach (var itemId in page.Select(e => e.ItemId).OfType<string>().Distinct(StringComparer.Ordinal))
            items[itemId] = await engine.GetItemAsync(itemId, cancellationToken) is { } item ? Summary(item) : null;
        // The caller named the user; the events name them the same way.
        var views = page.Select(e => new EventView(stored == id ? e : e with { UserId = id }, e.ItemId is { } itemId ? items[itemId] : null)).ToList();
        return TypedResults.Ok(new UserEventsResponse(id, events.Count, views));
    }

    private static ItemSummary Summary(Item item) => new(
        item.Id, item.Title, item.Attributes.GetValueOrDefault("title_zh"), item.CategoryPath,
        item.Attributes.GetValueOrDefault("category_path_zh"), item.Brand, item.Price, item.Currency);

    /// <summary>An admin read: once API scopes exist it requires the admin scope.</summary>
    public static async Task<Ok<OverviewResponse>> GetOverviewAsync(PersonaEngine engine, PersonaModels models, IngestRateMeter meter, CancellationToken cancellationToken)
    {
        var stats = await engine.GetStatsAsync(cancellationToken);
        var perSecond = meter.PerSecond();
        var segments = models.Segments;
        var refresh = models.LastRefresh;
        var versions = new ModelVersions(refresh?.PredictionModel, segments?.Version ?? refresh?.SegmentModel, segments?.K, segments?.ComputedAt, refresh);
        return TypedResults.Ok(new OverviewResponse(stats, perSecond.Sum(), perSecond, versions, engine.StateMemory));
    }

    /// <summary>An admin read: once API scopes exist it requires the admin scope.</summary>
    public static async Task<Ok<ReportsResponse>> GetReportsAsync(PersonaEngine engine, CancellationToken cancellationToken)
    {
        var reports = new List<StoredReport>();
        foreach (var kind in ReportKinds)
        {
            var keys = await engine.Store.ListDocumentKeysAsync(kind, cancellationToken);
            foreach (var key in keys.Order(StringComparer.Ordinal))
            {
                if (kind == PersonaModels.DocumentKind && key is "predictions" or "segments" or "results") continue;
                if (await engine.Store.GetDocumentAsync(kind, key, cancellationToken) is not { } json) continue;
                if (json.Length > MaxReportChars)
                {
                    reports.Add(new StoredReport(kind, key, json.Length, null, $"Larger than {MaxReportChars / 1024} KiB; not a report."));
                    continue;
                }
                try
                {
                    using var document = JsonDocument.Parse(json);
                    reports.Add(new StoredReport(kind, key, json.Length, document.RootElement.Clone(), null));
                }
                catch (JsonException)
                {
                    reports.Add(new StoredReport(kind, key, json.Length, null, "Not valid JSON."));
                }
            }
        }
        return TypedResults.Ok(new ReportsResponse(reports));
    }
}
