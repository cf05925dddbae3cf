using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Persona.Server.Security;

public static class SecurityExtensions
{
    /// <summary>Longest request line (method, URL, version) the server reads; longer ones get Kestrel's 414 without a body.</summary>
    public const int MaxRequestLineBytes = 64 * 1024;

    /// <summary>Policy name of a scope, as used by <see cref="RequireScope{TBuilder}"/>.</summary>
    public static string PolicyOf(string scope) => "scope:" + scope;

    /// <summary>API keys with scopes, per-key rate limiting, body size and request time limits (<c>Persona:Security</c>).</summary>
    public static WebApplicationBuilder AddPersonaSecurity(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<PersonaSecurityOptions>()
            .Bind(builder.Configuration.GetSection(PersonaSecurityOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PersonaSecurityOptions>, PersonaSecurityOptionsValidator>();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, ScopeRequirementHandler>();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(PolicyOf(PersonaScopes.Ingest), p => p.AddRequirements(new ScopeRequirement(PersonaScopes.Ingest)))
            .AddPolicy(PolicyOf(PersonaScopes.Read), p => p.AddRequirements(new ScopeRequirement(PersonaScopes.Read)))
            .AddPolicy(PolicyOf(PersonaScopes.Admin), p => p.AddRequirements(new ScopeRequirement(PersonaScopes.Admin)));

        // The limits come from the validated options, resolved when the server starts (after validation), so a bad
        // value stops the start with the setting's name rather than being read raw from configuration here.
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<PersonaSecurityOptions>>((kestrel, security) =>
        {
            kestrel.Limits.MaxRequestBodySize = security.Value.MaxRequestBodyBytes;
            // Kestrel refuses a longer request line itself, with a bare 414 before any middleware runs; Kestrel's 8 KiB
            // default is passed by a few KiB of percent-encoded Chinese, which the endpoints answer better (q is limited to 500 characters).
            kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
        });
        builder.Services.AddRequestTimeouts();
        builder.Services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<PersonaSecurityOptions>>((timeouts, security) =>
            timeouts.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = TimeSpan.FromSeconds(security.Value.RequestTimeoutSeconds),
                TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
            });
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<PersonaSecurityOptions>>((limiter, security) => ConfigureRateLimiter(limiter, security.Value));
        return builder;
    }

    private static void ConfigureRateLimiter(RateLimiterOptions o, PersonaSecurityOptions limits)
    {
        o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        o.OnRejected = async (context, cancellationToken) =>
        {
            if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
                context.HttpContext.Response.Headers.RetryAfter = Math.Ceiling(retry.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context.HttpContext,
                ProblemDetails = { Status = StatusCodes.Status429TooManyRequests, Title = "Too many requests", Detail = $"This key may make {limits.RequestsPerSecond} requests a second (bursts up to {limits.Burst}); retry later." },
            });
        };
        if (limits.RequestsPerSecond > 0)
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                RateLimitPartition.GetTokenBucketLimiter(PartitionOf(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.Burst,
                    TokensPerPeriod = limits.RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        }
    }

    /// <summary>The key's name once authenticated, else the client address: unauthenticated floods share one bucket per address.</summary>
    private static string PartitionOf(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? "key:" + context.User.Identity.Name : "ip:" + context.Connection.RemoteIpAddress;

    public static WebApplication UsePersonaSecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<PersonaSecurityOptions>>().Value;
        if (options.Open)
            app.Logger.LogWarning("Persona runs OPEN (Persona:Security:Open=true): every endpoint answers without an API key. Development and demos only.");
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseRequestTimeouts();
        app.Use((context, next) => LimitBody(context, next, options.MaxRequestBodyBytes));
        return app;
    }

    /// <summary>
    /// A body whose Content-Length is over the limit is answered 413 before it is read. Kestrel enforces the limit
    /// on chunked bodies as they are read; a server that does not (the test server) gets a stream that does, so the
    /// same 413 (<see cref="Apis.BadRequestExceptionHandler"/>) comes back whichever server runs the app.
    /// </summary>
    private static async Task LimitBody(HttpContext context, RequestDelegate next, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = Apis.BadRequestExceptionHandler.TooLarge(limit),
            });
            return;
        }
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is not { MaxRequestBodySize: { } enforced } || enforced > limit)
            context.Request.Body = new LimitedReadStream(context.Request.Body, limit);
        await next(context);
    }

    /// <summary>The endpoint needs an API key with <paramref name="scope"/> (or admin).</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyOf(scope));

    /// <summary>Who made the request, for the audit log: the key's name, or "open" in development mode.</summary>
    public static string Actor(this HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? "key:" + context.User.Identity.Name : "open";
}
