using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
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

        var limits = builder.Configuration.GetSection(PersonaSecurityOptions.SectionName).Get<PersonaSecurityOptions>() ?? new PersonaSecurityOptions();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes);
        builder.Services.AddRequestTimeouts(o => o.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = TimeSpan.FromSeconds(limits.RequestTimeoutSeconds),
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
        });
        builder.Services.AddRateLimiter(o =>
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
        });
        return builder;
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
