using System.Diagnostics;
using System.Reflection;

namespace Persona.Cli.Commands;

/// <summary>How a bench starts <c>persona</c> commands (servers, imports) as child processes.</summary>
internal static class PersonaExecutable
{
    /// <summary>
    /// The same <c>persona</c> that runs this bench: its own executable when started as one, otherwise
    /// <c>dotnet persona.dll</c> with the dotnet host that runs this process (as under <c>dotnet run</c> or a test).
    /// The store this bench was told to use (<c>--store …</c>) is the child's too.
    /// </summary>
    public static ProcessStartInfo Start()
    {
        var host = Environment.ProcessPath;
        var self = typeof(PersonaExecutable).Assembly;
        static bool IsDotnet(string path) => Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        ProcessStartInfo start;
        if (host is not null && !IsDotnet(host) && Assembly.GetEntryAssembly() == self) start = new ProcessStartInfo(host);
        else
        {
            start = new ProcessStartInfo(host is not null && IsDotnet(host) ? host : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            start.ArgumentList.Add(self.Location);
        }
        foreach (var (name, value) in StoreChoice.AsEnvironment()) start.Environment[name] = value;
        return start;
    }
}
