using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Persona.Server.Tests;

/// <summary>The real server as a child process (<c>dotnet Persona.Server.dll</c>), for crash tests.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    /// <summary>The last lines the server wrote (stdout and stderr), for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <param name="dataDirectory">The data folder.</param>
    /// <param name="settings">Command-line settings such as <c>--Persona:Security:Keys:0:Name=k</c>; none: the server runs open.</param>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, IReadOnlyList<string>? settings = null)
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerAssembly());
        start.ArgumentList.Add($"--urls={url}");
        start.ArgumentList.Add($"--Persona:DataDirectory={dataDirectory}");
        foreach (var setting in settings ?? ["--Persona:Security:Open=true"]) start.ArgumentList.Add(setting);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server.");
        var server = new ServerProcess(process, url);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilHealthyAsync(TimeSpan.FromSeconds(90));
        return server;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > 200) _output.TryDequeue(out _);
    }

    /// <summary>SIGKILL: no shutdown hooks, no flush.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The server exited with code {_process.ExitCode} before becoming healthy:\n{Output}");
            try
            {
                if ((await client.GetAsync($"{BaseUrl}/health")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException("The server did not become healthy in time.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The server's own build output (it has its runtimeconfig), same configuration as this test run.</summary>
    private static string ServerAssembly()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "Persona.Server.dll");
        if (File.Exists(Path.Combine(AppContext.BaseDirectory, "Persona.Server.runtimeconfig.json"))) return local;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Name;
        var root = RepoRoot();
        var path = Path.Combine(root, "src", "Persona.Server", "bin", configuration, "net10.0", "Persona.Server.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build Persona.Server first.", path);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Persona.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Persona.slnx not found above the test folder.");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
