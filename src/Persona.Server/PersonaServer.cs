using Persona.Abstractions;
using Persona.Cluster;
using Persona.Hosting;
using Persona.Messaging.RabbitMq;
using Persona.Server.Apis;
using Persona.Server.Dashboard;
using Persona.Server.Security;

namespace Persona.Server;

/// <summary>Composes the Persona web application; shared by <c>Program</c> and the CLI's <c>serve</c> and <c>demo</c>.</summary>
public static class PersonaServer
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(DefaultUrl);
        // Per-request framework logs cost more than a 500-event append at high rates; configuration can turn them back on.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Orleans narrates membership and connections at Information; a node's own log keeps its warnings.
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.AddPersona();
        builder.AddPersonaRabbitMqIngest();
        builder.AddPersonaCluster();
        builder.AddPersonaSecurity();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        // A query parameter that does not bind (limit=99999999999) throws, so the handler above can name it; otherwise
        // the framework answers a bare 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(o => PersonaJson.Configure(o.SerializerOptions));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UsePersonaSecurity();
        app.MapOpenApi().AllowAnonymous();
        app.MapHealthApi();
        app.MapEventsApi();
        app.MapItemsApi();
        app.MapUsersApi();
        app.MapAudiencesApi();
        app.MapSegmentsApi();
        app.MapRecommendationsApi();
        app.MapSearchApi();
        app.MapOnlineApi();
        app.MapExperimentsApi();
        app.MapDashboard();
        app.MapAdminApi();
        app.MapModelsApi();
        return app;
    }
}
