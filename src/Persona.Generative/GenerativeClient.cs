using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Persona.Generative;

/// <summary>One answer from the endpoint: its text, the model that says it answered, and how long it took.</summary>
public sealed record GenerativeAnswer(string Text, string? Model, TimeSpan Elapsed);

/// <summary>The endpoint could not answer (unreachable, refused, too slow); the message never holds the key.</summary>
public sealed class GenerativeUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What <c>persona llm check</c> reports.</summary>
public sealed record GenerativeCheck(bool Ok, string Endpoint, string Model, string? AnsweredBy, double ElapsedMs, string Detail);

/// <summary>
/// The one chat client (Microsoft.Extensions.AI over the official OpenAI client, pointed at any OpenAI-compatible base
/// address), bounded by a timeout per call and a concurrency limit. Retries are off: every use has a template fallback,
/// which is better than a request waiting through retries.
/// </summary>
public sealed class GenerativeClient : IDisposable
{
    private readonly IChatClient _chat;
    private readonly SemaphoreSlim _slots;
    private readonly TimeSpan _timeout;
    private readonly AnswerCache _cache;
    private readonly TimeProvider _time;
    private readonly Lock _budget = new();
    private DateTime _budgetDay;
    private int _callsToday;

    /// <param name="options">Validated options with <see cref="GenerativeOptions.Enabled"/>.</param>
    /// <param name="http">The HTTP client to send with (tests, proxies); null: the OpenAI client's own.</param>
    /// <param name="time">The clock of the answer cache.</param>
    public GenerativeClient(GenerativeOptions options, HttpClient? http = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled) throw new InvalidOperationException("No endpoint is configured (Persona:Generative:BaseUrl).");
        if (options.Validate() is { Count: > 0 } problems) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        Options = options;
        _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        _slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        _time = time ?? TimeProvider.System;
        _cache = new AnswerCache(TimeSpan.FromMinutes(options.CacheMinutes), _time);
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(options.BaseUrl!),
            NetworkTimeout = _timeout,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        if (http is not null) clientOptions.Transport = new HttpClientPipelineTransport(http);
        // Local servers (Ollama, vLLM) take any key; the OpenAI client insists on one.
        var key = new ApiKeyCredential(options.ResolveKey() ?? "none");
        _chat = new OpenAI.Chat.ChatClient(options.Model, key, clientOptions).AsIChatClient();
    }

    public GenerativeOptions Options { get; }

    /// <summary>Calls sent since midnight UTC (counted against <see cref="GenerativeOptions.MaxCallsPerDay"/>).</summary>
    public int CallsToday
    {
        get
        {
            lock (_budget) return _budgetDay == _time.GetUtcNow().UtcDateTime.Date ? _callsToday : 0;
        }
    }

    /// <summary>Counts a call against the day's budget; throws when it is spent.</summary>
    private void SpendCall()
    {
        lock (_budget)
        {
            var today = _time.GetUtcNow().UtcDateTime.Date;
            if (_budgetDay != today)
            {
                _budgetDay = today;
                _callsToday = 0;
            }
            if (Options.MaxCallsPerDay > 0 && _callsToday >= Options.MaxCallsPerDay)
                throw new GenerativeUnavailableException($"The daily budget of {Options.MaxCallsPerDay} calls is spent; it renews at 00:00 UTC.");
            _callsToday++;
        }
    }

    /// <summary>Asks the endpoint; throws <see cref="GenerativeUnavailableException"/> when it does not answer in time or fails.</summary>
    public async Task<GenerativeAnswer> CompleteAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        SpendCall();
        var clock = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await _slots.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GenerativeUnavailableException($"No call slot within {_timeout.TotalSeconds:0.##} s ({Options.MaxConcurrency} calls in flight).");
        }
        try
        {
            var response = await _chat.GetResponseAsync(messages, chatOptions, timeout.Token);
            return new GenerativeAnswer(response.Text, response.ModelId, clock.Elapsed);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GenerativeUnavailableException($"The endpoint did not answer within {_timeout.TotalSeconds:0.##} s.", ex);
        }
        catch (ClientResultException ex) when (ex.Status == 0)
        {
            // No HTTP answer at all: the transport failed (refused, reset, name not found).
            throw new GenerativeUnavailableException($"The endpoint could not be reached: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        catch (ClientResultException ex)
        {
            throw new GenerativeUnavailableException($"The endpoint answered HTTP {ex.Status}{(ex.Status == 401 ? " (the key was refused)" : "")}.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new GenerativeUnavailableException($"The endpoint could not be reached: {ex.Message}", ex);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// <see cref="CompleteAsync"/>, but an answer to the same messages and settings within
    /// <see cref="GenerativeOptions.CacheMinutes"/> is reused. Only answers the caller accepted should stay:
    /// <paramref name="accept"/> says which (a malformed answer is asked again next time).
    /// </summary>
    public async Task<(GenerativeAnswer Answer, bool Cached)> CompleteCachedAsync(
        IReadOnlyList<ChatMessage> messages, ChatOptions? chatOptions, Func<GenerativeAnswer, bool> accept, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(accept);
        var key = AnswerCache.Key(Options.Model, messages.Select(m => m.Role.Value + ":" + m.Text)
            .Append($"{chatOptions?.Temperature}|{chatOptions?.MaxOutputTokens}|{chatOptions?.ResponseFormat is ChatResponseFormatJson}"));
        if (_cache.TryGet(key, out var held)) return (held, true);
        var answer = await CompleteAsync(messages, chatOptions, cancellationToken);
        if (accept(answer)) _cache.Put(key, answer);
        return (answer, false);
    }

    /// <summary>One short request: what answered and how fast, or why nothing did. Never throws for the endpoint's failures.</summary>
    public async Task<GenerativeCheck> CheckAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var answer = await CompleteAsync(
                [new ChatMessage(ChatRole.System, "You are a health check. Answer with the single word: ready."), new ChatMessage(ChatRole.User, "Are you ready?")],
                new ChatOptions { MaxOutputTokens = 8, Temperature = 0 }, cancellationToken);
            var words = answer.Text.Trim();
            if (words.Length > 60) words = words[..60] + "…";
            return new GenerativeCheck(true, Options.BaseUrl!, Options.Model, answer.Model, Math.Round(answer.Elapsed.TotalMilliseconds, 1), $"answered: {words}");
        }
        catch (GenerativeUnavailableException ex)
        {
            return new GenerativeCheck(false, Options.BaseUrl!, Options.Model, null, Math.Round(clock.Elapsed.TotalMilliseconds, 1), ex.Message);
        }
    }

    public void Dispose()
    {
        _slots.Dispose();
        _chat.Dispose();
    }
}
