using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using Persona.Generative;
using Persona.Generative.Summaries;

namespace Persona.Hosting.Generative;

/// <summary>
/// A shopper's stored summary (document <see cref="ProfileSummaries.DocumentKind"/>, keyed by the stored id): the tag set
/// it was written for (<see cref="SummaryFacts.Signature"/>), and either the model's text or, in <c>Rejection</c>, why the
/// model's answer for that tag set was refused (the template answers then, and the model is not asked again until the
/// tags change).
/// </summary>
public sealed record StoredSummary(
    string Signature, int Version, string? En, string? Zh, IReadOnlyList<string> Claims, string? Model, DateTimeOffset GeneratedAt,
    double ElapsedMs, string? Rejection);

/// <summary>What the summaries have done since start (<c>GET /v1/admin/generative</c>, the bench).</summary>
public sealed record SummaryFigures(
    bool ModelEnabled, int Queued, long Generated, long Rejected, long Failed, long Unchanged, double MeanModelMs, string? LastRejection, string? LastError);

/// <summary>
/// Profile summaries (docs/generative.md, step 2). A read answers at once: the stored model summary when it was written for
/// the profile's present tag set, else the template, and then the shopper is queued. In the background, shoppers whose
/// events arrive or who were read are summarised by the chat model, at most <see cref="GenerativeOptions.MaxConcurrency"/>
/// at a time; an answer is stored only when <see cref="ProfileSummaryCheck"/> accepts it. Without an endpoint (the
/// default) nothing is queued and every summary is the template.
/// </summary>
public sealed partial class ProfileSummaries : BackgroundService, IEngineObserver, IUserDataOwner
{
    public const string DocumentKind = "profile-summary";

    /// <summary>Shoppers' stored summaries kept in memory at most; beyond it they are read from the store again.</summary>
    public const int MemoryEntries = 100_000;

    /// <summary>Recent steps searched for the items behind the tags, whose titles the prompt carries.</summary>
    private const int StepsForTitles = 50;

    private readonly PersonaEngine _engine;
    private readonly GenerativeEndpoint _endpoint;
    private readonly TimeProvider _time;
    private readonly ILogger<ProfileSummaries> _logger;
    private readonly Channel<string> _queue;
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StoredSummary?> _memory = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _erasedAt = new(StringComparer.Ordinal);
    private long _generated, _rejected, _failed, _unchanged, _modelTicks;
    private volatile string? _lastRejection, _lastError;

    public ProfileSummaries(PersonaEngine engine, GenerativeEndpoint endpoint, TimeProvider time, ILogger<ProfileSummaries> logger)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(endpoint.Options.SummaryQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite, SingleWriter = false,
        });
        // Stored summaries of an earlier configuration are erased with the shopper even when the model is off now.
        engine.AddUserDataOwner(this);
        if (ModelEnabled) engine.AddObserver(this);
    }

    /// <summary>Whether summaries come from the chat model (an endpoint is configured and <see cref="GenerativeOptions.Summaries"/> is on).</summary>
    public bool ModelEnabled => _endpoint.Client is not null && _endpoint.Options.Summaries;

    public SummaryFigures Figures
    {
        get
        {
            var generated = Interlocked.Read(ref _generated);
            var asked = generated + Interlocked.Read(ref _rejected);
            return new SummaryFigures(ModelEnabled, _queued.Count, generated, Interlocked.Read(ref _rejected), Interlocked.Read(ref _failed),
                Interlocked.Read(ref _unchanged), asked == 0 ? 0 : Math.Round(TimeSpan.FromTicks(Interlocked.Read(ref _modelTicks) / asked).TotalMilliseconds, 1),
                _lastRejection, _lastError);
        }
    }

    /// <summary>
    /// The summary to show with <paramref name="profile"/> (read for the stored id <paramref name="userId"/>): the model's
    /// when one was stored for its present tags, else the template (queued for the model when one is configured).
    /// </summary>
    public async ValueTask<ProfileSummary> DescribeAsync(string userId, Profile profile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var facts = SummaryFacts.From(profile, []);
        if (!ModelEnabled || profile.Tags.Count == 0) return Template(facts, pending: false);
        var stored = await StoredAsync(userId, cancellationToken);
        if (stored is not null && stored.Signature == facts.Signature)
        {
            return stored.En is { } en && stored.Zh is { } zh
                ? new ProfileSummary { En = en, Zh = zh, Source = "model", Model = stored.Model, Version = stored.Version, Claims = stored.Claims, GeneratedAt = stored.GeneratedAt }
                : Template(facts, pending: false);
        }
        return Template(facts, pending: Enqueue(userId));
    }

    private static ProfileSummary Template(SummaryFacts facts, bool pending)
    {
        var text = ProfileSummaryTemplate.Write(facts);
        return new ProfileSummary { En = text.En, Zh = text.Zh, Source = "template", Claims = text.Claims, Pending = pending };
    }

    /// <summary>
    /// Queues the shopper for the model (true also when they are queued or being summarised already); false when the
    /// model is off or the queue is full (the next read or change asks again).
    /// </summary>
    public bool Enqueue(string userId)
    {
        if (!ModelEnabled) return false;
        if (!_queued.TryAdd(userId, 0)) return true;
        if (_queue.Writer.TryWrite(userId)) return true;
        _queued.TryRemove(userId, out _);
        return false;
    }

    /// <summary>Summarises one shopper now if their tags changed since their stored summary; what is stored afterwards (null: nothing).</summary>
    public async Task<StoredSummary?> RefreshAsync(string userId, CancellationToken cancellationToken)
    {
        if (_endpoint.Client is not { } client || !_endpoint.Options.Summaries) return null;
        if (!_engine.PersonalizationAllowed(userId)) return null;
        var started = _time.GetTimestamp();
        var (read, steps, _) = _engine.GetProfileWithSteps(userId, enrich: false, StepsForTitles, withSeen: false);
        if (read.Status != ProfileStatus.Found || read.Profile!.Tags.Count == 0) return null;
        var profile = read.Profile;
        var stored = await StoredAsync(userId, cancellationToken);
        var signature = SummaryFacts.From(profile, []).Signature;
        if (stored?.Signature == signature)
        {
            Interlocked.Increment(ref _unchanged);
            return stored;
        }
        var facts = SummaryFacts.From(profile, await TitlesAsync(profile, steps, cancellationToken));
        GenerativeAnswer answer;
        try
        {
            answer = await client.CompleteAsync(ProfileSummaryPrompt.Messages(facts), ProfileSummaryPrompt.Options, cancellationToken);
        }
        catch (GenerativeUnavailableException ex)
        {
            Interlocked.Increment(ref _failed);
            _lastError = ex.Message;
            LogUnavailable(_logger, ex.Message);
            return null;
        }
        Interlocked.Add(ref _modelTicks, answer.Elapsed.Ticks);
        var verdict = ProfileSummaryCheck.Check(answer.Text, facts, Vocabulary());
        if (verdict.Rejection is { } why)
        {
            Interlocked.Increment(ref _rejected);
            _lastRejection = why;
            LogRejected(_logger, why);
        }
        else Interlocked.Increment(ref _generated);
        var summary = new StoredSummary(
            signature, (stored?.Version ?? 0) + (verdict.Accepted is null ? 0 : 1), verdict.Accepted?.En, verdict.Accepted?.Zh,
            verdict.Accepted?.Claims ?? [], answer.Model ?? client.Options.Model, _time.GetUtcNow(),
            Math.Round(_time.GetElapsedTime(started).TotalMilliseconds, 1), verdict.Rejection);
        // Consent withdrawn or the shopper erased while the model wrote: store nothing.
        if (!_engine.PersonalizationAllowed(userId) || ErasedSince(userId, started)) return null;
        await _engine.Store.PutDocumentAsync(DocumentKind, userId, JsonSerializer.Serialize(summary, PersonaJson.Options), cancellationToken);
        Remember(userId, summary);
        return summary;
    }

    private bool ErasedSince(string userId, long started) => _erasedAt.TryGetValue(userId, out var at) && at >= started;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!ModelEnabled) return;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _endpoint.Options.MaxConcurrency, CancellationToken = stoppingToken };
        try
        {
            await Parallel.ForEachAsync(_queue.Reader.ReadAllAsync(stoppingToken), parallel, async (userId, token) =>
            {
                try
                {
                    await RefreshAsync(userId, token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _failed);
                    _lastError = ex.Message;
                    LogFailed(_logger, ex);
                }
                finally
                {
                    // Only now: a read or event meanwhile must not start a second call for the same shopper. A change
                    // that lands during the call is summarised on the shopper's next read or event.
                    _queued.TryRemove(userId, out _);
                }
            });
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async ValueTask<StoredSummary?> StoredAsync(string userId, CancellationToken cancellationToken)
    {
        if (_memory.TryGetValue(userId, out var held)) return held;
        var json = await _engine.Store.GetDocumentAsync(DocumentKind, userId, cancellationToken);
        var stored = json is null ? null : JsonSerializer.Deserialize<StoredSummary>(json, PersonaJson.Options);
        Remember(userId, stored);
        return stored;
    }

    private void Remember(string userId, StoredSummary? summary)
    {
        // A crude bound: past it, start again (each entry is one store read away).
        if (_memory.Count >= MemoryEntries) _memory.Clear();
        _memory[userId] = summary;
    }

    /// <summary>Titles of the shopper's recent items in a tagged category or of the tagged brand, newest first.</summary>
    private async Task<List<string>> TitlesAsync(Profile profile, BehaviorStep[] steps, CancellationToken cancellationToken)
    {
        var categories = profile.Tags.Where(t => t.Kind == "category").Select(t => t.Key["category:".Length..]).ToHashSet(StringComparer.Ordinal);
        var brands = profile.Tags.Where(t => t.Kind == "brand").Select(t => t.Key["brand:".Length..]).ToHashSet(StringComparer.Ordinal);
        var catalog = _engine.Catalog;
        var titles = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = steps.Length - 1; i >= 0 && titles.Count < SummaryFacts.MaxTitles; i--)
        {
            var id = steps[i].ItemId;
            if (!seen.Add(id) || !catalog.TryGetItem(id, out var item)) continue;
            if (!item.CategoryKeys.Any(categories.Contains) && !(item.Brand is { } b && brands.Contains(b))) continue;
            if (await _engine.Store.GetItemAsync(id, cancellationToken) is { Title.Length: > 0 } full) titles.Add(full.Title);
        }
        return titles;
    }

    private SummaryVocabulary Vocabulary() => CatalogVocabulary.Of(_engine.Catalog);

    void IEngineObserver.OnEventsStored(IReadOnlyList<StoredEvent> events)
    {
        string? last = null;
        foreach (var e in events)
        {
            if (e.UserId == last) continue;
            last = e.UserId;
            Enqueue(e.UserId);
        }
    }

    void IEngineObserver.OnItemsUpserted(IReadOnlyList<Item> items)
    {
    }

    void IEngineObserver.OnUsersUpserted(IReadOnlyList<User> users)
    {
        // A shopper who withdrew consent is not summarised; their stored summary is overwritten with nothing.
        foreach (var user in users.Where(u => !u.Consent.Personalization))
        {
            _memory.TryRemove(user.Id, out _);
            _ = ForgetStoredAsync(user.Id);
        }
    }

    private async Task ForgetStoredAsync(string userId)
    {
        try
        {
            if (await _engine.Store.GetDocumentAsync(DocumentKind, userId) is not null)
                await _engine.Store.PutDocumentAsync(DocumentKind, userId, JsonSerializer.Serialize(
                    new StoredSummary("", 0, null, null, [], null, _time.GetUtcNow(), 0, "consent to personalisation withdrawn"), PersonaJson.Options));
        }
        catch (Exception ex)
        {
            LogFailed(_logger, ex);
        }
    }

    async Task<IReadOnlyList<DocumentUpdate>> IUserDataOwner.PrepareEraseAsync(string userId, CancellationToken cancellationToken)
    {
        _erasedAt[userId] = _time.GetTimestamp();
        return await _engine.Store.GetDocumentAsync(DocumentKind, userId, cancellationToken) is null ? [] : [new DocumentUpdate(DocumentKind, userId, null)];
    }

    string? IUserDataOwner.Erase(string userId)
    {
        _erasedAt[userId] = _time.GetTimestamp();
        _queued.TryRemove(userId, out _);
        return _memory.TryRemove(userId, out var held) && held is not null ? "profile summary" : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Profile summary: the chat endpoint did not answer ({Reason}); the template answers")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Profile summary refused ({Reason}); the template answers")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Profile summary failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
