namespace Persona.Generative;

/// <summary>
/// The OpenAI-compatible chat endpoint (<c>Persona:Generative</c>; docs/generative.md). Off unless <see cref="BaseUrl"/>
/// is set. The key comes from <see cref="ApiKey"/> or the environment variable named by <see cref="ApiKeyEnvironment"/>
/// and is never logged or shown.
/// </summary>
public sealed class GenerativeOptions
{
    public const string SectionName = "Persona:Generative";

    /// <summary>The API's base address, e.g. <c>http://127.0.0.1:11434/v1</c> (Ollama) or <c>https://api.deepseek.com/v1</c>; unset: off.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>The model the endpoint serves, e.g. <c>qwen2.5:7b-instruct</c>.</summary>
    public string Model { get; set; } = "";

    /// <summary>The key; prefer <see cref="ApiKeyEnvironment"/> so it stays out of configuration files.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The environment variable read for the key when <see cref="ApiKey"/> is unset.</summary>
    public string ApiKeyEnvironment { get; set; } = "PERSONA_LLM_API_KEY";

    /// <summary>Longest wait for one answer.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Calls in flight at once; the rest wait (within their timeout), so a slow endpoint cannot take the server's threads.</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>
    /// Calls sent per UTC day at most (0: no limit), so a shop of a million shoppers cannot run up a bill by accident;
    /// past it every use answers from its template or parser until midnight UTC. Answers from the cache do not count.
    /// </summary>
    public int MaxCallsPerDay { get; set; }

    /// <summary>How long an answer is reused for the same prompt (0: never).</summary>
    public int CacheMinutes { get; set; } = 1440;

    /// <summary>Profile summaries from the model (off: the template writes every summary).</summary>
    public bool Summaries { get; set; } = true;

    /// <summary>Shoppers waiting for a summary at most; beyond it the oldest change waits for the shopper's next read or change.</summary>
    public int SummaryQueueCapacity { get; set; } = 10_000;

    /// <summary>Rewriting long natural-language search queries into structured intent (off: the search's own parser only).</summary>
    public bool QueryRewriting { get; set; } = true;

    /// <summary>How long a search waits for a rewrite before answering from its own parser.</summary>
    public int RewriteBudgetMilliseconds { get; set; } = 300;

    /// <summary>Queries shorter than this (in characters, spaces excluded) are not rewritten: keywords parse well enough.</summary>
    public int RewriteMinCharacters { get; set; } = 12;

    /// <summary>Names and briefs of segments and audiences from the model (off: the template writes them).</summary>
    public bool Briefs { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(BaseUrl);

    /// <summary>The key to send: the configured one, else the environment's; null when neither is set (local servers need none).</summary>
    public string? ResolveKey() =>
        !string.IsNullOrEmpty(ApiKey) ? ApiKey : Environment.GetEnvironmentVariable(ApiKeyEnvironment) is { Length: > 0 } key ? key : null;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Enabled)
        {
            if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                problems.Add($"BaseUrl must be an absolute http or https address; '{BaseUrl}' is not.");
            if (string.IsNullOrWhiteSpace(Model)) problems.Add("Model must name the model the endpoint serves when BaseUrl is set.");
        }
        if (!(TimeoutSeconds is >= 0.05 and <= 600)) problems.Add("TimeoutSeconds must be between 0.05 and 600.");
        if (MaxConcurrency is < 1 or > 256) problems.Add("MaxConcurrency must be between 1 and 256.");
        if (CacheMinutes is < 0 or > 43_200) problems.Add("CacheMinutes must be between 0 and 43200 (30 days).");
        if (string.IsNullOrWhiteSpace(ApiKeyEnvironment)) problems.Add("ApiKeyEnvironment must name an environment variable.");
        if (MaxCallsPerDay < 0) problems.Add("MaxCallsPerDay must be 0 (no limit) or positive.");
        if (SummaryQueueCapacity is < 1 or > 1_000_000) problems.Add("SummaryQueueCapacity must be between 1 and 1000000.");
        if (RewriteBudgetMilliseconds is < 10 or > 10_000) problems.Add("RewriteBudgetMilliseconds must be between 10 and 10000.");
        if (RewriteMinCharacters is < 1 or > 1_000) problems.Add("RewriteMinCharacters must be between 1 and 1000.");
        return problems;
    }
}
