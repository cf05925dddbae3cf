using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Core.Demo;
using Persona.Hosting;
using Persona.Server.Security;
using Persona.Storage.Sqlite;

namespace Persona.Server.Tests;

/// <summary>A small demo shop written to a data folder once, for tests that start the real server process over it.</summary>
public sealed class DemoShopFolder : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "persona-readme", Guid.NewGuid().ToString("n"));

    /// <summary>The demo shop's data folder.</summary>
    public string DataDirectory => Path.Combine(_root, "demo");

    /// <summary>An empty data folder, for tests of limits that need no data (a server starts faster on it).</summary>
    public string EmptyDirectory => Path.Combine(_root, "empty");

    public async Task InitializeAsync()
    {
        // The generator and importer `persona demo` uses, on a smaller shop.
        var shop = new DemoShopGenerator(new DemoOptions { Users = 150, Items = 600, Days = 60, TargetEventsPerUser = 40 }).Generate();
        var options = new PersonaOptions { DataDirectory = DataDirectory };
        await using var engine = new PersonaEngine(new SqlitePersonaStore(new SqliteStoreOptions { DataDirectory = DataDirectory }),
            Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
        await engine.StartAsync(progress: null, CancellationToken.None);
        await PersonaImporter.ImportShopAsync(engine, shop, progress: null, CancellationToken.None);
        await engine.FlushProfilesAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}

/// <summary>
/// The README's curl examples, run with the real <c>curl</c> against the real server process, so that an example that
/// stops working fails the build. The rules:
/// <list type="bullet">
/// <item>An example is every command in a <c>```sh</c> block of README.md whose first word is <c>curl</c> (a command
/// ends at a newline outside quotes that no backslash continues; <c>#</c> comments are dropped).</item>
/// <item>Each runs under bash as written, except that <c>http://127.0.0.1:5080</c> becomes the test server's address,
/// the key placeholder <c>pk_…</c> becomes a real key, and <c>-sS -w</c> is added after <c>curl</c> to read the
/// status. It must exit 0 and answer 2xx.</item>
/// <item>Examples without a key run first, in README order, against an open server over a small demo shop (what
/// <c>persona demo</c> serves). Examples with <c>pk_…</c> then run against the same data served with API keys (what
/// <c>persona serve</c> with a key from <c>persona keys new --scopes ingest,read</c> serves), which refuses them without the key.</item>
/// <item>Any other <c>…</c> left in an example fails the test: an example must work when pasted.</item>
/// </list>
/// </summary>
public sealed class ReadmeExamplesTests(DemoShopFolder shop) : IClassFixture<DemoShopFolder>
{
    private const string ReadmeUrl = "http://127.0.0.1:5080";
    private const string KeyPlaceholder = "pk_…";
    private const string Key = "pk_readme_examples_key";

    private static readonly string[] KeyedSettings =
    [
        "--Persona:Security:Open=false",
        "--Persona:Security:Keys:0:Name=readme",
        $"--Persona:Security:Keys:0:Hash={ApiKeyOptions.HashOf(Key)}",
        "--Persona:Security:Keys:0:Scopes:0=ingest",
        "--Persona:Security:Keys:0:Scopes:1=read",
    ];

    /// <summary>The curl commands of README.md's sh blocks, in order.</summary>
    public static IReadOnlyList<string> CurlExamples(string readme)
    {
        var examples = new List<string>();
        var lines = readme.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd() != "```sh") continue;
            var block = new StringBuilder();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++) block.Append(lines[i]).Append('\n');
            examples.AddRange(Commands(block.ToString()).Where(c => c.StartsWith("curl ", StringComparison.Ordinal)));
        }
        return examples;
    }

    /// <summary>Splits shell text into commands the way bash does for these examples: quotes and backslash-newlines continue a command.</summary>
    private static IEnumerable<string> Commands(string text)
    {
        var command = new StringBuilder();
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote is { } q)
            {
                command.Append(c);
                if (c == q) quote = null;
                else if (c == '\\' && q == '"' && i + 1 < text.Length) command.Append(text[++i]);
                continue;
            }
            if (c is '\'' or '"') quote = c;
            else if (c == '\\' && i + 1 < text.Length) { command.Append(c).Append(text[++i]); continue; }
            else if (c == '#' && (command.Length == 0 || char.IsWhiteSpace(command[^1])))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            else if (c == '\n')
            {
                if (command.ToString().Trim() is { Length: > 0 } done) yield return done;
                command.Clear();
                continue;
            }
            command.Append(c);
        }
        if (command.ToString().Trim() is { Length: > 0 } last) yield return last;
    }

    [Fact]
    public void CurlExamples_AreFoundAndUsePlaceholdersOnlyForKeys()
    {
        var examples = CurlExamples(File.ReadAllText(Path.Combine(ServerProcess.RepoRoot(), "README.md")));
        Assert.True(examples.Count >= 6, $"Only {examples.Count} curl examples found in README.md.");
        Assert.Contains(examples, e => e.Contains(KeyPlaceholder, StringComparison.Ordinal));
        Assert.All(examples, e => Assert.DoesNotContain("…", e.Replace(KeyPlaceholder, "", StringComparison.Ordinal), StringComparison.Ordinal));
        Assert.All(examples, e => Assert.Contains(ReadmeUrl, e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadmeCurlExamples_WorkAsWritten_AgainstTheDemoServer()
    {
        var root = ServerProcess.RepoRoot();
        var examples = CurlExamples(await File.ReadAllTextAsync(Path.Combine(root, "README.md")));
        var open = examples.Where(e => !e.Contains(KeyPlaceholder, StringComparison.Ordinal)).ToList();
        var keyed = examples.Where(e => e.Contains(KeyPlaceholder, StringComparison.Ordinal)).ToList();

        await using (var server = await ServerProcess.StartAsync(shop.DataDirectory))
        {
            foreach (var example in open) await RunAsync(example, server, root);
        }
        await using (var server = await ServerProcess.StartAsync(shop.DataDirectory, KeyedSettings))
        {
            using var anonymous = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/users/alice/profile")).StatusCode);
            foreach (var example in keyed) await RunAsync(example, server, root);
        }
    }

    private static async Task RunAsync(string example, ServerProcess server, string root)
    {
        var (exit, status, body, errors) = await CurlAsync(example["curl ".Length..]
            .Replace(ReadmeUrl, server.BaseUrl, StringComparison.Ordinal)
            .Replace(KeyPlaceholder, Key, StringComparison.Ordinal), root);
        Assert.True(exit == 0 && status.StartsWith('2'),
            $"README example failed (exit {exit}, HTTP {status}):\n{example}\n{errors}{body[..Math.Min(body.Length, 2000)]}\n--- server ---\n{server.Output}");
        if (body.Length > 0) JsonDocument.Parse(body).Dispose();
    }

    /// <summary>Runs <c>curl ARGUMENTS</c> under bash; the status comes from <c>-w</c>, the body from stdout.</summary>
    private static async Task<(int Exit, string Status, string Body, string Errors)> CurlAsync(string arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("curl -sS --max-time 60 -w '\\n%{http_code}' " + arguments);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = (await stdout).TrimEnd();
        var split = output.LastIndexOf('\n');
        return (process.ExitCode, output[(split + 1)..], split < 0 ? "" : output[..split], await stderr);
    }

    /// <summary>
    /// The limits as Kestrel enforces them, open and keyed: every oversized write, sent by curl with a Content-Length or
    /// chunked, gets 413 problem details and stores nothing. (curl, like most clients, waits for the server's answer
    /// before sending a large body, so the early 413 reaches it instead of a broken pipe.)
    /// </summary>
    [Fact]
    public async Task RealServer_BodyOverTheLimit_413ProblemAndNothingStored_OpenAndKeyed()
    {
        var file = Path.Combine(Path.GetDirectoryName(shop.EmptyDirectory)!, "oversized.json");
        foreach (var settings in new[] { null, KeyedSettings })
        {
            await using var server = await ServerProcess.StartAsync(shop.EmptyDirectory, settings);
            using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
            async Task<string> CountsAsync()
            {
                var stats = (await (await client.GetAsync("/health")).ReadJsonAsync()).GetProperty("stats");
                return $"events {stats.GetProperty("events")}, items {stats.GetProperty("items")}, users {stats.GetProperty("users")}";
            }
            var key = settings is null ? "" : $"-H 'X-Api-Key: {Key}' ";
            foreach (var (method, path, body) in OversizedBodies.Writes())
            {
                await File.WriteAllBytesAsync(file, body);
                foreach (var chunked in new[] { false, true })
                {
                    var before = await CountsAsync();
                    var (exit, status, answer, errors) = await CurlAsync(
                        $"-X {method} {key}-H 'content-type: application/json' {(chunked ? "-H 'Transfer-Encoding: chunked' " : "")}--data-binary @{file} {server.BaseUrl}{path}",
                        Path.GetDirectoryName(file)!);
                    var how = $"{method} {path} ({(chunked ? "chunked" : "Content-Length")}, {(settings is null ? "open" : "keyed")})";
                    Assert.True(exit == 0 && status == "413", $"{how}: exit {exit}, HTTP {status} {errors}{answer}\n--- server ---\n{server.Output}");
                    var problem = JsonDocument.Parse(answer).RootElement;
                    Assert.Contains("8,388,608 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                    Assert.Equal(before, await CountsAsync());
                }
            }
            Assert.DoesNotContain("BadHttpRequestException", server.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>A 5 KB query in Chinese is 15 KB percent-encoded, over Kestrel's 8 KiB default request line: it is answered by the API, naming the limit.</summary>
    [Fact]
    public async Task RealServer_LongQuery_ProblemDetailsNamingTheLimit()
    {
        await using var server = await ServerProcess.StartAsync(shop.EmptyDirectory);
        using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var query = Uri.EscapeDataString(new string('口', 1_700));
        using var response = await client.GetAsync($"/v1/search?q={query}&n=10");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: '{text}'");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("500 characters", JsonDocument.Parse(text).RootElement.GetProperty("errors").GetProperty("q")[0].GetString(), StringComparison.Ordinal);
    }
}
