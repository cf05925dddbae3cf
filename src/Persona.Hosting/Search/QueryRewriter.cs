using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Search;
using Persona.Generative;
using Persona.Hosting.Generative;
using Persona.Text;

namespace Persona.Hosting;

/// <summary>
/// How a search's query was understood when a rewrite was tried: <c>model</c> (the endpoint's checked answer) or
/// <c>parser</c> (the search's own parser, because the model timed out, failed or gave an answer that did not check:
/// <see cref="Reason"/> says which, never with the key).
/// </summary>
public sealed record QueryRewrite(string Source, double ElapsedMs, string? Reason = null, bool Cached = false)
{
    public const string ModelSource = "model";
    public const string ParserSource = "parser";

    /// <summary>The model that answered (as the endpoint names it); null when the parser answered.</summary>
    public string? Model { get; init; }
}

/// <summary>The request to search with (carrying the model's reading when it was accepted) and what the rewrite did; null when none was tried.</summary>
public sealed record RewrittenSearch(SearchRequest Request, QueryRewrite? Rewrite);

/// <summary>
/// Query rewriting (docs/generative.md, step 3): a long natural-language query ("送给妈妈的保湿面霜，两百块以内") is sent with
/// a bounded catalog vocabulary to the configured endpoint, and its checked answer (categories, brands, price range,
/// keywords) becomes the parsed query the index searches with. The wait is bounded by
/// <see cref="GenerativeOptions.RewriteBudgetMilliseconds"/>; on timeout, error or an answer that does not check, the
/// search answers from its own parser and says so. Without an endpoint nothing is sent and searches are as before.
/// </summary>
public sealed class QueryRewriter
{
    /// <summary>The parser's best hits whose categories and brands are offered to the model (the query's own neighbourhood).</summary>
    public const int RelatedHits = 20;

    /// <summary>Categories offered at most: the related ones first, then the catalog's largest of depth 1 and 2.</summary>
    public const int MaxCategories = 100;

    /// <summary>Brands offered at most: the related ones first, then the catalog's most frequent.</summary>
    public const int MaxBrands = 80;

    /// <summary>Catalogs up to this size have their overall vocabulary counted on the first rewrite; larger ones in the background.</summary>
    private const int CountInlineUpTo = 50_000;

    private static readonly TimeSpan RecountAfter = TimeSpan.FromMinutes(1);

    private readonly GenerativeEndpoint? _endpoint;
    private readonly ILogger _logger;
    private volatile CatalogTerms? _terms;
    private int _counting;

    /// <param name="endpoint">The configured endpoint; null or without a client: rewriting is off.</param>
    /// <param name="logger">Where a failed count of the catalog's vocabulary is written.</param>
    public QueryRewriter(GenerativeEndpoint? endpoint, ILogger<QueryRewriter>? logger = null)
    {
        _endpoint = endpoint;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Whether <paramref name="query"/> would be sent: an endpoint, rewriting on, and enough characters (spaces excluded).</summary>
    /// <param name="query">The query as typed.</param>
    public bool Applies(string query) =>
        _endpoint is { Client: not null, Options: { QueryRewriting: true } options }
        && query.Count(c => !char.IsWhiteSpace(c)) >= options.RewriteMinCharacters;

    /// <summary>
    /// The request to search with: unchanged (and no report) when the query is not rewritten; with the model's reading
    /// when its answer checked; unchanged with a <c>parser</c> report otherwise. Throws only when
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="index">The index searched: its vocabulary bounds the answer, and its parser is the fallback.</param>
    /// <param name="catalog">The catalog snapshot the search will use (price percentiles).</param>
    /// <param name="request">The search as asked.</param>
    /// <param name="cancellationToken">The request's.</param>
    public async Task<RewrittenSearch> RewriteAsync(ProductSearchIndex index, CatalogSnapshot? catalog, SearchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(request);
        if (!Applies(request.Query)) return new RewrittenSearch(request, null);
        var client = _endpoint!.Client!;
        var budgetMs = _endpoint.Options.RewriteBudgetMilliseconds;
        var clock = Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(budgetMs);
        // The parser's reading and best hits: the fallback (the same request, so the search after this one reuses its
        // candidates from the index's cache) and the neighbourhood the model's vocabulary is drawn from.
        var own = index.Search(request with { Understood = null }, user: null, catalog);
        var vocabulary = Vocabulary(index, own);
        try
        {
            var (answer, cached) = await client.CompleteCachedAsync(
                QueryRewritePrompt.Messages(request.Query, vocabulary), QueryRewritePrompt.ChatOptions(),
                a => QueryRewritePrompt.Check(a.Text, vocabulary).Accepted, budget.Token);
            var check = QueryRewritePrompt.Check(answer.Text, vocabulary);
            if (check.Intent is not { } intent) return Parser(request, clock, "rejected: " + check.Problem);
            return new RewrittenSearch(request with { Understood = Merge(own.Query, intent) },
                new QueryRewrite(QueryRewrite.ModelSource, Elapsed(clock), Cached: cached) { Model = answer.Model ?? client.Options.Model });
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Parser(request, clock, string.Create(CultureInfo.InvariantCulture, $"timeout: no answer within {budgetMs} ms"));
        }
        catch (GenerativeUnavailableException ex)
        {
            return Parser(request, clock, "error: " + ex.Message);
        }
    }

    private static RewrittenSearch Parser(SearchRequest request, Stopwatch clock, string reason) =>
        new(request, new QueryRewrite(QueryRewrite.ParserSource, Elapsed(clock), reason));

    private static double Elapsed(Stopwatch clock) => Math.Round(clock.Elapsed.TotalMilliseconds, 1);

    /// <summary>
    /// The model's reading over the parser's: its keywords are the text matched; its price range replaces the parser's
    /// when it gives one; its brands and categories come first, the ones the parser spotted by name stay.
    /// </summary>
    private static ParsedQuery Merge(ParsedQuery parsed, QueryIntent intent)
    {
        var priced = intent.PriceMin is not null || intent.PriceMax is not null;
        return parsed with
        {
            Text = TextNormalizer.Normalize(intent.Keywords),
            PriceMin = priced ? intent.PriceMin : parsed.PriceMin,
            PriceMax = priced ? intent.PriceMax : parsed.PriceMax,
            Brands = [.. intent.Brands.Union(parsed.Brands, StringComparer.Ordinal)],
            Categories = [.. intent.Categories.Union(parsed.Categories, StringComparer.Ordinal)
                .OrderByDescending(k => k.Split(CategoryPaths.Separator).Length).ThenBy(k => k, StringComparer.Ordinal)],
        };
    }

    /// <summary>
    /// What the model may name: the categories (every level) and brands of the parser's best hits and the names the
    /// parser spotted, then the catalog's largest top categories and most frequent brands, up to
    /// <see cref="MaxCategories"/> and <see cref="MaxBrands"/>.
    /// </summary>
    private RewriteVocabulary Vocabulary(ProductSearchIndex index, SearchResult own)
    {
        var terms = Terms(index);
        var categories = new Dictionary<string, RewriteCategory>(StringComparer.Ordinal);
        var brands = new Dictionary<string, RewriteBrand>(StringComparer.Ordinal);
        foreach (var hit in own.Hits.Take(RelatedHits))
        {
            var item = hit.Item;
            var zhPath = SearchFields.Attr(item, "category_path_zh")?.Split(CategoryPaths.Separator);
            for (var d = 1; d <= item.CategoryPath.Count; d++)
            {
                var zh = zhPath is not null && zhPath.Length == item.CategoryPath.Count ? CategoryPaths.Key(zhPath, d) : null;
                AddCategory(new RewriteCategory(CategoryPaths.Key(item.CategoryPath, d), zh));
            }
            if (item.Brand?.Trim() is { Length: > 0 } brand) AddBrand(new RewriteBrand(brand, SearchFields.Attr(item, "brand_zh")?.Trim()));
        }
        foreach (var key in own.Query.Categories) AddCategory(new RewriteCategory(key, terms?.CategoryZh(key)));
        foreach (var brand in own.Query.Brands) AddBrand(new RewriteBrand(brand, terms?.BrandZh(brand)));
        foreach (var category in terms?.Categories ?? []) AddCategory(category);
        foreach (var brand in terms?.Brands ?? []) AddBrand(brand);
        return new RewriteVocabulary([.. categories.Values], [.. brands.Values]);

        void AddCategory(RewriteCategory category)
        {
            if (categories.Count < MaxCategories) categories.TryAdd(category.Key, category);
        }

        void AddBrand(RewriteBrand brand)
        {
            if (brands.Count < MaxBrands) brands.TryAdd(brand.Name, brand);
        }
    }

    /// <summary>
    /// The catalog's overall vocabulary, counted again at most once a minute after the catalog changed; a large catalog is
    /// counted in the background, and until then only the query's neighbourhood is offered.
    /// </summary>
    private CatalogTerms? Terms(ProductSearchIndex index)
    {
        var terms = _terms;
        var stale = terms is null || !ReferenceEquals(terms.Index, index)
            || (!ReferenceEquals(terms.Vocabulary, index.Vocabulary) && DateTime.UtcNow - terms.CountedAt > RecountAfter);
        if (!stale || Interlocked.CompareExchange(ref _counting, 1, 0) != 0) return terms;
        if ((terms is null || !ReferenceEquals(terms.Index, index)) && index.Count <= CountInlineUpTo)
        {
            try
            {
                return _terms = CatalogTerms.Count(index);
            }
            finally
            {
                Volatile.Write(ref _counting, 0);
            }
        }
        _ = Task.Run(() =>
        {
            try
            {
                _terms = CatalogTerms.Count(index);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Counting the catalog's categories and brands for query rewriting failed; rewrites offer the query's neighbourhood only");
            }
            finally
            {
                Volatile.Write(ref _counting, 0);
            }
        });
        return terms is not null && ReferenceEquals(terms.Index, index) ? terms : null;
    }

    /// <summary>The catalog's largest categories of depth 1 and 2 and its most frequent brands, with their Chinese names.</summary>
    private sealed class CatalogTerms
    {
        private readonly Dictionary<string, string> _categoryZh;
        private readonly Dictionary<string, string> _brandZh;

        private CatalogTerms(ProductSearchIndex index, QueryVocabulary vocabulary, IReadOnlyList<RewriteCategory> categories,
            IReadOnlyList<RewriteBrand> brands, Dictionary<string, string> categoryZh, Dictionary<string, string> brandZh)
        {
            Index = index;
            Vocabulary = vocabulary;
            Categories = categories;
            Brands = brands;
            _categoryZh = categoryZh;
            _brandZh = brandZh;
        }

        public ProductSearchIndex Index { get; }
        public QueryVocabulary Vocabulary { get; }
        public DateTime CountedAt { get; } = DateTime.UtcNow;
        public IReadOnlyList<RewriteCategory> Categories { get; }
        public IReadOnlyList<RewriteBrand> Brands { get; }

        public string? CategoryZh(string key) => _categoryZh.GetValueOrDefault(key);

        public string? BrandZh(string brand) => _brandZh.GetValueOrDefault(brand);

        public static CatalogTerms Count(ProductSearchIndex index)
        {
            var vocabulary = index.Vocabulary;
            var categoryCounts = new Dictionary<string, int>(StringComparer.Ordinal);
            var brandCounts = new Dictionary<string, int>(StringComparer.Ordinal);
            var categoryZh = new Dictionary<string, string>(StringComparer.Ordinal);
            var brandZh = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in index.Items)
            {
                var zhPath = SearchFields.Attr(item, "category_path_zh")?.Split(CategoryPaths.Separator);
                for (var d = 1; d <= Math.Min(2, item.CategoryPath.Count); d++)
                {
                    var key = CategoryPaths.Key(item.CategoryPath, d);
                    categoryCounts[key] = categoryCounts.GetValueOrDefault(key) + 1;
                    if (zhPath is not null && zhPath.Length == item.CategoryPath.Count) categoryZh.TryAdd(key, CategoryPaths.Key(zhPath, d));
                }
                if (item.Brand?.Trim() is not { Length: > 0 } brand) continue;
                brandCounts[brand] = brandCounts.GetValueOrDefault(brand) + 1;
                if (SearchFields.Attr(item, "brand_zh")?.Trim() is { } zh) brandZh.TryAdd(brand, zh);
            }
            var categories = categoryCounts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(MaxCategories)
                .Select(p => new RewriteCategory(p.Key, categoryZh.GetValueOrDefault(p.Key))).ToList();
            var brands = brandCounts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(MaxBrands)
                .Select(p => new RewriteBrand(p.Key, brandZh.GetValueOrDefault(p.Key))).ToList();
            // Only the offered ones' Chinese names are kept (a large catalog has many brands).
            var offered = brands.Select(b => b.Name).ToHashSet(StringComparer.Ordinal);
            return new CatalogTerms(index, vocabulary, categories, brands, categoryZh,
                brandZh.Where(p => offered.Contains(p.Key)).ToDictionary(StringComparer.Ordinal));
        }
    }
}
