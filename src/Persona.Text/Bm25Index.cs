using System.Buffers;

namespace Persona.Text;

/// <summary>
/// An in-memory inverted index scored with BM25F over several weighted fields. A document's score for a query is
/// <c>Σ_terms qtf · idf(t) · t̃f·(k1+1) / (t̃f + k1)</c> where <c>t̃f = Σ_fields w_f · tf_f / (1 − b + b·len_f/avglen_f)</c>
/// and <c>idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5))</c>, df counting documents that hold the term in any field.
/// Documents are added, replaced and removed one at a time; a change is visible to the next query.
/// Many readers run at once; a writer waits for them and blocks them briefly. A removed document's postings stay in
/// their lists, skipped by queries, until a list holds one dead document for every seven live ones and is swept: so
/// replacing a document costs its own terms, not the lengths of their lists (a word every item shares would otherwise
/// cost a scan of the catalog). Its ordinal is reused once no list refers to it.
/// </summary>
public sealed class Bm25Index : IDisposable
{
    private readonly Bm25Options _options;
    private readonly double[] _weights;
    private readonly int _fields;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, TermEntry> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _ordinals = new(StringComparer.Ordinal);
    private readonly List<Doc?> _docs = [];
    // Field lengths by document ordinal, (docs, fields) row-major: read per posting, so kept flat rather than behind each Doc.
    // A removed document's lengths are -1: its postings, not yet swept, are skipped.
    private int[] _lengths = [];
    // For a removed document's ordinal: how many term lists still hold its postings (free again at 0).
    private int[] _unswept = [];
    // When each document ordinal's id was first indexed (the score tie-break), flat for the same reason.
    private long[] _sequences = [];
    private readonly Stack<int> _free = new();
    private readonly long[] _totalLength;
    private int _count;
    private long _nextSequence;

    public Bm25Index(Bm25Options? options = null)
    {
        _options = options ?? new Bm25Options();
        _options.Validate();
        _weights = [.. _options.FieldWeights];
        _fields = _weights.Length;
        _totalLength = new long[_fields];
    }

    public Bm25Options Options => _options;

    /// <summary>Documents in the index.</summary>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try { return _count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>Distinct terms in the index.</summary>
    public int TermCount
    {
        get
        {
            _lock.EnterReadLock();
            try { return _terms.Count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    public bool Contains(string id)
    {
        _lock.EnterReadLock();
        try { return _ordinals.ContainsKey(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Adds a document or replaces the one with the same id. <paramref name="fieldTerms"/>[f] are the analysed terms of field f.</summary>
    public void Upsert(string id, IReadOnlyList<IReadOnlyList<string>> fieldTerms)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(fieldTerms);
        if (fieldTerms.Count != _fields) throw new ArgumentException($"Expected {_fields} fields, got {fieldTerms.Count}.", nameof(fieldTerms));
        // Count outside the lock: (term, field) → tf.
        var counts = new Dictionary<(string Term, int Field), int>();
        var lengths = new int[_fields];
        for (var f = 0; f < _fields; f++)
        {
            foreach (var t in fieldTerms[f])
            {
                counts[(t, f)] = counts.GetValueOrDefault((t, f)) + 1;
                lengths[f]++;
            }
        }
        _lock.EnterWriteLock();
        try
        {
            var sequence = _nextSequence++;
            if (_ordinals.TryGetValue(id, out var existing))
            {
                sequence = _docs[existing]!.Sequence;
                RemoveLocked(existing);
            }
            var ordinal = _free.Count > 0 ? _free.Pop() : _docs.Count;
            // The document keeps its terms' entries, not the analysed strings: a term's text is then held once.
            var distinct = new HashSet<TermEntry>();
            foreach (var ((term, field), tf) in counts)
            {
                if (!_terms.TryGetValue(term, out var entry)) _terms[term] = entry = new TermEntry(term);
                entry.Add(new Posting(ordinal, (ushort)Math.Min(tf, ushort.MaxValue), (byte)field));
                if (distinct.Add(entry)) entry.DocumentFrequency++;
            }
            var doc = new Doc(id, [.. distinct], sequence);
            if (ordinal == _docs.Count) _docs.Add(doc);
            else _docs[ordinal] = doc;
            if (_lengths.Length < _docs.Count * _fields) Array.Resize(ref _lengths, Math.Max(_docs.Count * _fields, 2 * _lengths.Length));
            lengths.CopyTo(_lengths.AsSpan(ordinal * _fields, _fields));
            if (_sequences.Length < _docs.Count)
            {
                Array.Resize(ref _sequences, Math.Max(_docs.Count, 2 * _sequences.Length));
                Array.Resize(ref _unswept, _sequences.Length);
            }
            _sequences[ordinal] = sequence;
            _ordinals[id] = ordinal;
            for (var f = 0; f < _fields; f++) _totalLength[f] += lengths[f];
            _count++;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes a document; false when it was not indexed.</summary>
    public bool Remove(string id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_ordinals.TryGetValue(id, out var ordinal)) return false;
            RemoveLocked(ordinal);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void RemoveLocked(int ordinal)
    {
        var doc = _docs[ordinal]!;
        for (var f = 0; f < _fields; f++) _totalLength[f] -= _lengths[ordinal * _fields + f];
        _lengths.AsSpan(ordinal * _fields, _fields).Fill(-1);
        _docs[ordinal] = null;
        _ordinals.Remove(doc.Id);
        _count--;
        _unswept[ordinal] = doc.Terms.Length;
        if (doc.Terms.Length == 0) _free.Push(ordinal);
        foreach (var entry in doc.Terms)
        {
            entry.DocumentFrequency--;
            entry.DeadDocuments++;
            if (entry.DocumentFrequency == 0 || entry.DeadDocuments * 8 >= entry.DocumentFrequency + entry.DeadDocuments) Sweep(entry);
        }
    }

    /// <summary>Drops the postings of removed documents from one term's list; an ordinal no list refers to any more is free.</summary>
    private void Sweep(TermEntry entry)
    {
        var swept = new HashSet<int>();
        var lengths = _lengths;
        var fields = _fields;
        entry.RemoveWhere(p =>
        {
            if (lengths[p.Doc * fields] >= 0) return false;
            swept.Add(p.Doc);
            return true;
        });
        foreach (var ordinal in swept)
            if (--_unswept[ordinal] == 0) _free.Push(ordinal);
        entry.DeadDocuments = 0;
        if (entry.DocumentFrequency == 0) _terms.Remove(entry.Term);
    }

    /// <summary>
    /// The <paramref name="top"/> best documents for the query terms, best first (ties: the earlier indexed first), leaving out those
    /// <paramref name="filter"/> rejects and those scoring below <paramref name="minShare"/> of the best returned.
    /// Documents matching no term are never returned.
    /// </summary>
    /// <remarks>
    /// A share above 0 lets a word nearly every document holds (its idf near 0) stop adding documents as soon as it cannot
    /// lift one to that share of the best so far, instead of filling the top with everything holding it.
    /// </remarks>
    public List<ScoredDocument> Search(IReadOnlyList<string> queryTerms, int top, Func<string, bool>? filter = null, double minShare = 0)
    {
        ArgumentNullException.ThrowIfNull(queryTerms);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        if (!double.IsFinite(minShare) || minShare is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(minShare), minShare, "minShare must be in [0, 1].");
        var result = new List<ScoredDocument>();
        if (top == 0 || queryTerms.Count == 0) return result;
        var qtf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in queryTerms) qtf[t] = qtf.GetValueOrDefault(t) + 1;

        // Taken before the lock: a query waiting for buffers holds nothing a writer needs.
        var scratch = Scratch.Rent();
        _lock.EnterReadLock();
        try
        {
            if (_count == 0) return result;
            var n = _docs.Count;
            scratch.EnsureLength(n);
            // Both arrays are all zero between queries: every entry set below is reset before returning.
            var scores = scratch.Scores;
            var pseudo = scratch.Pseudo;
            var touched = scratch.Touched;
            var termDocs = scratch.TermDocs;
            var inverseAverage = new double[_fields];
            for (var f = 0; f < _fields; f++) inverseAverage[f] = 1 / Math.Max(1e-9, (double)_totalLength[f] / _count);
            var k1 = _options.K1;
            var b = _options.B;
            var lengths = _lengths;
            try
            {
                // Terms by the most they can add to a document (qtf · idf · (k1 + 1), a saturated tf), rarest first.
                var terms = new List<(TermEntry Entry, int Q, double Idf, double Bound)>(qtf.Count);
                var remaining = 0.0;
                foreach (var (term, q) in qtf)
                {
                    if (!_terms.TryGetValue(term, out var entry)) continue;
                    var idf = Idf(_count, entry.DocumentFrequency);
                    terms.Add((entry, q, idf, q * idf * (k1 + 1)));
                    remaining += q * idf * (k1 + 1);
                }
                terms.Sort(static (x, y) => y.Bound.CompareTo(x.Bound));
                var best = 0.0; // the best score so far: scores only grow, so the final best is at least this
                foreach (var (entry, q, idf, bound) in terms)
                {
                    // Pruning (the "continue" strategy of term-at-a-time evaluation): once even this term and all after
                    // it together cannot lift a document no earlier term matched above the `top`-th score so far, they
                    // only add to the documents already scored. A word every item shares then costs a pass over its
                    // postings instead of scoring, collecting and ranking the whole catalog. Without a filter only: the
                    // filter may reject the documents that set the bar.
                    var addNew = filter is not null || remaining >= Math.Max(KthScore(scores, touched, top, scratch), minShare * best);
                    remaining -= bound;
                    termDocs.Clear();
                    // BM25F: per document, the field-weighted, length-normalised term frequency is summed over fields
                    // first and saturated once, so a term repeated across title and category does not count twice in full.
                    var postings = entry.Postings;
                    if (!addNew && entry.Sorted && (long)touched.Count * LookupFactor < postings.Length)
                    {
                        // Few documents can still gain, and this term is in many: find each one's postings by binary
                        // search (the list ascends by document) instead of passing over the whole list.
                        foreach (var d in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(touched))
                            for (var i = TermEntry.FirstOf(postings, d); i < postings.Length && postings[i].Doc == d; i++)
                                Accumulate(postings[i]);
                    }
                    else
                    {
                        foreach (var p in postings)
                            if (addNew || scores[p.Doc] != 0) Accumulate(p);
                    }
                    foreach (var d in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(termDocs))
                    {
                        var tf = pseudo[d];
                        pseudo[d] = 0;
                        if (scores[d] == 0) touched.Add(d);
                        scores[d] += q * idf * tf * (k1 + 1) / (tf + k1);
                        best = Math.Max(best, scores[d]);
                    }
                }
                void Accumulate(Posting p)
                {
                    var w = _weights[p.Field];
                    var length = lengths[p.Doc * _fields + p.Field];
                    if (w == 0 || length < 0) return;
                    if (pseudo[p.Doc] == 0) termDocs.Add(p.Doc);
                    pseudo[p.Doc] += w * p.Tf / (1 - b + b * length * inverseAverage[p.Field]);
                }

                // Min-heap of the best `top` so far: O(matches · log top).
                var heap = new PriorityQueue<int, (double Score, long Sequence)>(top + 1, WorstFirst.Instance);
                var sequences = _sequences;
                foreach (var d in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(touched))
                {
                    var s = scores[d];
                    if (s <= 0) continue;
                    var key = (s, sequences[d]);
                    // Not better than the worst kept: skip before the filter, which may cost a lookup.
                    if (heap.Count == top && heap.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare(key, worst) <= 0) continue;
                    if (filter is not null && !filter(_docs[d]!.Id)) continue;
                    if (heap.Count < top) heap.Enqueue(d, key);
                    else heap.EnqueueDequeue(d, key);
                }
                while (heap.TryDequeue(out var doc, out var entry)) result.Add(new ScoredDocument(_docs[doc]!.Id, entry.Score));
                result.Reverse();
                if (minShare > 0 && result.Count > 0)
                {
                    var floor = minShare * result[0].Score;
                    var kept = result.FindLastIndex(d => d.Score >= floor) + 1;
                    result.RemoveRange(kept, result.Count - kept);
                }
                return result;
            }
            finally
            {
                foreach (var d in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(touched)) scores[d] = 0;
                foreach (var d in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(termDocs)) pseudo[d] = 0;
                touched.Clear();
                termDocs.Clear();
            }
        }
        finally
        {
            _lock.ExitReadLock();
            Scratch.Return(scratch);
        }
    }

    // A pruned term's postings are looked up per scored document when the list is this many times longer than the
    // scored documents: each lookup is a binary search of about log2(postings) steps against one step per posting.
    private const int LookupFactor = 16;

    // Scores of at most this many documents are ranked to find the bar of pruning: a lower bar (from a subset) is still
    // a safe one, and ranking every document a common first term touched would cost what pruning saves.
    private const int BarSample = 65_536;

    /// <summary>
    /// A lower bound of the <paramref name="top"/>-th best score among the touched documents: the <paramref name="top"/>-th
    /// best of the first <see cref="BarSample"/> of them. Scores only grow as terms are added, so it stays a lower bound.
    /// </summary>
    private static double KthScore(double[] scores, List<int> touched, int top, Scratch scratch)
    {
        var n = Math.Min(touched.Count, BarSample);
        if (n < top) return 0;
        var sample = scratch.Sample(n);
        for (var i = 0; i < n; i++) sample[i] = scores[touched[i]];
        return Persona.Numerics.Selection.KthLargest(sample, top);
    }

    /// <summary>
    /// Score accumulators, all zero between queries, so a query costs what it touches rather than a clear of every
    /// document's slot: two arrays of the catalog's size each. A few per core are lent, one query at a time, and a query
    /// beyond that waits for one: queries scoring on more threads than that would not end sooner on these cores, and
    /// buffers for each of them (one per thread before) would multiply the memory and, allocated as large objects,
    /// bring on full collections.
    /// </summary>
    private sealed class Scratch
    {
        private static readonly int Lent = Math.Max(4, 2 * Environment.ProcessorCount);
        private static readonly SemaphoreSlim Available = new(Lent, Lent);
        private static readonly System.Collections.Concurrent.ConcurrentBag<Scratch> Pool = [];

        public double[] Scores { get; private set; } = [];
        public double[] Pseudo { get; private set; } = [];
        public List<int> Touched { get; } = [];
        public List<int> TermDocs { get; } = [];
        private double[] _sample = [];

        /// <summary>A buffer of <paramref name="length"/> scores for <see cref="KthScore"/>.</summary>
        public Span<double> Sample(int length)
        {
            if (_sample.Length < length) _sample = new double[Math.Max(length, 2 * _sample.Length)];
            return _sample.AsSpan(0, length);
        }

        public static Scratch Rent()
        {
            Available.Wait();
            return Pool.TryTake(out var scratch) ? scratch : new Scratch();
        }

        public static void Return(Scratch scratch)
        {
            Pool.Add(scratch);
            Available.Release();
        }

        public void EnsureLength(int documents)
        {
            if (Scores.Length >= documents) return;
            var size = Math.Max(documents, 2 * Scores.Length);
            Scores = new double[size];
            Pseudo = new double[size];
        }
    }

    /// <summary>BM25 idf, never negative: ln(1 + (N − df + 0.5)/(df + 0.5)).</summary>
    public static double Idf(int documents, int documentFrequency) =>
        Math.Log(1 + (documents - documentFrequency + 0.5) / (documentFrequency + 0.5));

    public void Dispose() => _lock.Dispose();

    /// <summary>Orders (score, sequence) worst first: lower score, then the later indexed, so equal scores rank oldest first.</summary>
    private sealed class WorstFirst : IComparer<(double Score, long Sequence)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((double Score, long Sequence) x, (double Score, long Sequence) y)
        {
            var c = x.Score.CompareTo(y.Score);
            return c != 0 ? c : y.Sequence.CompareTo(x.Sequence);
        }
    }

    /// <summary>8 bytes: a term frequency above 65,535 in one field is counted as 65,535 (BM25 has long saturated there).</summary>
    private readonly record struct Posting(int Doc, ushort Tf, byte Field);

    /// <summary>A term's postings in one array that starts at one slot (most terms of a large catalog occur once or twice).</summary>
    private sealed class TermEntry(string term)
    {
        private Posting[] _postings = new Posting[1];
        private int _count;

        public string Term { get; } = term;
        public ReadOnlySpan<Posting> Postings => _postings.AsSpan(0, _count);

        /// <summary>
        /// True while the postings ascend by document: documents are numbered in order as they come, so until a removed
        /// document's number is reused a list stays sorted; a sweep sorts it again.
        /// </summary>
        public bool Sorted { get; private set; } = true;

        public void Add(Posting posting)
        {
            if (_count == _postings.Length) Array.Resize(ref _postings, 2 * _count);
            if (_count > 0 && posting.Doc < _postings[_count - 1].Doc) Sorted = false;
            _postings[_count++] = posting;
        }

        public void RemoveWhere(Func<Posting, bool> remove)
        {
            var kept = 0;
            for (var i = 0; i < _count; i++)
                if (!remove(_postings[i])) _postings[kept++] = _postings[i];
            _count = kept;
            if (_count <= _postings.Length / 4) Array.Resize(ref _postings, Math.Max(1, _count));
            if (Sorted) return;
            // Stable, so a document's postings keep their order (its fields' terms are summed in that order).
            var sorted = _postings.AsSpan(0, _count).ToArray().OrderBy(p => p.Doc).ToArray();
            sorted.CopyTo(_postings, 0);
            Sorted = true;
        }

        /// <summary>The index of the first of <paramref name="postings"/> (ascending by document) whose document is at least <paramref name="doc"/>.</summary>
        public static int FirstOf(ReadOnlySpan<Posting> postings, int doc)
        {
            int low = 0, high = postings.Length;
            while (low < high)
            {
                var middle = (low + high) >>> 1;
                if (postings[middle].Doc < doc) low = middle + 1;
                else high = middle;
            }
            return low;
        }

        /// <summary>Live documents holding the term.</summary>
        public int DocumentFrequency { get; set; }
        /// <summary>Removed documents whose postings are still in <see cref="Postings"/>.</summary>
        public int DeadDocuments { get; set; }
    }

    /// <summary><paramref name="Sequence"/>: when the id was first indexed (kept on replace); breaks score ties like a docid.</summary>
    private sealed record Doc(string Id, TermEntry[] Terms, long Sequence);
}
