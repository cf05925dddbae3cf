using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persona.Abstractions;
using Persona.Core.Evaluation.NextItem;
using Persona.Core.Models.Sequence;
using Persona.Core.Ranking;

namespace Persona.Hosting.Recommendations;

/// <summary>
/// The next-item protocol run through the recommender as served: every user's events before the held-out step go into
/// a fresh store through the bulk import path, a <see cref="RecommendationService"/> with the given model loads it as
/// the server would, and each user's list (top 20, seen items excluded) is asked for exactly as the API asks. Ranks
/// beyond the list count as misses, which is what HR@20 and NDCG@20 need.
/// </summary>
public static class ServedNextItemEvaluation
{
    /// <summary>Length of each user's list: the deepest cut-off the table reports.</summary>
    public const int ListLength = 20;

    public static async Task<NextItemMetrics> EvaluateAsync(
        IReadOnlyList<StoredEvent> events, IReadOnlyList<Item> items, SequenceDataset data, bool mergesRepeats, ISequenceModel? model, NextItemSplit split,
        RecommendationOptions? options = null, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(data);
        var history = HistoryEvents(events, data, mergesRepeats, split, out var targets);
        var folder = Directory.CreateTempSubdirectory("persona-served-eval-");
        try
        {
            var personaOptions = new PersonaOptions { DataDirectory = folder.FullName };
            await using var engine = new PersonaEngine(PersonaStores.Create(personaOptions), Options.Create(personaOptions), TimeProvider.System, NullLogger<PersonaEngine>.Instance);
            await engine.StartAsync(progress: null, cancellationToken).ConfigureAwait(false);
            if (await engine.UpsertItemsBulkAsync(items, cancellationToken).ConfigureAwait(false) is { Count: > 0 } problems)
                throw new InvalidDataException("Items of the data set were refused: " + string.Join("; ", problems.Take(5)));
            await engine.AppendBulkAsync(Chunks(engine, history), progress: null, cancellationToken).ConfigureAwait(false);

            // No answer cache and no warm-up: every list is computed for its own request.
            var recommendationOptions = options ?? new RecommendationOptions();
            recommendationOptions.CacheSeconds = 0;
            recommendationOptions.WarmUsers = 0;
            var service = new RecommendationService(engine, Options.Create(recommendationOptions), model is null ? null : new FixedModel(model));
            await service.LoadAsync(cancellationToken).ConfigureAwait(false);

            var users = targets.Keys.ToArray();
            var ranks = new int[users.Length];
            var lists = new int[users.Length][];
            var done = 0;
            var query = new RecommendationQuery { Count = ListLength, ExcludeSeen = true };
            Parallel.For(0, users.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                var user = data.Users[users[i]];
                var list = service.Recommend(engine.UserIds.ToStored(user.UserId), query).Items;
                var indices = list.Select(r => data.Vocabulary.ItemIndex(r.ItemId)).ToArray();
                var rank = Array.IndexOf(indices, targets[users[i]]);
                ranks[i] = rank;
                lists[i] = indices.Take(NextItemMetrics.ListLength).ToArray();
                var n = Interlocked.Increment(ref done);
                if (n % 1000 == 0) progress?.Report((n, users.Length));
            });
            return new NextItemMetrics(ranks, lists, data.ItemCount);
        }
        finally
        {
            try
            {
                folder.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is harmless.
            }
        }
    }

    /// <summary>
    /// Each user's events before the held-out step of <paramref name="split"/>, in the data set's step order (with
    /// <paramref name="mergesRepeats"/>, as the data set was built, repeats merged into a step stay with it);
    /// <paramref name="targets"/> maps data-set user → target item index.
    /// </summary>
    public static List<StoredEvent> HistoryEvents(IReadOnlyList<StoredEvent> events, SequenceDataset data, bool mergesRepeats, NextItemSplit split, out Dictionary<int, int> targets)
    {
        var userIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var u = 0; u < data.Users.Count; u++) userIndex[data.Users[u].UserId] = u;
        var byUser = new Dictionary<int, List<StoredEvent>>();
        foreach (var e in events)
        {
            if (e.ItemId is null || !userIndex.TryGetValue(e.UserId, out var u)) continue;
            if (!byUser.TryGetValue(u, out var list)) byUser[u] = list = [];
            list.Add(e);
        }
        targets = [];
        var history = new List<StoredEvent>(events.Count);
        foreach (var (u, list) in byUser)
        {
            var user = data.Users[u];
            var h = SequenceDataset.HistoryLength(user, split);
            if (h < 1) continue;
            targets[u] = user.Items[h];
            list.Sort((a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : a.Sequence.CompareTo(b.Sequence));
            // Walk the steps as the data set built them; the event that starts step h is where the history ends.
            var step = -1;
            var last = -1;
            foreach (var e in list)
            {
                var index = data.Vocabulary.ItemIndex(e.ItemId);
                if (!(step >= 0 && index == last && mergesRepeats))
                {
                    step++;
                    last = index;
                }
                if (step >= h) break;
                history.Add(e);
            }
        }
        history.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return history;
    }

    private static async IAsyncEnumerable<StoredEvent[]> Chunks(PersonaEngine engine, List<StoredEvent> history)
    {
        var receivedAt = DateTimeOffset.UtcNow;
        for (var i = 0; i < history.Count; i += PersonaEngine.BulkChunkEvents)
        {
            var chunk = history.Skip(i).Take(PersonaEngine.BulkChunkEvents).Select(e => new Event
            {
                Id = e.Id,
                UserId = e.UserId,
                Type = e.Type,
                ItemId = e.ItemId,
                Value = e.Value,
                Timestamp = e.Timestamp,
            }).ToList();
            yield return engine.NormalizeValidated(chunk, receivedAt);
            await Task.Yield();
        }
    }

    private sealed class FixedModel(ISequenceModel model) : ISequenceModelProvider
    {
        public ISequenceModel? Current => model;
    }
}
