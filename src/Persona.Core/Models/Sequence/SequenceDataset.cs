using System.Runtime.CompilerServices;
using Persona.Abstractions;

namespace Persona.Core.Models.Sequence;

/// <summary>One user's behaviour as item indices, event types and bucketed time gaps, oldest first.</summary>
public sealed record UserSequence(string UserId, int[] Items, byte[] Types, byte[] Gaps)
{
    public int Length => Items.Length;
}

/// <summary>Which events become sequence steps.</summary>
public sealed record SequenceDataOptions
{
    /// <summary>Event types that become steps (default: every type that names an item except impressions).</summary>
    public IReadOnlySet<EventType> EventTypes { get; init; } = DefaultEventTypes;

    /// <summary>
    /// Whether back-to-back events on one item become one step (with the latest event's type). On by default, for store
    /// events: a view, an add-to-cart and a purchase of one product in a row are one interaction whose strongest signal
    /// is the last, and as three steps they would teach the model to predict the product just seen (which the ranking
    /// excludes anyway). Off for a benchmark's sequence file, whose sequence is the data set as published: merging there
    /// would change the held-out item of every user who legitimately bought an item twice in a row.
    /// </summary>
    public bool MergeRepeats { get; init; } = true;

    public static IReadOnlySet<EventType> DefaultEventTypes { get; } = new HashSet<EventType>
    {
        EventType.View, EventType.Click, EventType.AddToCart, EventType.Favorite, EventType.Purchase, EventType.Rate, EventType.Review,
    };
}

/// <summary>
/// Every user's time-ordered interactions with the catalog, indexed by a <see cref="SequenceVocabulary"/>, with the
/// leave-one-out split: training targets are all but the last two steps, validation the second-to-last, test the last.
/// Repeated consecutive steps on one item collapse into one (the latest event's type) unless
/// <see cref="SequenceDataOptions.MergeRepeats"/> is off.
/// </summary>
public sealed class SequenceDataset
{
    /// <summary>Number of time-gap buckets (0 = first step, then 1 + ⌊log2(1 + minutes)⌋ capped).</summary>
    public const int GapBuckets = 32;

    /// <summary>Number of event-type ids (type + 1; 0 is padding).</summary>
    public static int TypeCount { get; } = Enum.GetValues<EventType>().Length + 1;

    public SequenceDataset(SequenceVocabulary vocabulary, IReadOnlyList<UserSequence> users, int[][] itemAttributes)
    {
        Vocabulary = vocabulary;
        Users = users;
        ItemAttributes = itemAttributes;
    }

    public SequenceVocabulary Vocabulary { get; }

    public IReadOnlyList<UserSequence> Users { get; }

    /// <summary>Attribute token indices per item index (row 0, padding, is empty).</summary>
    public int[][] ItemAttributes { get; }

    public int ItemCount => Vocabulary.ItemCount;

    public long StepCount => Users.Sum(u => (long)u.Length);

    /// <summary>Bucket of a gap between two steps.</summary>
    public static byte GapBucket(TimeSpan gap)
    {
        var minutes = Math.Max(0, gap.TotalMinutes);
        return (byte)Math.Min(GapBuckets - 1, 1 + (int)Math.Log2(1 + minutes));
    }

    /// <summary>Builds the data set from stored events (any order) and the catalog.</summary>
    public static SequenceDataset Build(IEnumerable<StoredEvent> events, IEnumerable<Item> catalog, SequenceDataOptions? options = null)
    {
        options ??= new SequenceDataOptions();
        var items = catalog as IReadOnlyCollection<Item> ?? catalog.ToList();
        var byUser = new Dictionary<string, List<StoredEvent>>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.ItemId is null || e.ExcludedReason is not null || !options.EventTypes.Contains(e.Type)) continue;
            if (!byUser.TryGetValue(e.UserId, out var list)) byUser[e.UserId] = list = [];
            list.Add(e);
        }

        var ids = items.Select(i => i.Id).Concat(byUser.Values.SelectMany(l => l.Select(e => e.ItemId!)));
        var vocabulary = SequenceVocabulary.Build(ids, items);
        var attributes = new int[vocabulary.ItemCount + 1][];
        Array.Fill(attributes, []);
        foreach (var item in items) attributes[vocabulary.ItemIndex(item.Id)] = vocabulary.AttributeIndices(item);
        attributes[0] = [];

        var users = new List<UserSequence>(byUser.Count);
        foreach (var (userId, list) in byUser.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            list.Sort((a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : a.Sequence.CompareTo(b.Sequence));
            var seqItems = new List<int>(list.Count);
            var types = new List<byte>(list.Count);
            var gaps = new List<byte>(list.Count);
            DateTimeOffset? previous = null;
            foreach (var e in list)
            {
                var index = vocabulary.ItemIndex(e.ItemId);
                if (options.MergeRepeats && seqItems.Count > 0 && seqItems[^1] == index)
                {
                    types[^1] = (byte)((int)e.Type + 1);
                    continue;
                }
                seqItems.Add(index);
                types.Add((byte)((int)e.Type + 1));
                gaps.Add(previous is { } p ? GapBucket(e.Timestamp - p) : (byte)0);
                previous = e.Timestamp;
            }
            users.Add(new UserSequence(userId, [.. seqItems], [.. types], [.. gaps]));
        }
        return new SequenceDataset(vocabulary, users, attributes);
    }

    /// <summary>
    /// The same data set with each user's newest <paramref name="steps"/> steps left out, keeping the users who still
    /// have <paramref name="minimumSteps"/> (the vocabulary stays, so a model of one fits the other).
    /// </summary>
    public SequenceDataset WithoutNewestSteps(int steps, int minimumSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var users = Users.Where(u => u.Length - steps >= minimumSteps)
            .Select(u => u with { Items = u.Items[..^steps], Types = u.Types[..^steps], Gaps = u.Gaps[..^steps] })
            .ToList();
        return new SequenceDataset(Vocabulary, users, ItemAttributes);
    }

    /// <summary>Reads every stored event and item of a store and builds the data set (the path of <c>persona train</c>).</summary>
    public static async Task<SequenceDataset> FromStoreAsync(IPersonaStore store, SequenceDataOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var items = await ToListAsync(store.ReadItemsAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        var events = await ToListAsync(store.ReadEventsAsync(0, cancellationToken), cancellationToken).ConfigureAwait(false);
        return Build(events, items, options);
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source, CancellationToken cancellationToken)
    {
        var list = new List<T>();
        await foreach (var x in source.WithCancellation(cancellationToken).ConfigureAwait(false)) list.Add(x);
        return list;
    }

    /// <summary>Number of steps of the user's history for a split (the held-out step is at that index): length − 2 for validation, length − 1 for test.</summary>
    public static int HistoryLength(UserSequence user, NextItemSplit split) => split switch
    {
        NextItemSplit.Validation => user.Length - 2,
        NextItemSplit.Test => user.Length - 1,
        _ => throw new SwitchExpressionException(split),
    };
}

/// <summary>Which held-out step of the leave-one-out split is predicted.</summary>
public enum NextItemSplit
{
    /// <summary>The second-to-last step, from the steps before it.</summary>
    Validation,

    /// <summary>The last step, from all the steps before it (the validation step included).</summary>
    Test,
}
