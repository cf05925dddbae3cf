using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;

namespace Persona.Hosting;

/// <summary>Where the server's own training of the sequence model stands (the Models page and <c>GET /v1/admin/models</c>).</summary>
/// <param name="Enabled">Whether the server trains (<c>Persona:Training:IntervalMinutes</c> or <c>:AfterEvents</c> set).</param>
/// <param name="IntervalMinutes">The schedule; 0 for none.</param>
/// <param name="AfterEvents">The event count that starts a training; 0 for none.</param>
/// <param name="EventsSinceLastRun">New events stored since the last training began (or since start).</param>
/// <param name="NextRunAt">When the schedule next starts one; null without a schedule or while one runs.</param>
/// <param name="Running">The training now running; null when idle.</param>
/// <param name="Last">How the last training ended; null before the first.</param>
public sealed record SequenceTrainingStatus(
    bool Enabled, int IntervalMinutes, long AfterEvents, long EventsSinceLastRun, DateTimeOffset? NextRunAt,
    SequenceTrainingProgressView? Running, SequenceTrainingOutcome? Last);

/// <summary>A running training: why it started, the epoch, the share of its planned steps done, validation NDCG@10 and the time left.</summary>
public sealed record SequenceTrainingProgressView(
    string Trigger, DateTimeOffset StartedAt, string? WarmStartFrom, int Epoch, int Epochs, double Fraction,
    double? ValidationNdcg10, double BestValidationNdcg10, double ElapsedSeconds, double? EtaSeconds);

/// <summary>How a training ended: the version it stored and the gate's verdict, or why it failed.</summary>
public sealed record SequenceTrainingOutcome(
    string Trigger, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string? Version, SequenceGateOutcome? Gate, string? Error);

/// <summary>
/// Retrains the sequence model inside the server on a schedule (<see cref="PersonaTrainingOptions.IntervalMinutes"/>)
/// or after <see cref="PersonaTrainingOptions.AfterEvents"/> new events, one training at a time, warm-started from the
/// serving model and judged by the same gate as <c>persona train</c>; progress goes to the log and to
/// <see cref="Status"/>. Does nothing unless configured.
/// </summary>
public sealed partial class SequenceTrainingService : BackgroundService, IEngineObserver
{
    /// <summary>How often the triggers are checked (a counter and a clock read).</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>The actor of the server's own decisions in the audit log.</summary>
    public const string Actor = "trainer";

    private readonly SequenceModelService _models;
    private readonly PersonaEngine _engine;
    private readonly PersonaTrainingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SequenceTrainingService> _logger;
    private readonly IServiceProvider? _services;
    private long _newEvents;
    private int _running;
    private long _lastEndedTicks; // UTC ticks, read by Status on other threads
    private volatile SequenceTrainingProgressView? _progress;
    private volatile SequenceTrainingOutcome? _last;

    /// <summary>
    /// <paramref name="services"/> is where the search service, whose index holds the items' text vectors
    /// (<see cref="PersonaTrainingOptions.TextInit"/>), is found when a training starts.
    /// </summary>
    public SequenceTrainingService(
        SequenceModelService models, PersonaEngine engine, IOptions<PersonaTrainingOptions> options, TimeProvider time, ILogger<SequenceTrainingService> logger,
        IServiceProvider? services = null)
    {
        _services = services;
        ArgumentNullException.ThrowIfNull(options);
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _options = options.Value;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _lastEndedTicks = time.GetUtcNow().UtcTicks;
        if (_options.Enabled) engine.AddObserver(this);
    }

    private DateTimeOffset LastEnded => new(Interlocked.Read(ref _lastEndedTicks), TimeSpan.Zero);

    public SequenceTrainingStatus Status
    {
        get
        {
            var running = _progress;
            DateTimeOffset? next = _options.IntervalMinutes > 0 && running is null ? LastEnded.AddMinutes(_options.IntervalMinutes) : null;
            return new SequenceTrainingStatus(_options.Enabled, _options.IntervalMinutes, _options.AfterEvents, Interlocked.Read(ref _newEvents), next, running, _last);
        }
    }

    public void OnEventsStored(IReadOnlyList<StoredEvent> events) => Interlocked.Add(ref _newEvents, events.Count);

    public void OnItemsUpserted(IReadOnlyList<Item> items)
    {
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled) return;
        using var timer = new PeriodicTimer(CheckInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (Due() is { } trigger) await TrainNowAsync(trigger, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Why a training is due now, or null.</summary>
    private string? Due()
    {
        if (_options.AfterEvents > 0 && Interlocked.Read(ref _newEvents) >= _options.AfterEvents)
            return string.Create(CultureInfo.InvariantCulture, $"{Interlocked.Read(ref _newEvents):N0} new events");
        if (_options.IntervalMinutes > 0 && _time.GetUtcNow() >= LastEnded.AddMinutes(_options.IntervalMinutes))
            return string.Create(CultureInfo.InvariantCulture, $"every {_options.IntervalMinutes} min");
        return null;
    }

    /// <summary>
    /// Trains now unless a training is already running (then returns null at once). A failure is logged and kept in
    /// <see cref="Status"/>, never thrown: the serving model keeps serving.
    /// </summary>
    public async Task<SequenceTrainingOutcome?> TrainNowAsync(string trigger, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(trigger);
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0) return null;
        var started = _time.GetUtcNow();
        Interlocked.Exchange(ref _newEvents, 0);
        using var listed = _engine.Background.Begin("training the sequence model");
        // The time limit ends training after the epoch that passes it; an epoch that runs on is cut off at half as long again.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromMinutes(_options.MaxMinutes * 1.5));
        SequenceTrainingOutcome outcome;
        try
        {
            _models.Repository.Refresh();
            var serving = _options.WarmStart ? _models.Repository.CurrentModel : null;
            var training = (serving?.Manifest?.Training ?? new SequenceTrainingOptions()) with
            {
                Epochs = _options.Epochs,
                TimeLimit = TimeSpan.FromMinutes(_options.MaxMinutes),
                ItemText = _options.TextInit ? (_services?.GetService(typeof(SearchService)) as SearchService)?.ItemTextVectors() : null,
            };
            _progress = new SequenceTrainingProgressView(trigger, started, serving?.Version, 0, training.Epochs, 0, null, 0, 0, null);
            LogStarted(_logger, trigger, serving?.Version ?? "scratch");
            var progress = new Progress(this, trigger, started, serving?.Version);
            var run = await _models.TrainAsync(training, Actor, force: false, serving, progress, limit.Token);
            outcome = new SequenceTrainingOutcome(trigger, started, _time.GetUtcNow(), run.Version, run.Gate, null);
            var figures = run.Gate.Describe();
            if (run.Gate.Serves) LogServed(_logger, run.Version, figures);
            else LogRejected(_logger, run.Version, figures);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = new SequenceTrainingOutcome(trigger, started, _time.GetUtcNow(), null, null, $"Stopped after running past {_options.MaxMinutes * 1.5:0.#} minutes.");
            LogFailed(_logger, outcome.Error!, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Too little data (no user with three steps), a store or disk failure: the serving model stays.
            outcome = new SequenceTrainingOutcome(trigger, started, _time.GetUtcNow(), null, null, ex.Message);
            LogFailed(_logger, ex.Message, ex);
        }
        finally
        {
            Interlocked.Exchange(ref _lastEndedTicks, _time.GetUtcNow().UtcTicks);
            _progress = null;
            Volatile.Write(ref _running, 0);
        }
        _last = outcome;
        return outcome;
    }

    /// <summary>Keeps the newest figures for <see cref="Status"/> and logs each validation (once an epoch).</summary>
    private sealed class Progress(SequenceTrainingService owner, string trigger, DateTimeOffset started, string? warmFrom) : IProgress<SequenceTrainingProgress>
    {
        private double? _validation;

        public void Report(SequenceTrainingProgress value)
        {
            _validation = value.ValidationNdcg10 ?? _validation;
            var fraction = value.Epochs * value.StepsPerEpoch == 0 ? 0
                : Math.Clamp(((value.Epoch - 1.0) * value.StepsPerEpoch + value.Step) / ((double)value.Epochs * value.StepsPerEpoch), 0, 1);
            // With a time limit, the share of that time used is the better measure of what is left.
            if (value.Eta is { } eta && value.Elapsed + eta > TimeSpan.Zero)
                fraction = Math.Max(fraction, value.Elapsed / (value.Elapsed + eta));
            owner._progress = new SequenceTrainingProgressView(trigger, started, warmFrom, value.Epoch, value.Epochs, fraction, _validation,
                value.BestValidationNdcg10, value.Elapsed.TotalSeconds, value.Eta?.TotalSeconds);
            if (value.ValidationNdcg10 is { } ndcg)
                LogEpoch(owner._logger, value.Epoch, value.Epochs, ndcg, value.BestValidationNdcg10, value.Eta?.TotalSeconds ?? 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Training the sequence model ({Trigger}), starting from {From}")]
    private static partial void LogStarted(ILogger logger, string trigger, string from);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sequence model training: epoch {Epoch}/{Epochs}, validation NDCG@10 {Ndcg:0.0000} (best {Best:0.0000}), about {EtaSeconds:0} s left")]
    private static partial void LogEpoch(ILogger logger, int epoch, int epochs, double ndcg, double best, double etaSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sequence model {Version} serves: {Figures}")]
    private static partial void LogServed(ILogger logger, string version, string figures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sequence model {Version} stored but not served, it failed the gate: {Figures}")]
    private static partial void LogRejected(ILogger logger, string version, string figures);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training the sequence model failed ({Reason}); the serving model stays")]
    private static partial void LogFailed(ILogger logger, string reason, Exception? ex);
}
