using Microsoft.AspNetCore.Builder;

namespace Persona.Server;

/// <summary>Composes the Persona web application; shared by <c>Program</c> and the CLI's <c>serve</c>.</summary>
public static class PersonaServer
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var app = builder.Build();
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }));
        return app;
    }
}
