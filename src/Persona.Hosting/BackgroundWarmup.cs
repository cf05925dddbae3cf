using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Persona.Hosting;

/// <summary>
/// Prepares per-user state for the most recently active users on one background thread (so requests keep being
/// served), after start or after a new model: their first requests then hit a cache instead of all computing at once.
/// The thread is its own, not the pool's: on two cores two warm-ups on pool threads left none for requests until the
/// pool grew, and the first requests after a start waited seconds.
/// </summary>
internal static class BackgroundWarmup
{
    /// <param name="what">What is prepared, for the log line ("the recommendations").</param>
    /// <param name="users">The users, most recent first; read on the background thread.</param>
    /// <param name="prepare">Fills the cache for one user.</param>
    /// <param name="superseded">True once a newer run has started; this one then stops.</param>
    /// <param name="logger">Where the finished run is reported.</param>
    /// <param name="background">Lists the run as "warming {what}" while it lasts.</param>
    public static Task Start(string what, Func<IReadOnlyList<string>> users, Action<string> prepare, Func<bool> superseded, ILogger logger, BackgroundWork background) =>
        Task.Factory.StartNew(() =>
        {
            using var running = background.Begin($"warming {what}");
            var clock = Stopwatch.StartNew();
            var done = 0;
            try
            {
                foreach (var user in users())
                {
                    if (superseded()) return;
                    prepare(user);
                    done++;
                }
                if (logger.IsEnabled(LogLevel.Information))
                    logger.LogInformation("Prepared {What} of {Users} recently active users in {Seconds:0.0} s", what, done, clock.Elapsed.TotalSeconds);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
            {
                // The host is shutting down under the run; the cache fills on demand instead.
                if (logger.IsEnabled(LogLevel.Debug)) logger.LogDebug(ex, "Preparing {What} stopped after {Users} users", what, done);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
