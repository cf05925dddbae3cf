using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Persona.Abstractions;
using Persona.Hosting;

namespace Persona.Server.Tests;

/// <summary>The real HTTP pipeline over a real SQLite file in a fresh temp folder.</summary>
public sealed class PersonaAppFactory : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "persona-tests", Guid.NewGuid().ToString("n"));

    /// <summary>Configuration applied on top of the defaults; change it before the first request. Open (no keys) unless a test sets keys.</summary>
    public Dictionary<string, string?> Settings { get; } = new(StringComparer.Ordinal) { ["Persona:Security:Open"] = "true" };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Persona:DataDirectory", DataDirectory);
        builder.UseSetting("Persona:SnapshotIntervalSeconds", "1");
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
        if (TestServices is { } configure) builder.ConfigureTestServices(configure);
    }

    /// <summary>Replaces services after the app registered its own (e.g. a <see cref="TimeProvider"/>); set before the first request.</summary>
    public Action<IServiceCollection>? TestServices { get; set; }

    public PersonaEngine Engine => Services.GetRequiredService<PersonaEngine>();

    public Task<long> CountEventsAsync() => Engine.Store.CountEventsAsync();

    /// <summary>
    /// Stops and disposes the test host after every test of the class has run. The test host stops the app while the
    /// app's own Main (RunAsync) also stops and disposes it; the engine now tolerates that race (its dispose flushes,
    /// a stop that meets a disposed engine does not throw). Should another part ever raise ObjectDisposedException on
    /// that double shutdown, it is written to stderr with its stack rather than failing the class after its tests passed.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        catch (ObjectDisposedException ex)
        {
            await Console.Error.WriteLineAsync($"Test host shutdown raised {ex}");
        }
        finally
        {
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

internal static class HttpJson
{
    public static StringContent Body(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static StringContent Body(object value) => Body(JsonSerializer.Serialize(value, PersonaJson.Options));

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(PersonaJson.Options));
}
