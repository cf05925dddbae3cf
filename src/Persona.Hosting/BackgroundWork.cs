using System.Collections.Concurrent;

namespace Persona.Hosting;

/// <summary>
/// The long jobs a server runs besides answering requests (training the search encoder, refreshing predictions and
/// segments, warming caches), by name. <c>/health</c> lists them, so an operator or <c>persona bench scale</c> can tell a
/// settled server from one that is still preparing and sharing its cores with that work. Thread-safe.
/// </summary>
public sealed class BackgroundWork
{
    private readonly ConcurrentDictionary<string, int> _running = new(StringComparer.Ordinal);

    /// <summary>Marks <paramref name="name"/> as running until the returned handle is disposed (runs of one name may overlap).</summary>
    public IDisposable Begin(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _running.AddOrUpdate(name, 1, static (_, count) => count + 1);
        return new Run(this, name);
    }

    /// <summary>The names running now, in ordinal order; empty when the server is settled.</summary>
    public IReadOnlyList<string> Running =>
        _running.Where(pair => pair.Value > 0).Select(pair => pair.Key).Order(StringComparer.Ordinal).ToArray();

    private void End(string name) => _running.AddOrUpdate(name, 0, static (_, count) => Math.Max(0, count - 1));

    private sealed class Run(BackgroundWork owner, string name) : IDisposable
    {
        private int _ended;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) owner.End(name);
        }
    }
}
