using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Persona.Server.Security;

/// <summary>
/// Reads the key from <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>, hashes it and compares the hash
/// with every configured one in constant time. 401 and 403 answers are problem details.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory logger, UrlEncoder encoder,
    IOptions<PersonaSecurityOptions> security, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ScopeClaim = "scope";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request);
        if (presented is null) return Task.FromResult(AuthenticateResult.NoResult());
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKeyOptions? match = null;
        foreach (var key in security.Value.Keys)
        {
            var expected = Convert.FromHexString(key.Hash.AsSpan(ApiKeyOptions.HashPrefix.Length));
            // Every key is compared, so the time taken does not tell which prefix matched.
            if (CryptographicOperations.FixedTimeEquals(hash, expected)) match = key;
        }
        if (match is null) return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        var claims = new List<Claim> { new(ClaimTypes.Name, match.Name) };
        claims.AddRange(match.Scopes.Select(s => new Claim(ScopeClaim, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    private static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(HeaderName, out var header) && !string.IsNullOrEmpty(header)) return header.ToString();
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status401Unauthorized, "An API key is required",
            $"Send a key in the {HeaderName} header or as 'Authorization: Bearer KEY'; a key that was sent is not valid if this repeats.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "The API key lacks the scope this endpoint needs",
            $"This endpoint needs the '{Context.Items[ScopeRequirementHandler.NeededScopeItem]}' scope (admin implies every scope).");

    private async Task WriteProblemAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized) Response.Headers.WWWAuthenticate = $"Bearer realm=\"persona\", {HeaderName}";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}

internal sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;

/// <summary>Grants a scope to a key that holds it or admin; grants everything in open (development) mode.</summary>
internal sealed class ScopeRequirementHandler(IOptions<PersonaSecurityOptions> security, IHttpContextAccessor accessor)
    : AuthorizationHandler<ScopeRequirement>
{
    public const string NeededScopeItem = "persona.needed_scope";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (security.Value.Open || context.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, requirement.Scope)
            || context.User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, PersonaScopes.Admin))
            context.Succeed(requirement);
        else if (accessor.HttpContext is { } http)
            http.Items[NeededScopeItem] = requirement.Scope;
        return Task.CompletedTask;
    }
}
