using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Hosting;

namespace Persona.Server.Tests;

/// <summary>The real HTTP pipeline over a real SQLite file in a fresh temp folder.</summary>
public sealed class PersonaAppFactory : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "persona-tests", Guid.NewGuid().ToString("n"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Persona:DataDirectory", DataDirectory);
        builder.UseSetting("Persona:SnapshotIntervalSeconds", "1");
    }

    public PersonaEngine Engine => Services.GetRequiredService<PersonaEngine>();

    public Task<long> CountEventsAsync() => Engine.Store.CountEventsAsync();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class HttpJson
{
    public static StringContent Body(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static StringContent Body(object value) => Body(JsonSerializer.Serialize(value, PersonaJson.Options));

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(PersonaJson.Options));
}
