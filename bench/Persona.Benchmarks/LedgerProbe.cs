using System.Diagnostics;
using Persona.Core.Online;

namespace Persona.Benchmarks;

/// <summary>
/// What the online loop's served log costs (docs/online-loop.md): managed bytes per answer held, with its share of the
/// per-shopper index, and answers recorded per second on one thread. <c>--ledger-probe [--answers N] [--shoppers S] [--items K]</c>.
/// </summary>
public static class LedgerProbe
{
    public static void Run(string[] args)
    {
        var answers = Arg(args, "--answers", 500_000);
        var shoppers = Arg(args, "--shoppers", 200_000);
        var perAnswer = Arg(args, "--items", 10);
        var ledger = new OnlineLedger(TimeSpan.FromDays(1), answers + 1_000);
        var items = Enumerable.Range(0, perAnswer).Select(i => new ShownItem($"item-{i * 7919 % 100_000}", i % 2 == 0 ? "model" : "popularity")).ToArray();
        var names = Enumerable.Range(0, shoppers).Select(i => $"u{i}").ToArray();
        var now = DateTimeOffset.UtcNow;
        // Warm-up: the item ids, the source and variant tables and the code.
        for (var i = 0; i < 1_000; i++) ledger.Record(RequestId.New(now), OnlineSurface.Recommendations, names[i % shoppers], null, items);
        var before = Settled();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < answers; i++) ledger.Record(RequestId.New(now.AddMilliseconds(i)), OnlineSurface.Recommendations, names[i % shoppers], null, items);
        var elapsed = clock.Elapsed;
        var after = Settled();
        GC.KeepAlive(ledger);
        GC.KeepAlive(names);
        Console.WriteLine($"{answers:N0} answers of {perAnswer} items for {shoppers:N0} shoppers: {(after - before) / (double)answers:N0} bytes each " +
                          $"(shopper ids not counted), {answers / elapsed.TotalSeconds:N0} recorded per second on one thread");
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
