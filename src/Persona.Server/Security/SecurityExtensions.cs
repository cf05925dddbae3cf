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
            kestrel.Limits.MaxRequestBodySize = security.Value.MaxRequestBodyBytes);
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
        return app;
    }

    /// <summary>The endpoint needs an API key with <paramref name="scope"/> (or admin).</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyOf(scope));

    /// <summary>Who made the request, for the audit log: the key's name, or "open" in development mode.</summary>
    public static string Actor(this HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? "key:" + context.User.Identity.Name : "open";
}
