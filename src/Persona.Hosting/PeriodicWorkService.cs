using Microsoft.Extensions.Hosting;

namespace Persona.Hosting;

/// <summary>
/// A hosted service that loads before requests are served, then repeats one piece of background work on a timer
/// (flushing profiles, refreshing models, retraining search). A failed run is reported and retried on the next tick.
/// It stops once: under a test host the app is also stopped by its own <c>RunAsync</c>, and a second stop after
/// disposal has nothing left to do.
/// </summary>
internal abstract class PeriodicWorkService : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private int _stopped;

    /// <summary>Runs before requests are served; returns whether to run the work once right away.</summary>
    protected abstract Task<bool> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Time between runs; null runs nothing on a timer.</summary>
    protected abstract TimeSpan? Interval { get; }

    /// <summary>One run of the work.</summary>
    protected abstract Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Whether a tick has anything to do.</summary>
    protected virtual bool IsDue => true;

    /// <summary>Reports a failed run (the next tick retries).</summary>
    protected abstract void OnFailed(Exception exception);

    /// <summary>Runs once after the loop has ended on a stop (e.g. a last flush).</summary>
    protected virtual Task OnStoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var runNow = await LoadAsync(cancellationToken);
        _loop = Task.Run(() => LoopAsync(runNow, _stopping.Token), CancellationToken.None);
    }

    private async Task LoopAsync(bool runNow, CancellationToken cancellationToken)
    {
        using var timer = Interval is { } interval ? new PeriodicTimer(interval) : null;
        try
        {
            if (runNow) await RunOnceAsync(cancellationToken);
            while (timer is not null && await timer.WaitForNextTickAsync(cancellationToken))
                if (IsDue) await RunOnceAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            OnFailed(ex);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        await _stopping.CancelAsync();
        if (_loop is not null) await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await OnStoppedAsync(cancellationToken);
    }

    /// <summary>Disposal without a stop (or racing one) cancels the loop; the token source holds no handle to free.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0) _stopping.Cancel();
        GC.SuppressFinalize(this);
    }
}
