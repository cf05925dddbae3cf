using System.Diagnostics;
using Persona.Core.Profiles;

namespace Persona.Benchmarks;

/// <summary>
/// Time and allocation of decoding shopper state records (the cold path of every read of a cold shopper), on records
/// exported from a store: <c>--decode-probe FILE</c>, FILE holding each record as a 4-byte little-endian length and
/// its bytes (<c>bench/scripts/export-shopper-records.py STORE FILE N</c> writes one).
/// </summary>
public static class DecodeProbe
{
    public static void Run(string[] args)
    {
        var file = args[Array.IndexOf(args, "--decode-probe") + 1];
        var records = Read(file);
        var options = new ProfileOptions();
        var bytes = records.Sum(r => (long)r.Length);
        Console.WriteLine($"{records.Count:N0} records, {bytes / (double)records.Count:N0} bytes each on average");
        for (var round = 0; round < 7; round++)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            foreach (var record in records)
                if (ProfileState.Decode(record, options) is null) throw new InvalidDataException("A record did not decode.");
            var elapsed = clock.Elapsed;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            // The first rounds intern every item id and tier the code up; the last ones are the steady state of a server.
            Console.WriteLine($"round {round}: {elapsed.TotalMicroseconds / records.Count:0.0} µs and {allocated / records.Count:N0} bytes allocated per record");
        }
    }

    private static List<byte[]> Read(string file)
    {
        var records = new List<byte[]>();
        using var stream = File.OpenRead(file);
        using var reader = new BinaryReader(stream);
        while (stream.Position < stream.Length) records.Add(reader.ReadBytes(reader.ReadInt32()));
        return records;
    }
}
