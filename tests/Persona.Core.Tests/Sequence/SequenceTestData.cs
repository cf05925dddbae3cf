using Persona.Abstractions;
using Persona.Core.Models.Sequence;

namespace Persona.Core.Tests.Sequence;

/// <summary>Small deterministic data sets for the sequence model's tests.</summary>
internal static class SequenceTestData
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Four brands of ten items each (ids <c>b{brand}-{k}</c>, category <c>Cat{brand % 2}</c>); a user walks one brand's
    /// items in a cycle (k → k + 1), from a seeded start, with one random detour in six steps. Learnable: the next item
    /// is nearly always the successor of the newest one.
    /// </summary>
    public static (List<StoredEvent> Events, List<Item> Items) Chains(int users = 240, int seed = 7)
    {
        var items = new List<Item>();
        for (var b = 0; b < 4; b++)
        {
            for (var k = 0; k < 10; k++)
                items.Add(new Item { Id = $"b{b}-{k}", Brand = $"Brand{b}", CategoryPath = [$"Cat{b % 2}", $"Sub{b}"] });
        }
        var random = new Random(seed);
        var events = new List<StoredEvent>();
        for (var u = 0; u < users; u++)
        {
            var brand = u % 4;
            var k = random.Next(10);
            var length = 6 + random.Next(8);
            for (var t = 0; t < length; t++)
            {
                var id = random.Next(6) == 0 ? $"b{random.Next(4)}-{random.Next(10)}" : $"b{brand}-{k}";
                events.Add(new StoredEvent
                {
                    Sequence = events.Count + 1,
                    Id = $"e{u}-{t}",
                    UserId = $"u{u:D4}",
                    Type = t % 3 == 0 ? EventType.View : EventType.Purchase,
                    ItemId = id,
                    Timestamp = Start.AddHours((u * 1000) + (t * 5) + (t % 3)), // increasing, with uneven gaps
                });
                k = (k + 1) % 10;
            }
        }
        return (events, items);
    }

    public static SequenceTrainingOptions SmallOptions(int epochs = 15) => new()
    {
        Dimension = 16,
        Layers = 1,
        Heads = 1,
        MaxLength = 12,
        Dropout = 0.1f,
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 1e-2f,
        Patience = epochs,
        ItemIdDropout = 0.2f,
        SampledNegatives = 0,
        RefitEpochs = 1,
        Seed = 3,
    };

    public static StoredEvent Event(string user, string item, int day, EventType type = EventType.Purchase, long sequence = 0) => new()
    {
        Sequence = sequence,
        Id = $"{user}-{item}-{day}-{type}",
        UserId = user,
        Type = type,
        ItemId = item,
        Timestamp = Start.AddDays(day),
    };
}
