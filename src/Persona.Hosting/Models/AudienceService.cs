using System.Globalization;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Audiences;

namespace Persona.Hosting;

/// <summary>A stored audience: its rule, when it was made, the published count and the member ids.</summary>
public sealed record AudienceRecord
{
    public required string Id { get; init; }
    public required AudienceRule Rule { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required PublishedCount Published { get; init; }
    public required IReadOnlyList<string> Members { get; init; }
}

/// <summary>One exported member: the user id and a few fields marketing tools use.</summary>
public sealed record AudienceMemberRow(string UserId, string? SegmentId, string? Segment, string Lifecycle, double? PurchasePropensity, double? ChurnRisk);

/// <summary>Export formats of <see cref="AudienceService.ExportAsync"/>.</summary>
public static class AudienceFormats
{
    public const string Csv = "csv";
    public const string JsonLines = "jsonl";
}

/// <summary>
/// Evaluates audience rules over the live (enriched) profiles, publishes k-suppressed (optionally noised)
/// counts and keeps each audience's rule and members as a store document (kind <c>audience</c>).
/// Users whose marketing consent is withdrawn, or who have no profile because personalisation consent is
/// off, are never members.
/// </summary>
public sealed class AudienceService(PersonaEngine engine, Microsoft.Extensions.Options.IOptions<PersonaModelOptions> options, TimeProvider time)
    : IUserDataOwner
{
    public const string DocumentKind = "audience";

    /// <summary>Creates and stores an audience; the rule must be valid (<see cref="AudienceRule.Validate"/>).</summary>
    public async Task<AudienceRecord> CreateAsync(AudienceRule rule, CancellationToken cancellationToken, Random? noise = null)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var errors = rule.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors.Select(e => $"{e.Field}: {e.Message}")), nameof(rule));
        var members = AudienceBuilder.Members(rule, Candidates());
        var published = AudienceBuilder.Publish(members.Count, rule.MinCount ?? options.Value.AudienceMinCount, rule.Epsilon, noise);
        var record = new AudienceRecord
        {
            Id = "aud-" + Guid.NewGuid().ToString("n")[..16],
            Rule = rule,
            CreatedAt = time.GetUtcNow(),
            Published = published,
            Members = members,
        };
        await engine.Store.PutDocumentAsync(DocumentKind, record.Id, JsonSerializer.Serialize(record, PersonaJson.Options), cancellationToken);
        return record;
    }

    public async Task<AudienceRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var json = await engine.Store.GetDocumentAsync(DocumentKind, id, cancellationToken);
        return json is null ? null : JsonSerializer.Deserialize<AudienceRecord>(json, PersonaJson.Options);
    }

    /// <summary>
    /// Writes the members as CSV (header <c>user_id,segment_id,segment,lifecycle,purchase_propensity,churn_risk</c>)
    /// or JSON lines. Consent is checked again at export time, so a user who withdrew after the audience was
    /// made is left out. Returns the number of rows written.
    /// </summary>
    public async Task<int> ExportAsync(AudienceRecord audience, string format, TextWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audience);
        ArgumentNullException.ThrowIfNull(writer);
        if (format is not (AudienceFormats.Csv or AudienceFormats.JsonLines)) throw new ArgumentException($"Unknown format '{format}'.", nameof(format));
        if (format == AudienceFormats.Csv) await writer.WriteLineAsync("user_id,segment_id,segment,lifecycle,purchase_propensity,churn_risk".AsMemory(), cancellationToken);
        var rows = 0;
        foreach (var userId in audience.Members)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!engine.MarketingAllowed(userId)) continue;
            var read = engine.GetProfile(userId);
            if (read.Status != ProfileStatus.Found) continue;
            var p = read.Profile!;
            var row = new AudienceMemberRow(userId, p.Segment?.SegmentId, p.Segment?.LabelEn, p.Traits.Lifecycle, p.Predictions?.PurchasePropensity, p.Predictions?.ChurnRisk);
            var line = format == AudienceFormats.Csv ? Csv(row) : JsonSerializer.Serialize(row, PersonaJson.Options);
            await writer.WriteLineAsync(line.AsMemory(), cancellationToken);
            rows++;
        }
        await writer.FlushAsync(cancellationToken);
        return rows;
    }

    /// <summary>
    /// Stored audiences that list the user, rewritten without them and with their count published again from the
    /// remaining members (same k; with ε, fresh noise), so <c>GET /v1/audiences/{id}</c> no longer counts the user.
    /// </summary>
    public async Task<IReadOnlyList<DocumentUpdate>> PrepareEraseAsync(string userId, CancellationToken cancellationToken)
    {
        var updates = new List<DocumentUpdate>();
        foreach (var key in await engine.Store.ListDocumentKeysAsync(DocumentKind, cancellationToken))
        {
            if (await GetAsync(key, cancellationToken) is not { } audience || !audience.Members.Contains(userId)) continue;
            var members = audience.Members.Where(m => m != userId).ToList();
            var without = audience with
            {
                Members = members,
                Published = AudienceBuilder.Publish(members.Count, audience.Published.MinCount, audience.Published.Epsilon),
            };
            updates.Add(new DocumentUpdate(DocumentKind, key, JsonSerializer.Serialize(without, PersonaJson.Options)));
        }
        if (updates.Count > 0) _pendingErasures[userId] = updates.Count;
        return updates;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _pendingErasures = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string? Erase(string userId) =>
        _pendingErasures.TryRemove(userId, out var audiences) ? $"member of {audiences} stored audience(s), removed" : null;

    private IEnumerable<AudienceCandidate> Candidates()
    {
        foreach (var userId in engine.ProfileUsers)
        {
            var allowed = engine.MarketingAllowed(userId);
            // No profile is even built for users without marketing consent: they cannot match.
            var read = allowed ? engine.GetProfile(userId) : null;
            yield return new AudienceCandidate(userId, read?.Status == ProfileStatus.Found ? read.Profile : null, allowed);
        }
    }

    private static string Csv(AudienceMemberRow r) => string.Join(',',
        Quote(r.UserId), Quote(r.SegmentId), Quote(r.Segment), Quote(r.Lifecycle),
        r.PurchasePropensity?.ToString("0.####", CultureInfo.InvariantCulture) ?? "",
        r.ChurnRisk?.ToString("0.####", CultureInfo.InvariantCulture) ?? "");

    private static string Quote(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        // Spreadsheet formula injection: a leading = + - @ is neutralised with a quote.
        if (value[0] is '=' or '+' or '-' or '@') value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
