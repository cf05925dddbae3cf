using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Persona.Abstractions;
using Persona.Core.Import;
using Persona.Core.Models.Sequence;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>One row of a search evaluation table.</summary>
public sealed record SearchMetricRow(string Method, int Queries, double Mrr, double Ndcg10, double Hr10);

/// <summary>The result of a search evaluation, with how long each part took.</summary>
public sealed record SearchEvaluationReport
{
    public required string Dataset { get; init; }
    public required IReadOnlyList<SearchMetricRow> Rows { get; init; }
    public int Items { get; init; }
    public int SkippedQueries { get; init; }
    public double IndexSeconds { get; init; }
    public double EncoderSeconds { get; init; }
    public double EvaluateSeconds { get; init; }
    public RerankerWeights? Weights { get; init; }
    /// <summary>The text encoder's kind and version (<see cref="Persona.Text.ITextEncoder"/>).</summary>
    public string? Encoder { get; init; }
    /// <summary>Seconds spent training the sequence models whose user vectors re-rank (0 without them).</summary>
    public double SequenceSeconds { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Relative NDCG@10 gain of the last row over the one before it (hybrid + profile over hybrid).</summary>
    public double? PersonalLift => Rows.Count >= 3 && Rows[^2].Ndcg10 > 0 ? Rows[^1].Ndcg10 / Rows[^2].Ndcg10 - 1 : null;

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Search evaluation on {Dataset}: {Items:N0} items; index {IndexSeconds:0.00} s, encoder {Encoder} {EncoderSeconds:0.00} s, evaluation {EvaluateSeconds:0.0} s");
        if (SequenceSeconds > 0) sb.Append(CultureInfo.InvariantCulture, $", sequence models {SequenceSeconds:0} s");
        sb.AppendLine();
        sb.AppendLine();
        sb.AppendLine("| method | queries | MRR | NDCG@10 | HR@10 |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in Rows)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Method} | {r.Queries:N0} | {r.Mrr:0.0000} | {r.Ndcg10:0.0000} | {r.Hr10:0.0000} |");
        if (PersonalLift is { } lift) sb.AppendLine().Append(CultureInfo.InvariantCulture, $"Profile re-ranking lifts NDCG@10 by {lift:+0.0%;-0.0%} over hybrid.").AppendLine();
        if (Weights is { } w)
        {
            var list = string.Join(", ", PersonalReranker.FeatureNames.Select((n, i) => string.Create(CultureInfo.InvariantCulture, $"{n} {w.Weights[i]:0.###}")));
            sb.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Re-ranker weights ({w.Source}, {w.TrainingPairs:N0} pairs): {list}");
        }
        foreach (var note in Notes) sb.AppendLine().AppendLine(note);
        return sb.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions(PersonaJson.Options) { WriteIndented = true });
}

/// <summary>
/// The sequence models of the Beauty search protocol, one per evaluated step, each as a server would hold it then:
/// <see cref="ForValidation"/> trained on histories without their last item (its own refit stops before the validation
/// step), <see cref="ForTest"/> on whole histories (its refit stops before the test step).
/// </summary>
public sealed record SearchSequenceModels(SequenceModel ForValidation, SequenceModel ForTest)
{
    public const string ValidationFolder = "validation";
    public const string TestFolder = "test";

    /// <summary>The training runs when this evaluation trained the models (null when they were loaded).</summary>
    public SequenceTrainingResult? Validation { get; init; }
    public SequenceTrainingResult? Test { get; init; }

    /// <summary>Training seconds of both, from the runs or the stored manifests.</summary>
    public double Seconds =>
        (Validation?.Elapsed.TotalSeconds ?? ForValidation.Manifest?.Metrics.GetValueOrDefault("training_seconds") ?? 0)
        + (Test?.Elapsed.TotalSeconds ?? ForTest.Manifest?.Metrics.GetValueOrDefault("training_seconds") ?? 0);

    /// <summary>Stores both under <paramref name="folder"/> (<c>validation/</c>, <c>test/</c>).</summary>
    public void Save(string folder, SequenceTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (name, model, run) in new[] { (ValidationFolder, ForValidation, Validation), (TestFolder, ForTest, Test) })
            if ((run is null ? model.Manifest : SequenceModelManifest.For(run, options, model.Version, DateTimeOffset.UtcNow)) is { } manifest)
                model.Save(Path.Combine(folder, name), manifest);
    }

    /// <summary>Reads the two models <see cref="Save"/> stored.</summary>
    public static SearchSequenceModels Load(string folder) =>
        new(SequenceModel.Load(Path.Combine(folder, ValidationFolder)), SequenceModel.Load(Path.Combine(folder, TestFolder)));
}

/// <summary>
/// The search protocols of BENCHMARKS.md §2: Amazon Beauty (query = the held-out last item's category path, the
/// user's profile from what came before) and Taobao titles (query = product word + brand of a title; relevant = every
/// title holding both).
/// </summary>
public static class SearchEvaluator
{
    /// <summary>Results beyond this rank count as misses (MRR contribution under 1/100).</summary>
    private const int Depth = 100;

    /// <summary>
    /// Amazon Beauty. No leakage: for the test step, profiles, recent items and co-visitation counts come from every
    /// user's sequence without its last item, so a user's own test interaction is never seen; the re-ranker's
    /// weights are learned on the validation step (second-to-last item) with profiles and co-visitation built from
    /// sequences without their last two items. With <paramref name="sequenceTraining"/> sequence models are trained too,
    /// and their user vectors feed the re-ranker's sequence feature, as the server's do: one per step, each as a server
    /// would hold it then (<see cref="SearchSequenceModels"/>).
    /// </summary>
    public static async Task<SearchEvaluationReport> AmazonBeautyAsync(
        string directory, ProductSearchOptions? options = null, int maxUsers = 0, int trainUsers = 5000, int seed = 7,
        ITextEncoder? encoder = null, IProgress<string>? progress = null,
        SequenceTrainingOptions? sequenceTraining = null, IProgress<SequenceTrainingProgress>? sequenceProgress = null, CancellationToken cancellationToken = default)
    {
        var (report, _) = await AmazonBeautyWithModelAsync(directory, options, maxUsers, trainUsers, seed, encoder, progress, sequenceTraining, sequenceProgress, null, cancellationToken);
        return report;
    }

    /// <summary>
    /// <see cref="AmazonBeautyAsync"/> that also returns the sequence models it trained, or measures <paramref name="sequenceModels"/>
    /// (ones this protocol trained and stored earlier) instead of training them.
    /// </summary>
    public static async Task<(SearchEvaluationReport Report, SearchSequenceModels? Trained)> AmazonBeautyWithModelAsync(
        string directory, ProductSearchOptions? options, int maxUsers, int trainUsers, int seed, ITextEncoder? encoder, IProgress<string>? progress,
        SequenceTrainingOptions? sequenceTraining, IProgress<SequenceTrainingProgress>? sequenceProgress, SearchSequenceModels? sequenceModels, CancellationToken cancellationToken)
    {
        var (items, sequences) = await ReadAmazonBeautyAsync(directory, cancellationToken);
        if (maxUsers > 0 && sequences.Count > maxUsers) sequences = sequences.Take(maxUsers).ToList();

        options ??= new ProductSearchOptions();
        var clock = Stopwatch.StartNew();
        using var index = new ProductSearchIndex(options);
        index.Upsert(items);
        var indexSeconds = clock.Elapsed.TotalSeconds;
        progress?.Report($"indexed {items.Count:N0} items in {indexSeconds:0.00} s");
        clock.Restart();
        encoder = SetEncoder(index, items, encoder, cancellationToken);
        var encoderSeconds = clock.Elapsed.TotalSeconds;
        progress?.Report($"{encoder.Kind} encoder {encoder.Version}: items encoded in {encoderSeconds:0.00} s");
        clock.Restart();

        var catalog = CatalogSnapshot.Create(items);
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var models = sequenceModels;
        SearchSequenceModels? trained = null;
        if (models is null && sequenceTraining is not null)
        {
            var forValidation = TrainSequenceModel(sequences, items, heldOut: 1, sequenceTraining, sequenceProgress, cancellationToken);
            progress?.Report($"sequence model for the validation step: best epoch {forValidation.BestEpoch} of {forValidation.EpochsRun}, {forValidation.RefitEpochsRun} refit epoch(s), {forValidation.Elapsed.TotalSeconds:0} s");
            var forTest = TrainSequenceModel(sequences, items, heldOut: 0, sequenceTraining, sequenceProgress, cancellationToken);
            progress?.Report($"sequence model for the test step: best epoch {forTest.BestEpoch} of {forTest.EpochsRun}, {forTest.RefitEpochsRun} refit epoch(s), {forTest.Elapsed.TotalSeconds:0} s");
            models = trained = new SearchSequenceModels(forValidation.Model, forTest.Model) { Validation = forValidation, Test = forTest };
            clock.Restart();
        }
        var sequenceSeconds = models?.Seconds ?? 0;
        var cache = new ConcurrentDictionary<string, List<ProductSearchIndex.Candidate>>(StringComparer.Ordinal);
        List<ProductSearchIndex.Candidate> CandidatesFor(string query) =>
            cache.GetOrAdd(query, q => index.Candidates(index.Parse(q), new SearchRequest { Query = q }, catalog, options.CandidatePool));
        var semanticCache = new ConcurrentDictionary<string, string[]>(StringComparer.Ordinal);
        string[] SemanticFor(string query) => semanticCache.GetOrAdd(query, q => [.. index.SemanticOnly(q, Depth).Select(r => r.Item.Id)]);

        // Validation step: learn the re-ranker weights.
        var random = new Random(seed);
        var trainSet = sequences.Where(s => s.Items.Length >= 4).OrderBy(_ => random.Next()).Take(trainUsers).ToList();
        var validation = Context(sequences, drop: 2, catalog, index.Keys.Items, models?.ForValidation, byId);
        var pairs = new ConcurrentBag<(double[], double[])>();
        Parallel.ForEach(trainSet, new ParallelOptions { CancellationToken = cancellationToken }, s =>
        {
            var target = s.Items[^2];
            if (!byId.TryGetValue(target, out var item) || item.CategoryPath.Count == 0) return;
            var candidates = CandidatesFor(QueryOf(item));
            var at = candidates.FindIndex(c => c.Entry.Item.Id == target);
            if (at < 0 || at >= options.RerankDepth) return;
            var signals = index.PrepareSignals(validation.User(s.User, s.Items[..^2]), validation.CoVisitation, catalog);
            var rng = new Random(unchecked(seed * 31 + StableHash.Of(s.User)));
            var positive = new double[PersonalReranker.FeatureCount];
            PersonalReranker.Features(signals, candidates[at], positive);
            var head = Math.Min(Math.Min(options.RerankDepth, candidates.Count), 100);
            for (var k = 0; k < 10; k++)
            {
                var j = rng.Next(head);
                if (j == at) continue;
                var negative = new double[PersonalReranker.FeatureCount];
                PersonalReranker.Features(signals, candidates[j], negative);
                pairs.Add((positive, negative));
            }
        });
        var weights = PersonalReranker.Train(pairs.OrderBy(p => p.Item1[0]).ThenBy(p => p.Item2[0]).ToList());
        index.Weights = weights;
        progress?.Report($"learned re-ranker weights from {pairs.Count:N0} validation pairs");

        // Test step.
        var test = Context(sequences, drop: 1, catalog, index.Keys.Items, models?.ForTest, byId);
        var semantic = new Accumulator();
        var bm25 = new Accumulator();
        var hybrid = new Accumulator();
        var personal = new Accumulator();
        var skipped = 0;
        Parallel.ForEach(sequences, new ParallelOptions { CancellationToken = cancellationToken }, s =>
        {
            var target = s.Items[^1];
            if (!byId.TryGetValue(target, out var item) || item.CategoryPath.Count == 0)
            {
                Interlocked.Increment(ref skipped);
                return;
            }
            var candidates = CandidatesFor(QueryOf(item));
            semantic.Add(RankOf(SemanticFor(QueryOf(item)), target));
            var lexicalOrder = candidates.Where(c => c.Bm25 > 0).OrderByDescending(c => c.Bm25).ThenBy(c => c.Entry.Sequence).ToList();
            bm25.Add(RankOf(lexicalOrder.Select(c => c.Entry.Item.Id), target));
            hybrid.Add(RankOf(candidates.Select(c => c.Entry.Item.Id), target));
            var signals = index.PrepareSignals(test.User(s.User, s.Items[..^1]), test.CoVisitation, catalog);
            var scratch = new double[candidates.Count];
            var order = signals.IsEmpty ? Enumerable.Range(0, candidates.Count).ToArray() : PersonalReranker.Rerank(candidates, signals, weights.Weights, options.RerankDepth, scratch, options.PersonalCap);
            personal.Add(RankOf(order.Select(i => candidates[i].Entry.Item.Id), target));
        });
        return (new SearchEvaluationReport
        {
            Dataset = "amazon-beauty",
            Items = items.Count,
            SkippedQueries = skipped,
            IndexSeconds = indexSeconds,
            EncoderSeconds = encoderSeconds,
            EvaluateSeconds = clock.Elapsed.TotalSeconds,
            Weights = weights,
            Encoder = $"{encoder.Kind} {encoder.Version}",
            SequenceSeconds = sequenceSeconds,
            Rows = [semantic.Row($"semantic ({encoder.Kind})"), bm25.Row("BM25"), hybrid.Row($"hybrid ({options.Fusion.ToString().ToLowerInvariant()})"),
                personal.Row(models is null ? "hybrid + profile" : "hybrid + profile + sequence model")],
            Notes =
            [
                $"{sequences.Count:N0} users; {skipped:N0} whose held-out item has no category path are skipped (no query). "
                + "Profiles, recent items and co-visitation use each user's history before the held-out item only; weights were learned on the validation step."
                + (models is null ? "" : $" Sequence models ({sequenceSeconds:0} s of training in all): the validation step's learned every history without its last two items, "
                    + "the test step's every history without its last item, as a server would hold them then; neither learned the step it serves."),
            ],
        }, trained);
    }

    /// <summary>Puts <paramref name="encoder"/> in service, or one trained in-domain on <paramref name="items"/> when none is given.</summary>
    private static ITextEncoder SetEncoder(ProductSearchIndex index, List<Item> items, ITextEncoder? encoder, CancellationToken cancellationToken)
    {
        encoder ??= SemanticEncoder.Train(SemanticPairs.Build(items), cancellationToken: cancellationToken);
        index.SetEncoder(encoder);
        return encoder;
    }

    /// <summary>Beauty's catalog and its users' item sequences (users with at least two items), in file order.</summary>
    public static async Task<(List<Item> Items, List<(string User, string[] Items)> Sequences)> ReadAmazonBeautyAsync(string directory, CancellationToken cancellationToken)
    {
        var items = new List<Item>();
        await foreach (var r in new AmazonBeautyReader(directory).ReadItemsAsync(cancellationToken: cancellationToken))
            if (r.Record is { } record) items.Add(record.Value);
        var sequences = new List<(string User, string[] Items)>();
        foreach (var line in await File.ReadAllLinesAsync(Path.Combine(directory, AmazonBeautyReader.EventsFileName), cancellationToken))
        {
            var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length >= 3) sequences.Add((tokens[0], tokens[1..]));
        }
        return (items, sequences);
    }

    /// <summary>
    /// Trains the sequence model on every user's history without its last <paramref name="heldOut"/> items (the
    /// vocabulary is the whole catalog). The trainer holds out that history's last step itself (its validation and refit
    /// stop before it), so the model serving step −1 − heldOut never learned it.
    /// </summary>
    private static SequenceTrainingResult TrainSequenceModel(List<(string User, string[] Items)> sequences, List<Item> items, int heldOut,
        SequenceTrainingOptions options, IProgress<SequenceTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var events = new List<StoredEvent>();
        for (var line = 0; line < sequences.Count; line++)
        {
            var (user, all) = sequences[line];
            for (var i = 0; i < all.Length - heldOut; i++) events.Add(BeautyEvent(user, all[i], i, line));
        }
        var data = SequenceDataset.Build(events, items, new SequenceDataOptions { MergeRepeats = false });
        return SequenceTrainer.Train(data, options, progress, cancellationToken: cancellationToken);
    }

    /// <summary>The i-th purchase of a Beauty user as a stored event: a day apart, users spread over the minutes of a day.</summary>
    private static StoredEvent BeautyEvent(string user, string item, int i, int line) => new()
    {
        Id = $"beauty-{user}-{i}",
        UserId = user,
        Type = EventType.Purchase,
        ItemId = item,
        Timestamp = BeautyTime(i, line),
    };

    private static DateTimeOffset BeautyTime(int i, int line) => AmazonBeautyReader.Epoch.AddDays(i) + TimeSpan.FromMinutes(line % 1440);

    /// <summary>What personalisation may see at one step: profiles and co-visitation over sequences cut short by the evaluated step.</summary>
    private sealed class StepContext(ProfileBook book, ItemPairs coVisitation, SequenceModel? model, Dictionary<string, Item> items, Dictionary<string, int> lines)
    {
        public ItemPairs CoVisitation { get; } = coVisitation;

        public SearchUser User(string userId, string[] history)
        {
            float[]? embedding = null;
            if (model is not null)
            {
                var line = lines.GetValueOrDefault(userId);
                var steps = new List<SequenceStep>(history.Length);
                for (var i = 0; i < history.Length; i++)
                    if (items.TryGetValue(history[i], out var item)) steps.Add(new SequenceStep(item, EventType.Purchase, BeautyTime(i, line)));
                embedding = model.EncodeUser(steps);
            }
            return new()
            {
                UserId = userId,
                Profile = book.Build(userId),
                RecentItems = history.Length > 10 ? history[^10..] : history,
                Embedding = embedding,
                Model = embedding is null ? null : model,
            };
        }
    }

    private static StepContext Context(List<(string User, string[] Items)> sequences, int drop, CatalogSnapshot catalog, Persona.Core.State.KeyInterner items,
        SequenceModel? model = null, Dictionary<string, Item>? byId = null)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var line = 0; line < sequences.Count; line++) lines.TryAdd(sequences[line].User, line);
        var book = new ProfileBook(catalog: catalog);
        var coVisitation = new ItemPairs(items: items);
        var batch = new List<StoredEvent>(4096);
        for (var line = 0; line < sequences.Count; line++)
        {
            var (user, all) = sequences[line];
            var history = all[..^drop];
            coVisitation.AddSequence(history);
            for (var i = 0; i < history.Length; i++) batch.Add(BeautyEvent(user, history[i], i, line));
            if (batch.Count >= 4000)
            {
                book.Apply(batch);
                batch.Clear();
            }
        }
        book.Apply(batch);
        return new StepContext(book, coVisitation, model, byId ?? [], lines);
    }

    private static string QueryOf(Item item) => string.Join(' ', item.CategoryPath).ToLowerInvariant();

    /// <summary>1-based rank of <paramref name="target"/> in <paramref name="ids"/>; 0 beyond the evaluated depth (100).</summary>
    internal static int RankOf(IEnumerable<string> ids, string target)
    {
        var rank = 0;
        foreach (var id in ids)
        {
            if (++rank > Depth) return 0;
            if (id == target) return rank;
        }
        return 0;
    }

    /// <summary>
    /// Taobao titles: every title (train, dev and test files) is an item; each distinct (product word, brand) pair
    /// tagged in one title is a query "product brand"; relevant = every title containing both strings.
    /// </summary>
    public static Task<SearchEvaluationReport> TaobaoTitlesAsync(
        string directory, ProductSearchOptions? options = null, int maxQueries = 2000, int seed = 7,
        ITextEncoder? encoder = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var titles = new List<string>();
        var tagged = new List<(string Product, string Brand)>();
        foreach (var file in new[] { "train.txt", "dev.txt", "test.txt" })
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path)) continue;
            foreach (var (title, entities) in ReadBio(path))
            {
                titles.Add(title);
                var product = entities.FirstOrDefault(e => e.Tag == "HCCX").Text;
                var brand = entities.FirstOrDefault(e => e.Tag == "HPPX").Text;
                if (product is { Length: > 0 } && brand is { Length: > 0 }) tagged.Add((product, brand));
            }
        }
        var distinctTitles = titles.Distinct(StringComparer.Ordinal).ToList();
        var items = distinctTitles.Select((t, i) => new Item { Id = $"tb-{i}", Title = t }).ToList();
        var random = new Random(seed);
        var queries = tagged.Distinct().OrderBy(_ => random.Next()).Take(maxQueries).ToList();

        options ??= new ProductSearchOptions();
        var clock = Stopwatch.StartNew();
        using var index = new ProductSearchIndex(options);
        index.Upsert(items);
        var indexSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        encoder = SetEncoder(index, items, encoder, cancellationToken);
        var encoderSeconds = clock.Elapsed.TotalSeconds;
        progress?.Report($"indexed {items.Count:N0} titles; {encoder.Kind} encoder {encoder.Version}: encoded in {encoderSeconds:0.00} s");
        clock.Restart();

        var semantic = new Accumulator();
        var bm25 = new Accumulator();
        var hybrid = new Accumulator();
        Parallel.ForEach(queries, new ParallelOptions { CancellationToken = cancellationToken }, q =>
        {
            var relevant = new HashSet<string>(items.Where(i => i.Title.Contains(q.Product, StringComparison.Ordinal) && i.Title.Contains(q.Brand, StringComparison.Ordinal)).Select(i => i.Id), StringComparer.Ordinal);
            var text = q.Product + " " + q.Brand;
            var candidates = index.Candidates(index.Parse(text), new SearchRequest { Query = text });
            semantic.Add(index.SemanticOnly(text, Depth).Select(r => r.Item.Id), relevant);
            bm25.Add(candidates.Where(c => c.Bm25 > 0).OrderByDescending(c => c.Bm25).ThenBy(c => c.Entry.Sequence).Select(c => c.Entry.Item.Id), relevant);
            hybrid.Add(candidates.Select(c => c.Entry.Item.Id), relevant);
        });
        return Task.FromResult(new SearchEvaluationReport
        {
            Dataset = "taobao-titles-zh",
            Items = items.Count,
            IndexSeconds = indexSeconds,
            EncoderSeconds = encoderSeconds,
            EvaluateSeconds = clock.Elapsed.TotalSeconds,
            Encoder = $"{encoder.Kind} {encoder.Version}",
            Rows = [semantic.Row($"semantic ({encoder.Kind})"), bm25.Row("BM25"), hybrid.Row($"hybrid ({options.Fusion.ToString().ToLowerInvariant()})")],
            Notes = [$"{queries.Count:N0} distinct (product word, brand) queries; graded by every title holding both (binary relevance, NDCG@10 against the ideal order)."],
        });
    }

    /// <summary>Titles and their entities from a one-character-per-line BIO file.</summary>
    public static IEnumerable<(string Title, List<(string Tag, string Text)> Entities)> ReadBio(string path)
    {
        var title = new StringBuilder();
        var entities = new List<(string Tag, string Text)>();
        string? tag = null;
        var current = new StringBuilder();
        foreach (var raw in File.ReadLines(path).Append(""))
        {
            var line = raw.TrimEnd();
            if (line.Length == 0)
            {
                Close();
                if (title.Length > 0) yield return (title.ToString(), entities);
                title.Clear();
                entities = [];
                continue;
            }
            var space = line.LastIndexOf(' ');
            if (space <= 0) continue;
            var ch = line[..space];
            var label = line[(space + 1)..];
            title.Append(ch);
            if (label.StartsWith("B-", StringComparison.Ordinal))
            {
                Close();
                tag = label[2..];
                current.Append(ch);
            }
            else if (label.StartsWith("I-", StringComparison.Ordinal) && tag == label[2..])
            {
                current.Append(ch);
            }
            else
            {
                Close();
            }
        }

        void Close()
        {
            if (tag is not null && current.Length > 0) entities.Add((tag, current.ToString()));
            tag = null;
            current.Clear();
        }
    }

    /// <summary>Thread-safe sums of reciprocal rank, NDCG@10 and hits@10.</summary>
    internal sealed class Accumulator
    {
        private readonly Lock _lock = new();
        private double _mrr, _ndcg, _hr;
        private int _n;

        /// <summary>One query with one relevant item at 1-based <paramref name="rank"/> (0 = not found).</summary>
        public void Add(int rank)
        {
            lock (_lock)
            {
                _n++;
                if (rank <= 0) return;
                _mrr += 1.0 / rank;
                if (rank <= 10)
                {
                    _ndcg += 1 / Math.Log2(rank + 1);
                    _hr++;
                }
            }
        }

        /// <summary>One query with a set of relevant items: MRR of the first, NDCG@10 against the ideal, hit if any in the top 10.</summary>
        public void Add(IEnumerable<string> ranked, HashSet<string> relevant)
        {
            double dcg = 0, rr = 0;
            var hit = false;
            var rank = 0;
            foreach (var id in ranked)
            {
                if (++rank > Depth) break;
                if (!relevant.Contains(id)) continue;
                if (rr == 0) rr = 1.0 / rank;
                if (rank <= 10)
                {
                    dcg += 1 / Math.Log2(rank + 1);
                    hit = true;
                }
            }
            double ideal = 0;
            for (var k = 1; k <= Math.Min(10, relevant.Count); k++) ideal += 1 / Math.Log2(k + 1);
            lock (_lock)
            {
                _n++;
                _mrr += rr;
                _ndcg += ideal > 0 ? dcg / ideal : 0;
                if (hit) _hr++;
            }
        }

        public SearchMetricRow Row(string method) =>
            _n == 0 ? new SearchMetricRow(method, 0, 0, 0, 0) : new SearchMetricRow(method, _n, _mrr / _n, _ndcg / _n, _hr / _n);
    }
}
