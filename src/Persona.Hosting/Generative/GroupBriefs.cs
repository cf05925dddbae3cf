using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Persona.Abstractions;
using Persona.Generative;
using Persona.Generative.Briefs;
using Persona.Generative.Summaries;

namespace Persona.Hosting.Generative;

/// <summary>The kinds of group a brief is written for.</summary>
public static class BriefKinds
{
    public const string Segment = "segment";
    public const string Audience = "audience";
}

/// <summary>
/// A segment's or audience's name and one-line brief as served: <c>Source</c> is <c>admin</c> (written by hand; it stands
/// until cleared), <c>model</c> (the chat model's, checked, for the group's present dominant tags) or <c>template</c>.
/// </summary>
public sealed record GroupBrief(
    string Kind, string Id, string NameEn, string NameZh, string BriefEn, string BriefZh, string Source, string? Model, int Version,
    IReadOnlyList<string> Claims, IReadOnlyList<FactTag> DominantTags, DateTimeOffset? WrittenAt, string? WrittenBy, bool Pending);

/// <summary>A stored brief (document <see cref="GroupBriefs.DocumentKind"/>, keyed <c>kind:id</c>); <c>Rejection</c> says why the model's last answer was refused.</summary>
public sealed record StoredBrief(
    string Signature, string? NameEn, string? NameZh, string? BriefEn, string? BriefZh, IReadOnlyList<string> Claims, string Source,
    string? Model, int Version, DateTimeOffset WrittenAt, string? WrittenBy, string? Rejection);

/// <summary>
/// Names and briefs of segments and audiences (docs/generative.md, step 4), from their dominant tags: the share of members
/// (at most <see cref="SampleMembers"/> read, shoppers without personalisation consent never) holding each tag. Groups
/// under the audiences' k (<see cref="PersonaModelOptions.AudienceMinCount"/>) get no shares at all. A read answers at
/// once (admin's, stored model's, or the template) and queues the group for the model when one is configured.
/// </summary>
public sealed partial class GroupBriefs : BackgroundService
{
    public const string DocumentKind = "brief";
    public const int SampleMembers = 2_000;
    private const int QueueCapacity = 256;

    private readonly PersonaModels _models;
    private readonly AudienceService _audiences;
    private readonly GenerativeEndpoint _endpoint;
    private readonly TimeProvider _time;
    private readonly ILogger<GroupBriefs> _logger;
    private readonly Channel<(string Kind, string Id)> _queue = Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BriefFacts> _facts = new(StringComparer.Ordinal);
    private long _generated, _rejected, _failed;

    public GroupBriefs(PersonaModels models, AudienceService audiences, GenerativeEndpoint endpoint, TimeProvider time, ILogger<GroupBriefs> logger)
    {
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _audiences = audiences ?? throw new ArgumentNullException(nameof(audiences));
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    public bool ModelEnabled => _endpoint.Client is not null && _endpoint.Options.Briefs;

    /// <summary>Model briefs stored, refused and failed since start.</summary>
    public (long Generated, long Rejected, long Failed) Figures => (Interlocked.Read(ref _generated), Interlocked.Read(ref _rejected), Interlocked.Read(ref _failed));

    private PersonaEngine Engine => _models.Engine;

    /// <summary>The brief of the group; null when there is no such segment (in the current segmentation) or audience.</summary>
    public async Task<GroupBrief?> GetAsync(string kind, string id, CancellationToken cancellationToken)
    {
        if (await FactsAsync(kind, id, cancellationToken) is not { } facts) return null;
        var stored = await StoredAsync(kind, id, cancellationToken);
        if (stored is { Source: "admin" } || (stored is { Source: "model", BriefEn: not null } && stored.Signature == facts.Signature))
            return Served(kind, id, stored, facts);
        var template = BriefTemplate.Write(facts);
        var pending = stored?.Signature != facts.Signature && facts.Tags.Count > 0 && Enqueue(kind, id);
        return new GroupBrief(kind, id, template.NameEn, template.NameZh, template.BriefEn, template.BriefZh, "template", null, 0, template.Claims, facts.Tags, null, null, pending);
    }

    private static GroupBrief Served(string kind, string id, StoredBrief s, BriefFacts facts) =>
        new(kind, id, s.NameEn!, s.NameZh!, s.BriefEn!, s.BriefZh!, s.Source, s.Model, s.Version, s.Claims, facts.Tags, s.WrittenAt, s.WrittenBy, false);

    /// <summary>An admin's name and brief: served until cleared (<see cref="ClearAsync"/>); audited. Null when the group does not exist.</summary>
    public async Task<GroupBrief?> SetAsync(string kind, string id, BriefText text, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (await FactsAsync(kind, id, cancellationToken) is not { } facts) return null;
        var previous = await StoredAsync(kind, id, cancellationToken);
        var stored = new StoredBrief(facts.Signature, text.NameEn, text.NameZh, text.BriefEn, text.BriefZh, [], "admin", null,
            (previous?.Version ?? 0) + 1, _time.GetUtcNow(), actor, null);
        await Engine.Store.PutDocumentAsync(DocumentKind, Key(kind, id), JsonSerializer.Serialize(stored, PersonaJson.Options), cancellationToken);
        await Engine.Store.AppendAuditAsync(new AuditEntry(_time.GetUtcNow(), actor, AuditActions.EditBrief, Key(kind, id), $"{text.NameEn} / {text.NameZh}"), cancellationToken);
        return Served(kind, id, stored, facts);
    }

    /// <summary>Drops an admin's brief: the model's or the template answers again. Null when the group does not exist.</summary>
    public async Task<GroupBrief?> ClearAsync(string kind, string id, string actor, CancellationToken cancellationToken)
    {
        if (await FactsAsync(kind, id, cancellationToken) is null) return null;
        if (await StoredAsync(kind, id, cancellationToken) is { Source: "admin" } held)
        {
            var cleared = held with { Source = "cleared", Signature = "", NameEn = null, NameZh = null, BriefEn = null, BriefZh = null, WrittenAt = _time.GetUtcNow(), WrittenBy = actor };
            await Engine.Store.PutDocumentAsync(DocumentKind, Key(kind, id), JsonSerializer.Serialize(cleared, PersonaJson.Options), cancellationToken);
            await Engine.Store.AppendAuditAsync(new AuditEntry(_time.GetUtcNow(), actor, AuditActions.EditBrief, Key(kind, id), "cleared"), cancellationToken);
        }
        return await GetAsync(kind, id, cancellationToken);
    }

    /// <summary>Queues the group for the model; false when the model is off or the queue is full.</summary>
    public bool Enqueue(string kind, string id)
    {
        if (!ModelEnabled) return false;
        var key = Key(kind, id);
        if (!_queued.TryAdd(key, 0)) return true;
        if (_queue.Writer.TryWrite((kind, id))) return true;
        _queued.TryRemove(key, out _);
        return false;
    }

    /// <summary>Asks the model for the group's brief now unless an admin wrote it or the stored one fits its present facts.</summary>
    public async Task RefreshAsync(string kind, string id, CancellationToken cancellationToken)
    {
        if (_endpoint.Client is not { } client || !_endpoint.Options.Briefs) return;
        if (await FactsAsync(kind, id, cancellationToken) is not { Tags.Count: > 0 } facts) return;
        var group = Key(kind, id);
        var stored = await StoredAsync(kind, id, cancellationToken);
        if (stored is { Source: "admin" } || stored?.Signature == facts.Signature) return;
        GenerativeAnswer answer;
        try
        {
            (answer, _) = await client.CompleteCachedAsync(BriefPrompt.Messages(facts), BriefPrompt.Options,
                a => BriefCheck.Check(a.Text, facts, Vocabulary()).Accepted is not null, cancellationToken);
        }
        catch (GenerativeUnavailableException ex)
        {
            Interlocked.Increment(ref _failed);
            LogUnavailable(_logger, group, ex.Message);
            return;
        }
        var verdict = BriefCheck.Check(answer.Text, facts, Vocabulary());
        if (verdict.Rejection is { } why)
        {
            Interlocked.Increment(ref _rejected);
            LogRejected(_logger, group, why);
        }
        else Interlocked.Increment(ref _generated);
        var text = verdict.Accepted;
        var next = new StoredBrief(facts.Signature, text?.NameEn, text?.NameZh, text?.BriefEn, text?.BriefZh, text?.Claims ?? [], text is null ? "refused" : "model",
            answer.Model ?? client.Options.Model, (stored?.Version ?? 0) + (text is null ? 0 : 1), _time.GetUtcNow(), null, verdict.Rejection);
        // An admin may have written one meanwhile: theirs stands.
        if (await StoredAsync(kind, id, cancellationToken) is { Source: "admin" }) return;
        await Engine.Store.PutDocumentAsync(DocumentKind, group, JsonSerializer.Serialize(next, PersonaJson.Options), cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!ModelEnabled) return;
        try
        {
            await foreach (var (kind, id) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await RefreshAsync(kind, id, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _failed);
                    LogFailed(_logger, ex);
                }
                finally
                {
                    _queued.TryRemove(Key(kind, id), out _);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static string Key(string kind, string id) => $"{kind}:{id}";

    private async Task<StoredBrief?> StoredAsync(string kind, string id, CancellationToken cancellationToken) =>
        await Engine.Store.GetDocumentAsync(DocumentKind, Key(kind, id), cancellationToken) is { } json
            ? JsonSerializer.Deserialize<StoredBrief>(json, PersonaJson.Options)
            : null;

    /// <summary>The group's facts, computed once per segmentation (segments) or per audience (whose members are fixed).</summary>
    private async Task<BriefFacts?> FactsAsync(string kind, string id, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case BriefKinds.Segment:
            {
                if (_models.Segments is not { } model || model.Segments.FirstOrDefault(s => s.Id == id) is not { } segment) return null;
                // A new segmentation: the facts of the earlier ones are never read again.
                var prefix = $"{kind}:{model.Version}:";
                foreach (var key in _facts.Keys)
                    if (key.StartsWith(kind + ":", StringComparison.Ordinal) && !key.StartsWith(prefix, StringComparison.Ordinal)) _facts.TryRemove(key, out _);
                return _facts.GetOrAdd($"{kind}:{model.Version}:{id}", _ =>
                    Facts(kind, segment.LabelEn, segment.LabelZh, model.Members.Where(m => m.Value.SegmentId == id).Select(m => m.Key)));
            }
            case BriefKinds.Audience:
            {
                if (_facts.TryGetValue($"{kind}:{id}", out var held)) return held;
                if (await _audiences.GetAsync(id, cancellationToken) is not { } audience) return null;
                return _facts.GetOrAdd($"{kind}:{id}", _ => Facts(kind, audience.Rule.Name, audience.Rule.Name, audience.Members));
            }
            default:
                throw new ArgumentException($"Unknown kind of group '{kind}'.", nameof(kind));
        }
    }

    private BriefFacts Facts(string kind, string? nameEn, string? nameZh, IEnumerable<string> members)
    {
        var all = members.ToList();
        var step = Math.Max(1, all.Count / SampleMembers);
        var tags = new Dictionary<string, (FactTag Tag, int Members)>(StringComparer.Ordinal);
        var categories = new Dictionary<string, (FactLabel Label, int Members)>(StringComparer.Ordinal);
        var read = 0;
        for (var i = 0; i < all.Count; i += step)
        {
            if (Engine.GetProfile(all[i], enrich: false) is not { Status: ProfileStatus.Found, Profile: { } profile }) continue;
            read++;
            foreach (var tag in profile.Tags)
            {
                var (fact, n) = tags.TryGetValue(tag.Key, out var held) ? held : (new FactTag(tag.Key, tag.Kind, tag.LabelEn, tag.LabelZh, 0), 0);
                tags[tag.Key] = (fact, n + 1);
            }
            if (profile.Affinities.Categories.Where(a => a.Level >= 2).OrderByDescending(a => a.Score).FirstOrDefault() is { } top)
            {
                var (label, n) = categories.TryGetValue(top.Key, out var held) ? held : (new FactLabel(top.LabelEn, top.LabelZh, 0), 0);
                categories[top.Key] = (label, n + 1);
            }
        }
        // Below k members a share is too near a single shopper's data to show or send.
        if (read < _models.Options.AudienceMinCount) return new BriefFacts(kind, nameEn, nameZh, [], []);
        var dominantCategories = categories.Values
            .Select(c => c.Label with { Share = Math.Round((double)c.Members / read, 2) })
            .Where(c => c.Share >= BriefFacts.MinShare)
            .OrderByDescending(c => c.Share)
            .Take(BriefFacts.MaxCategories)
            .ToList();
        return new BriefFacts(kind, nameEn, nameZh, BriefFacts.Dominant(tags.Values, read), dominantCategories);
    }

    private SummaryVocabulary Vocabulary() => CatalogVocabulary.Of(Engine.Catalog);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Brief of {Group}: the chat endpoint did not answer ({Reason}); the template answers")]
    private static partial void LogUnavailable(ILogger logger, string group, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Brief of {Group} refused ({Reason}); the template answers")]
    private static partial void LogRejected(ILogger logger, string group, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Brief failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
