using Persona.Abstractions;

namespace Persona.Core.Demo;

/// <summary>
/// Generates a deterministic bilingual demo shop: a catalog over a 2–3 level category tree, shoppers with latent
/// preferences (3 favourite leaf categories, price tier, brand loyalty, rhythm, churn) and their sessions of
/// search → view → click → cart → purchase → rate/review. Every random draw comes from a <see cref="Random"/>
/// seeded from <see cref="DemoOptions.Seed"/>, one stream for the catalog and three per user, so the same options
/// give byte-identical output and users do not depend on one another's draws.
/// </summary>
public sealed class DemoShopGenerator
{
    /// <summary>Bumped whenever the output (events or truth) of the same options changes.</summary>
    public const int Version = 2;

    private const int CatalogStream = 1;
    private const int PlanStream = 2;
    private const int ActivityStream = 3;
    private const int IntentStream = 4;
    /// <summary>Item draws per user that estimate the user's expected purchases per session for the truth file.</summary>
    private const int IntentSamples = 400;

    /// <summary>Mean events one session produces with the funnel rates below; calibrates the session rate.</summary>
    private const double EventsPerSessionEstimate = 8.5;
    private const int MinSessions = 4;
    private const double NewUserShare = 0.07;
    private const double ChurnShare = 0.20;
    private const int NewWindowDays = 14;
    private const int ChurnFromDay = 15;
    private const int ChurnToDay = 55;
    /// <summary>Users who neither churned nor are new have been seen within this many days of the end.</summary>
    private const int RetainedRecentDays = 21;

    private const double SearchRate = 0.3;
    private const double MeanExtraViews = 3.8;
    private const double StayInLeafRate = 0.8;
    private const double ClickRate = 0.4;
    private const double FavoriteRate = 0.05;
    private const double CartRate = 0.28;
    private const double PurchaseRate = 0.55;
    private const double RateRate = 0.3;
    private const double ReviewRate = 0.4;

    private static readonly double[] RatingWeights = [0.03, 0.05, 0.12, 0.35, 0.45];
    private static readonly int[] PriceThresholds = [20, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000];

    private readonly DemoOptions _options;
    private readonly DateTimeOffset _start;
    private readonly DateTimeOffset _end;

    public DemoShopGenerator(DemoOptions? options = null)
    {
        _options = options ?? new DemoOptions();
        _options.Validate();
        _end = new DateTimeOffset(_options.End.UtcDateTime, TimeSpan.Zero);
        _start = _end.AddDays(-_options.Days);
    }

    /// <summary>Generates the shop; about 2–3 s for the defaults (3,000 users, ~300,000 events).</summary>
    public DemoShop Generate()
    {
        var catalog = BuildCatalog();
        var plans = new UserPlan[_options.Users];
        for (var u = 0; u < plans.Length; u++)
            plans[u] = PlanUser(u, catalog);

        // Sessions per unit of activity-weighted day that make the whole shop meet the target event count.
        var exposure = plans.Sum(p => p.Activity * p.ActiveDays);
        var baseRate = _options.TargetEventsPerUser * _options.Users / (EventsPerSessionEstimate * Math.Max(exposure, 1e-9));

        var pending = new List<PendingEvent>(checked((int)(_options.TargetEventsPerUser * _options.Users * 1.1)));
        var users = new User[plans.Length];
        var truth = new DemoTruth[plans.Length];
        for (var u = 0; u < plans.Length; u++)
        {
            var from = pending.Count;
            var sessionsPerDay = GenerateActivity(plans[u], baseRate, catalog, pending);
            users[u] = plans[u].User;
            var purchaseRate = baseRate * plans[u].Activity * ExpectedPurchasesPerSession(plans[u], catalog)
                * plans[u].ActiveDays / Math.Max(1e-9, (plans[u].ActiveUntil - plans[u].ActiveFrom).TotalDays);
            truth[u] = MakeTruth(plans[u], sessionsPerDay, purchaseRate, pending, from);
        }

        var order = new int[pending.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        // Time, then generation order: unique keys, so the sort is deterministic.
        Array.Sort(order, (a, b) =>
        {
            var c = pending[a].Seconds.CompareTo(pending[b].Seconds);
            return c != 0 ? c : a.CompareTo(b);
        });
        var events = new Event[order.Length];
        for (var i = 0; i < order.Length; i++)
            events[i] = ToEvent(pending[order[i]], i, plans, catalog);

        return new DemoShop(catalog.Items, users, events, truth, _options);
    }

    // ---------------------------------------------------------------- catalog

    private sealed class Catalog(Item[] items, int[] itemLeaf, double[] prices, int[] itemBrand, int[][] leafSorted, double[] percentile, int[][][] leafBrandPositions)
    {
        public Item[] Items { get; } = items;
        public int[] ItemLeaf { get; } = itemLeaf;
        public double[] Prices { get; } = prices;
        /// <summary>Brand index within the item's top category.</summary>
        public int[] ItemBrand { get; } = itemBrand;
        /// <summary>Per leaf: item indices sorted by price (then index).</summary>
        public int[][] LeafSorted { get; } = leafSorted;
        /// <summary>Per item: its price percentile within its leaf, 0..1.</summary>
        public double[] Percentile { get; } = percentile;
        /// <summary>Per leaf, per brand of the top category: ascending positions in <see cref="LeafSorted"/>.</summary>
        public int[][][] LeafBrandPositions { get; } = leafBrandPositions;
        public double[] LeafPopularity { get; } = [.. DemoCatalog.Leaves.Select(l => l.Spec.Popularity)];
    }

    private Catalog BuildCatalog()
    {
        var rng = new Random(DemoRandom.DeriveSeed(_options.Seed, CatalogStream, 0));
        var leaves = DemoCatalog.Leaves;
        var n = _options.Items;

        // Items per leaf by popularity (largest remainder), then shuffled so ids do not cluster by category.
        var totalPopularity = leaves.Sum(l => l.Spec.Popularity);
        var counts = new int[leaves.Length];
        var remainders = new double[leaves.Length];
        for (var l = 0; l < leaves.Length; l++)
        {
            var exact = Math.Max(1.0, n * leaves[l].Spec.Popularity / totalPopularity);
            counts[l] = (int)Math.Floor(exact);
            remainders[l] = exact - counts[l];
        }
        var byRemainder = Enumerable.Range(0, leaves.Length).OrderByDescending(l => remainders[l]).ThenBy(l => l).ToArray();
        for (var k = 0; counts.Sum() < n; k++) counts[byRemainder[k % leaves.Length]]++;
        for (var k = leaves.Length - 1; counts.Sum() > n; k = (k + leaves.Length - 1) % leaves.Length)
            if (counts[byRemainder[k]] > 1) counts[byRemainder[k]]--;

        var itemLeaf = new int[n];
        for (int l = 0, i = 0; l < leaves.Length; l++)
            for (var c = 0; c < counts[l]; c++) itemLeaf[i++] = l;
        for (var i = n - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (itemLeaf[i], itemLeaf[j]) = (itemLeaf[j], itemLeaf[i]);
        }

        var items = new Item[n];
        var prices = new double[n];
        var itemBrand = new int[n];
        for (var i = 0; i < n; i++)
        {
            var leaf = leaves[itemLeaf[i]];
            var top = DemoCatalog.Tops[leaf.TopIndex];
            var brandIndex = leaf.BrandIndices[rng.Next(leaf.BrandIndices.Length)];
            var brand = top.Brands[brandIndex];
            var price = RoundPrice(rng.LogNormal(leaf.Spec.MedianPrice * Math.Pow(brand.Premium, 0.8), leaf.Spec.Sigma));
            var adjective = rng.Pick(top.Adjectives);
            var variant = rng.Pick(top.Variants);
            var size = leaf.Spec.Sizes.Length == 0 ? null : rng.Pick(leaf.Spec.Sizes);
            var noun = leaf.Spec.Noun;
            var titleEn = size is null ? $"{brand.En} {adjective.En} {noun.En} {variant.En}" : $"{brand.En} {adjective.En} {noun.En} {variant.En} {size}";
            var titleZh = size is null ? $"{brand.Zh} {adjective.Zh}{noun.Zh} {variant.Zh}" : $"{brand.Zh} {adjective.Zh}{noun.Zh} {variant.Zh} {SizeZh(size)}";
            var created = _start.AddDays(-rng.Next(1, 720)).AddMinutes(-rng.Next(24 * 60));
            var attributes = new Dictionary<string, string>
            {
                ["title_zh"] = titleZh,
                ["category_path_zh"] = string.Join(CategoryPaths.Separator, leaf.PathZh),
                ["brand_zh"] = brand.Zh,
                ["variant"] = variant.En,
                ["variant_zh"] = variant.Zh,
            };
            if (size is not null) attributes["size"] = size;
            items[i] = new Item
            {
                Id = ItemId(i),
                Title = titleEn,
                Description = $"{adjective.En} {noun.En.ToLowerInvariant()} by {brand.En}, {variant.En.ToLowerInvariant()}. {adjective.Zh}{noun.Zh}，{variant.Zh}。",
                CategoryPath = leaf.PathEn,
                Brand = brand.En,
                Price = price,
                Currency = "CNY",
                Attributes = attributes,
                Available = rng.Chance(0.97),
                CreatedAt = created,
            };
            prices[i] = price;
            itemBrand[i] = brandIndex;
        }

        var leafSorted = new int[leaves.Length][];
        var percentile = new double[n];
        var leafBrandPositions = new int[leaves.Length][][];
        for (var l = 0; l < leaves.Length; l++)
        {
            var members = Enumerable.Range(0, n).Where(i => itemLeaf[i] == l).OrderBy(i => prices[i]).ThenBy(i => i).ToArray();
            leafSorted[l] = members;
            for (var p = 0; p < members.Length; p++)
                percentile[members[p]] = members.Length == 1 ? 0.5 : (double)p / (members.Length - 1);
            var brandCount = DemoCatalog.Tops[leaves[l].TopIndex].Brands.Length;
            leafBrandPositions[l] = new int[brandCount][];
            for (var b = 0; b < brandCount; b++)
                leafBrandPositions[l][b] = [.. Enumerable.Range(0, members.Length).Where(p => itemBrand[members[p]] == b)];
        }
        return new Catalog(items, itemLeaf, prices, itemBrand, leafSorted, percentile, leafBrandPositions);
    }

    private static readonly (string En, string Zh)[] SizeWords =
    [
        (" colors", "色"), (" pcs", "片"), (" packs", "包"), (" bottles", "瓶"), (" persons", "人"), (" inch", "英寸"),
        (" books", "册"), ("for ", "适用 "),
    ];

    /// <summary>The Chinese form of a size suffix ("12 colors" → "12色"); units like ml, g and GB stay as they are.</summary>
    private static string SizeZh(string size)
    {
        foreach (var (en, zh) in SizeWords) size = size.Replace(en, zh, StringComparison.Ordinal);
        return size;
    }

    /// <summary>Shop-style prices: 44.9, 289, 2799.</summary>
    private static double RoundPrice(double price) => price switch
    {
        < 100 => Math.Max(1.9, Math.Round(price) - 0.1),
        < 1000 => Math.Round(price / 10) * 10 - 1,
        _ => Math.Round(price / 100) * 100 - 1,
    };

    private static string ItemId(int index) => $"i{index + 1:D6}";

    private static string UserId(int index) => $"u{index + 1:D5}";

    // ---------------------------------------------------------------- users

    private sealed class UserPlan
    {
        public required int Index { get; init; }
        public required User User { get; init; }
        public required int[] TopLeaves { get; init; }
        public required double[] TopWeights { get; init; }
        public required double ExploreRate { get; init; }
        public required int Tier { get; init; }
        public required double TierFocus { get; init; }
        public required double Sensitivity { get; init; }
        public required double Loyalty { get; init; }
        /// <summary>(top category index, brand index within it).</summary>
        public required (int Top, int Brand)[] FavoriteBrands { get; init; }
        public required double Activity { get; init; }
        public required double WeekendBias { get; init; }
        public required int[] PeakHoursLocal { get; init; }
        public required int Device { get; init; }
        public required int Channel { get; init; }
        public required double Stickiness { get; init; }
        public required double ZhShare { get; init; }
        public required bool Churned { get; init; }
        public required bool IsNew { get; init; }
        public required DateTimeOffset SignupAt { get; init; }
        public required DateTimeOffset ActiveFrom { get; init; }
        /// <summary>Exclusive end of activity: the churn instant or the end of the period.</summary>
        public required DateTimeOffset ActiveUntil { get; init; }
        /// <summary>Activity-weighted day count (weekends weighted by the bias) that the session rate multiplies.</summary>
        public double ActiveDays { get; set; }
    }

    private UserPlan PlanUser(int index, Catalog catalog)
    {
        var rng = new Random(DemoRandom.DeriveSeed(_options.Seed, PlanStream, index));
        var genderRoll = rng.NextDouble();
        var gender = genderRoll < 0.56 ? "female" : genderRoll < 0.97 ? "male" : null;
        var ageBand = DemoPeople.AgeBands[rng.PickIndex(DemoPeople.AgeBandWeights)];
        var province = DemoPeople.Provinces[rng.PickIndex(DemoPeople.ProvinceWeights)];
        var city = rng.Pick(province.Cities);

        // Latent tier, with sensitivity leaning against it.
        var tierRoll = rng.NextDouble();
        var tier = tierRoll < 0.35 ? 0 : tierRoll < 0.75 ? 1 : 2;
        var sensitivity = tier switch
        {
            0 => 0.5 + 0.5 * rng.NextDouble(),
            1 => 0.25 + 0.5 * rng.NextDouble(),
            _ => 0.45 * rng.NextDouble(),
        };

        // Three distinct preferred leaves, popularity × gender skew; Dirichlet-like weights with a floor so the
        // third preference is still visible in behaviour.
        var leaves = DemoCatalog.Leaves;
        var leafWeights = new double[leaves.Length];
        for (var l = 0; l < leaves.Length; l++)
        {
            var skew = leaves[l].Spec.FemaleSkew;
            leafWeights[l] = catalog.LeafPopularity[l] * (gender == "female" ? skew : gender == "male" ? 1 / skew : 1);
        }
        var topLeaves = new int[3];
        for (var k = 0; k < 3; k++)
        {
            var l = rng.PickIndex(leafWeights);
            topLeaves[k] = l;
            leafWeights[l] = 0;
        }
        var raw = new double[3];
        for (var k = 0; k < 3; k++) raw[k] = rng.Gamma(2) + 1;
        var sum = raw.Sum();
        var order = Enumerable.Range(0, 3).OrderByDescending(k => raw[k]).ToArray();
        var topWeights = order.Select(k => raw[k] / sum).ToArray();
        topLeaves = [.. order.Select(k => topLeaves[k])];

        // Favourite brands: one per preferred top category, leaning to brands whose price level fits the tier.
        var tierTarget = tier switch { 0 => Math.Log(0.7), 1 => 0.0, _ => Math.Log(1.5) };
        var favorites = new List<(int Top, int Brand)>();
        foreach (var leaf in topLeaves)
        {
            var topIndex = leaves[leaf].TopIndex;
            if (favorites.Any(f => f.Top == topIndex)) continue;
            var candidates = leaves[leaf].BrandIndices;
            var weights = candidates.Select(b =>
            {
                var d = Math.Log(DemoCatalog.Tops[topIndex].Brands[b].Premium) - tierTarget;
                return Math.Exp(-d * d / 0.18);
            }).ToArray();
            favorites.Add((topIndex, candidates[rng.PickIndex(weights)]));
        }

        var device = rng.PickIndex(DemoPeople.DeviceWeights);
        var channel = rng.PickIndex(DemoPeople.ChannelWeightsByDevice[device]);
        var main = DemoPeople.PeakHours[rng.PickIndex(DemoPeople.PeakHourWeights)];
        int second;
        do second = DemoPeople.PeakHours[rng.PickIndex(DemoPeople.PeakHourWeights)];
        while (second == main);

        // Lifecycle: new (signed up in the last 14 days), churned (stopped between day 15 and 55), or retained.
        var lifecycleRoll = rng.NextDouble();
        var isNew = lifecycleRoll < NewUserShare;
        var churned = !isNew && lifecycleRoll < NewUserShare + ChurnShare;
        DateTimeOffset signup, until = _end;
        if (isNew)
        {
            signup = _end.AddSeconds(-rng.Next(3600, (NewWindowDays * 24 - 12) * 3600));
        }
        else if (churned)
        {
            until = _start.AddDays(ChurnFromDay).AddSeconds(rng.Next((ChurnToDay - ChurnFromDay) * 86400));
            signup = rng.Chance(0.85)
                ? _start.AddDays(-1 - rng.Next(900)).AddSeconds(-rng.Next(86400))
                : _start.AddSeconds(rng.Next((int)(until - _start).TotalSeconds - 10 * 86400));
        }
        else
        {
            var lateLimit = _options.Days - NewWindowDays - 7;
            signup = rng.Chance(0.75)
                ? _start.AddDays(-1 - rng.Next(900)).AddSeconds(-rng.Next(86400))
                : _start.AddDays(rng.Next(lateLimit)).AddSeconds(rng.Next(86400));
        }
        var from = signup > _start ? signup : _start;

        var user = new User
        {
            Id = UserId(index),
            AgeBand = ageBand,
            Gender = gender,
            Region = province.Pinyin,
            SignupAt = signup,
            Attributes = new Dictionary<string, string>
            {
                ["city"] = city.Pinyin,
                ["region_zh"] = province.Zh,
                ["city_zh"] = city.Zh,
            },
            Consent = new Consent
            {
                Personalization = !rng.Chance(0.005),
                Marketing = !rng.Chance(0.04),
            },
        };

        var plan = new UserPlan
        {
            Index = index,
            User = user,
            TopLeaves = topLeaves,
            TopWeights = topWeights,
            ExploreRate = 0.03 + 0.1 * rng.NextDouble(),
            Tier = tier,
            TierFocus = 0.7 + 0.2 * rng.NextDouble(),
            Sensitivity = sensitivity,
            Loyalty = 0.2 + 0.65 * rng.NextDouble(),
            FavoriteBrands = [.. favorites],
            // New shoppers explore the shop eagerly in their first days.
            Activity = rng.LogNormal(1, 0.5) * (isNew ? 2.0 : 1.0),
            WeekendBias = 0.8 + 0.8 * rng.NextDouble(),
            PeakHoursLocal = [main, second],
            Device = device,
            Channel = channel,
            Stickiness = 0.7 + 0.25 * rng.NextDouble(),
            ZhShare = 0.5 + 0.4 * rng.NextDouble(),
            Churned = churned,
            IsNew = isNew,
            SignupAt = signup,
            ActiveFrom = from,
            ActiveUntil = until,
        };
        plan.ActiveDays = WeightedDays(plan);
        return plan;
    }

    private double WeightedDays(UserPlan plan)
    {
        var days = 0.0;
        for (var d = 0; d <= _options.Days; d++)
        {
            var dayStart = LocalMidnightUtc(d);
            var overlap = Math.Min(dayStart.AddDays(1).Ticks, plan.ActiveUntil.Ticks) - Math.Max(dayStart.Ticks, plan.ActiveFrom.Ticks);
            if (overlap > 0) days += overlap / (double)TimeSpan.TicksPerDay * DayFactor(plan, d);
        }
        return days;
    }

    private DateTimeOffset LocalMidnightUtc(int day) =>
        new DateTimeOffset(_start.UtcDateTime.Date, TimeSpan.Zero).AddHours(-DemoPeople.UtcOffsetHours).AddDays(day);

    private double DayFactor(UserPlan plan, int day)
    {
        var weekday = _start.UtcDateTime.Date.AddDays(day).DayOfWeek;
        return weekday is DayOfWeek.Saturday or DayOfWeek.Sunday ? plan.WeekendBias : 1.0;
    }

    // ---------------------------------------------------------------- activity

    private readonly record struct PendingEvent(
        long Seconds, int User, EventType Type, int Item, string? Query, double? Value, int Session, byte Device, byte Channel);

    private double GenerateActivity(UserPlan plan, double baseRate, Catalog catalog, List<PendingEvent> output)
    {
        var rng = new Random(DemoRandom.DeriveSeed(_options.Seed, ActivityStream, plan.Index));
        var starts = new List<long>();
        var rate = baseRate * plan.Activity;
        for (var d = 0; d <= _options.Days; d++)
        {
            var sessions = rng.Poisson(rate * DayFactor(plan, d));
            for (var s = 0; s < sessions; s++)
            {
                var t = LocalMidnightUtc(d).AddSeconds(SessionSecondOfDay(plan, rng));
                if (t >= plan.ActiveFrom && t < plan.ActiveUntil) starts.Add(t.ToUnixTimeSeconds());
            }
        }

        var from = plan.ActiveFrom.ToUnixTimeSeconds();
        var until = plan.ActiveUntil.ToUnixTimeSeconds();
        // Every shopper leaves some trace, and retained shoppers were seen recently.
        while (starts.Count < MinSessions)
            starts.Add(from + (long)(rng.NextDouble() * Math.Max(1, until - from - 1800)));
        if (!plan.Churned && !plan.IsNew)
        {
            var recent = _end.AddDays(-RetainedRecentDays).ToUnixTimeSeconds();
            if (!starts.Any(s => s >= recent))
                starts.Add(recent + (long)(rng.NextDouble() * (until - recent - 1800)));
        }
        starts.Sort();

        for (var s = 0; s < starts.Count; s++)
            GenerateSession(plan, s, starts[s], until, rng, catalog, output);
        return starts.Count / Math.Max(1.0, (plan.ActiveUntil - plan.ActiveFrom).TotalDays);
    }

    private static int SessionSecondOfDay(UserPlan plan, Random rng)
    {
        int hour;
        if (rng.Chance(0.85))
        {
            var peak = rng.Chance(0.65) ? plan.PeakHoursLocal[0] : plan.PeakHoursLocal[1];
            hour = (int)Math.Round(peak + rng.Normal(0, 1.0));
            hour = ((hour % 24) + 24) % 24;
        }
        else
        {
            hour = 7 + rng.Next(17);
        }
        return hour * 3600 + rng.Next(3600);
    }

    private void GenerateSession(UserPlan plan, int sessionIndex, long start, long until, Random rng, Catalog catalog, List<PendingEvent> output)
    {
        var device = rng.Chance(plan.Stickiness) ? plan.Device : rng.Next(DemoPeople.Devices.Length);
        var channel = device == plan.Device && rng.Chance(0.9) ? plan.Channel : rng.PickIndex(DemoPeople.ChannelWeightsByDevice[device]);
        var t = start;
        var carts = new List<(int Item, int Quantity)>();

        bool Emit(EventType type, int item, string? query, double? value)
        {
            if (t >= until) return false;
            output.Add(new PendingEvent(t, plan.Index, type, item, query, value, sessionIndex, (byte)device, (byte)channel));
            return true;
        }

        var leaf = PickLeaf(plan, rng, catalog);
        if (rng.Chance(SearchRate) && !Emit(EventType.Search, -1, BuildQuery(plan, leaf, rng), null)) return;

        var views = 1 + rng.Geometric(MeanExtraViews);
        for (var v = 0; v < views; v++)
        {
            if (v > 0 && !rng.Chance(StayInLeafRate)) leaf = PickLeaf(plan, rng, catalog);
            var item = PickItem(plan, leaf, rng, catalog);
            t += 10 + rng.Next(110);
            var dwell = Math.Round(rng.LogNormal(35, 0.7));
            if (!Emit(EventType.View, item, null, dwell)) return;
            t += (long)dwell;
            if (rng.Chance(FavoriteRate) && !Emit(EventType.Favorite, item, null, null)) return;
            if (!rng.Chance(ClickRate)) continue;
            t += 2 + rng.Next(20);
            if (!Emit(EventType.Click, item, null, null)) return;

            if (!rng.Chance(CartProbability(plan, catalog, item))) continue;
            var quantity = QuantityFor(catalog.ItemLeaf[item], rng);
            t += 5 + rng.Next(60);
            if (!Emit(EventType.AddToCart, item, null, quantity)) return;
            carts.Add((item, quantity));
        }

        foreach (var (item, quantity) in carts)
        {
            if (!rng.Chance(PurchaseRate)) continue;
            t += 60 + rng.Next(540);
            // Price-sensitive shoppers hunt coupons.
            var discount = rng.Chance(0.5 * plan.Sensitivity) ? 0.05 + 0.15 * rng.NextDouble() : 0;
            var paid = Math.Round(quantity * catalog.Prices[item] * (1 - discount), 2);
            if (!Emit(EventType.Purchase, item, null, paid)) return;
            if (!rng.Chance(RateRate)) continue;

            var purchaseTime = t;
            t += 86400 + rng.Next(6 * 86400);
            var rating = 1 + rng.PickIndex(RatingWeights);
            if (Emit(EventType.Rate, item, null, rating))
            {
                t += 60 + rng.Next(240);
                if (rng.Chance(ReviewRate)) Emit(EventType.Review, item, null, rating);
            }
            t = purchaseTime;
        }
    }

    /// <summary>Items in the shopper's price third are carted far more often; sensitive shoppers shy from dear ones.</summary>
    private static double CartProbability(UserPlan plan, Catalog catalog, int item)
    {
        var percentile = catalog.Percentile[item];
        var inTier = TierOf(percentile) == plan.Tier;
        return CartRate * (inTier ? 1.4 : 0.35) * (1 - 0.6 * plan.Sensitivity * percentile);
    }

    /// <summary>
    /// The latent purchase intent behind <see cref="DemoTruth.PurchaseRatePerDay"/>: views per session × click rate ×
    /// mean cart probability over the user's own leaf and item choices (sampled on a separate stream, so the events
    /// are unchanged) × purchase rate.
    /// </summary>
    private double ExpectedPurchasesPerSession(UserPlan plan, Catalog catalog)
    {
        var rng = new Random(DemoRandom.DeriveSeed(_options.Seed, IntentStream, plan.Index));
        var cart = 0.0;
        for (var s = 0; s < IntentSamples; s++)
            cart += CartProbability(plan, catalog, PickItem(plan, PickLeaf(plan, rng, catalog), rng, catalog));
        return (1 + MeanExtraViews) * ClickRate * (cart / IntentSamples) * PurchaseRate;
    }

    private static int TierOf(double percentile) => percentile < 1.0 / 3 ? 0 : percentile < 2.0 / 3 ? 1 : 2;

    private static int QuantityFor(int leaf, Random rng)
    {
        var top = DemoCatalog.Tops[DemoCatalog.Leaves[leaf].TopIndex].En;
        // Groceries and baby consumables are bought by the pack.
        return top is "Food" or "Baby" ? 1 + rng.Geometric(0.5) : rng.Chance(0.05) ? 2 : 1;
    }

    private static int PickLeaf(UserPlan plan, Random rng, Catalog catalog) =>
        rng.Chance(plan.ExploreRate)
            ? rng.PickIndex(catalog.LeafPopularity)
            : plan.TopLeaves[rng.PickIndex(plan.TopWeights)];

    private static int PickItem(UserPlan plan, int leaf, Random rng, Catalog catalog)
    {
        var sorted = catalog.LeafSorted[leaf];
        var n = sorted.Length;
        int lo = 0, hi = n;
        if (rng.Chance(plan.TierFocus))
        {
            lo = plan.Tier * n / 3;
            hi = Math.Max(lo + 1, (plan.Tier + 1) * n / 3);
        }

        if (rng.Chance(plan.Loyalty))
        {
            var topIndex = DemoCatalog.Leaves[leaf].TopIndex;
            foreach (var (top, brand) in plan.FavoriteBrands)
            {
                if (top != topIndex) continue;
                var positions = catalog.LeafBrandPositions[leaf][brand];
                var first = LowerBound(positions, lo);
                var last = LowerBound(positions, hi);
                if (last > first) return sorted[positions[first + rng.Next(last - first)]];
            }
        }

        if (hi - lo == n)
        {
            // Unfocused browsing still leans cheap in proportion to price sensitivity.
            var position = (int)(Math.Pow(rng.NextDouble(), 1 + plan.Sensitivity) * n);
            return sorted[Math.Min(position, n - 1)];
        }
        return sorted[lo + rng.Next(hi - lo)];
    }

    private static int LowerBound(int[] sorted, int value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>A search query for the leaf, in Chinese or English, sometimes with brand, colour or price words.</summary>
    private static string BuildQuery(UserPlan plan, int leafIndex, Random rng)
    {
        var leaf = DemoCatalog.Leaves[leafIndex];
        var top = DemoCatalog.Tops[leaf.TopIndex];
        var favorite = plan.FavoriteBrands.Where(f => f.Top == leaf.TopIndex && leaf.BrandIndices.Contains(f.Brand)).Select(f => f.Brand).ToArray();
        var brand = top.Brands[favorite.Length > 0 && rng.Chance(0.6) ? favorite[0] : rng.Pick(leaf.BrandIndices)];
        var variant = rng.Pick(top.Variants);
        var threshold = PriceThresholds.FirstOrDefault(p => p >= leaf.Spec.MedianPrice * 0.6, PriceThresholds[^1]);
        var nounEn = leaf.Spec.Noun.En.ToLowerInvariant();
        var roll = rng.Next(4);
        if (rng.Chance(plan.ZhShare))
        {
            return roll switch
            {
                0 => leaf.Spec.Zh,
                1 => $"{brand.Zh} {leaf.Spec.Zh}",
                2 => $"{variant.Zh}{leaf.Spec.Noun.Zh}",
                _ => plan.Tier switch
                {
                    0 => rng.Chance(0.5) ? $"{threshold}元以下 {leaf.Spec.Zh}" : $"平价{leaf.Spec.Zh}",
                    1 => $"{leaf.Spec.Zh} 推荐",
                    _ => $"高端{leaf.Spec.Zh}",
                },
            };
        }
        return roll switch
        {
            0 => leaf.Spec.En.ToLowerInvariant(),
            1 => $"{brand.En.ToLowerInvariant()} {nounEn}",
            2 => $"{variant.En.ToLowerInvariant()} {nounEn}",
            _ => plan.Tier switch
            {
                0 => rng.Chance(0.5) ? $"cheap {nounEn}" : $"{nounEn} under {threshold}",
                1 => $"best {nounEn}",
                _ => $"luxury {nounEn}",
            },
        };
    }

    // ---------------------------------------------------------------- output

    private static Event ToEvent(PendingEvent pending, int position, UserPlan[] plans, Catalog catalog)
    {
        var plan = plans[pending.User];
        return new Event
        {
            Id = $"demo-{position + 1:D6}",
            UserId = plan.User.Id,
            Type = pending.Type,
            ItemId = pending.Item >= 0 ? catalog.Items[pending.Item].Id : null,
            Query = pending.Query,
            Value = pending.Value,
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(pending.Seconds),
            SessionId = $"{plan.User.Id}-s{pending.Session + 1:D3}",
            Device = DemoPeople.Devices[pending.Device],
            Channel = DemoPeople.Channels[pending.Channel],
        };
    }

    private static DemoTruth MakeTruth(UserPlan plan, double sessionsPerDay, double purchaseRatePerDay, List<PendingEvent> pending, int from)
    {
        var purchases = 0;
        long last = long.MinValue;
        for (var i = from; i < pending.Count; i++)
        {
            if (pending[i].Type == EventType.Purchase) purchases++;
            last = Math.Max(last, pending[i].Seconds);
        }
        var tops = DemoCatalog.Tops;
        return new DemoTruth
        {
            UserId = plan.User.Id,
            TopCategories = [.. plan.TopLeaves.Select(l => DemoCatalog.Leaves[l].Key)],
            TopCategoryWeights = [.. plan.TopWeights.Select(w => Math.Round(w, 4))],
            ExploreRate = Math.Round(plan.ExploreRate, 4),
            PriceTier = plan.Tier switch { 0 => Tiers.Low, 1 => Tiers.Mid, _ => Tiers.High },
            PriceSensitivity = Math.Round(plan.Sensitivity, 4),
            BrandLoyalty = Math.Round(plan.Loyalty, 4),
            FavoriteBrands = [.. plan.FavoriteBrands.Select(f => tops[f.Top].Brands[f.Brand].En)],
            Churned = plan.Churned,
            ChurnedAt = plan.Churned ? plan.ActiveUntil : null,
            IsNew = plan.IsNew,
            SignupAt = plan.SignupAt,
            SessionsPerDay = Math.Round(sessionsPerDay, 4),
            PurchaseRatePerDay = Math.Round(purchaseRatePerDay, 6),
            ActiveFrom = plan.ActiveFrom,
            PreferredHoursUtc = [.. plan.PeakHoursLocal.Select(h => (h - DemoPeople.UtcOffsetHours + 24) % 24)],
            PreferredDevice = DemoPeople.Devices[plan.Device],
            PreferredChannel = DemoPeople.Channels[plan.Channel],
            EventCount = pending.Count - from,
            PurchaseCount = purchases,
            LastEventAt = last == long.MinValue ? null : DateTimeOffset.FromUnixTimeSeconds(last),
        };
    }
}
