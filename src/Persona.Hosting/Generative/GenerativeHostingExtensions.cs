using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Persona.Generative;

namespace Persona.Hosting.Generative;

public static class GenerativeHostingExtensions
{
    /// <summary>
    /// The optional chat endpoint (<c>Persona:Generative</c>; docs/generative.md) and what uses it. Without a base URL,
    /// <see cref="GenerativeEndpoint.Client"/> is null and every use answers from its template.
    /// </summary>
    public static IHostApplicationBuilder AddPersonaGenerative(this IHostApplicationBuilder builder, Action<GenerativeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<GenerativeOptions, GenerativeOptionsValidator>(GenerativeOptions.SectionName, configure);
        builder.Services.TryAddSingleton<GenerativeEndpoint>();
        builder.Services.TryAddSingleton<ProfileSummaries>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProfileSummaries>());
        builder.Services.TryAddSingleton<GroupBriefs>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GroupBriefs>());
        return builder;
    }
}

public sealed class GenerativeOptionsValidator : IValidateOptions<GenerativeOptions>
{
    public ValidateOptionsResult Validate(string? name, GenerativeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{GenerativeOptions.SectionName}: {p}"));
    }
}

/// <summary>The configured endpoint's client, or null when none is configured (the default).</summary>
public sealed class GenerativeEndpoint : IDisposable
{
    public GenerativeEndpoint(IOptions<GenerativeOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        Client = Options.Enabled ? new GenerativeClient(Options, time: time) : null;
    }

    /// <summary>An endpoint from a client built elsewhere (tests, the CLI).</summary>
    public GenerativeEndpoint(GenerativeClient? client, GenerativeOptions options)
    {
        Client = client;
        Options = options ?? throw new ArgumentNullException(nameof(options));
    }

    public GenerativeOptions Options { get; }

    public GenerativeClient? Client { get; }

    public void Dispose() => Client?.Dispose();
}
