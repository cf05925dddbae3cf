using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace Persona.Cluster;

/// <summary>
/// Calls a shopper's grain, again while its node is failing over: a call to a node that died fails (or times out)
/// until the membership declares it dead, after which the grain activates on a survivor. Appends carry event ids, so
/// a call repeated after the first one stored its events stores nothing twice.
/// </summary>
internal static class GrainCalls
{
    /// <summary>How long a call keeps being repeated: a few membership rounds past a node's death.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static async Task<T> WithFailoverAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                return await call().WaitAsync(cancellationToken);
            }
            catch (Exception ex) when (IsNodeFailure(ex) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(pause, cancellationToken);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 500));
            }
        }
    }

    /// <summary>Failures of the node or the link, not of the call itself.</summary>
    public static bool IsNodeFailure(Exception ex) => ex is SiloUnavailableException or OrleansMessageRejectionException
        or ConnectionFailedException or TimeoutException or GrainExtensionNotInstalledException
        || (ex is OrleansException && ex.InnerException is { } inner && IsNodeFailure(inner));
}
