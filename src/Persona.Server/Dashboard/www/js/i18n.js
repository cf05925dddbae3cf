// Labels in English and Chinese; the choice is remembered in localStorage.
const StorageKey = 'persona.lang';

const Labels = {
  'app.title': ['Persona', 'Persona 用户画像'],
  'nav.overview': ['Overview', '概览'],
  'nav.users': ['User explorer', '用户探索'],
  'nav.segments': ['Segments', '人群分群'],
  'nav.search': ['Search playground', '搜索试验场'],
  'nav.models': ['Models', '模型'],
  'lang.switch': ['中文', 'English'],
  'common.loading': ['Loading…', '加载中…'],
  'key.button': ['API key', 'API 密钥'],
  'key.needed': ['This server needs an API key (admin scope for every page):', '此服务器需要 API 密钥（所有页面需 admin 权限）：'],
  'key.forbidden': ['The API key lacks a scope this page needs (use an admin key):', '此 API 密钥缺少本页所需权限（请使用 admin 密钥）：'],
  'key.placeholder': ['pk_…', 'pk_…'],
  'key.save': ['Use key', '使用密钥'],
  'common.none': ['None', '无'],
  'common.error': ['Request failed', '请求失败'],
  'common.notAvailable': ['Not available yet: this server has no {0} endpoint.', '暂不可用：此服务器尚未提供 {0} 接口。'],
  'overview.users': ['Users', '用户'],
  'overview.items': ['Items', '商品'],
  'overview.events': ['Events', '事件'],
  'overview.profiles': ['Profiles', '画像'],
  'overview.eventsPerMinute': ['Events / minute', '每分钟事件'],
  'overview.dataClock': ['Data clock', '数据时钟'],
  'overview.hotStates': ['Profile states in memory / budget (MiB)', '内存中的画像状态 / 预算（MiB）'],
  'overview.coldTraffic': ['Cold loads / evictions', '冷数据加载 / 换出'],
  'overview.ingest': ['Events stored per second (last 60 s)', '每秒写入事件（最近 60 秒）'],
  'overview.models': ['Model versions', '模型版本'],
  'overview.predictionModel': ['Prediction model', '预测模型'],
  'overview.segmentModel': ['Segment model', '分群模型'],
  'overview.segmentCount': ['Segments', '分群数'],
  'overview.refreshedAt': ['Last refresh (as of)', '最近刷新（截至）'],
  'overview.noModels': ['No models trained yet.', '尚未训练模型。'],
  'overview.evaluation': ['Latest evaluation', '最新评估'],
  'overview.noReports': ['No stored evaluation reports yet (run persona evaluate).', '尚无评估报告（运行 persona evaluate）。'],
  // Overview: shop figures, users vs profiles, models in service.
  'overview.range': ['Date range (UTC)', '日期范围（UTC）'],
  'overview.rangeAll': ['All data', '全部数据'],
  'overview.range7': ['Last 7 days', '最近 7 天'],
  'overview.range30': ['Last 30 days', '最近 30 天'],
  'overview.rangeTo': ['to', '至'],
  'overview.dataSpan': ['Data from {0} to {1}', '数据范围：{0} 至 {1}'],
  'overview.shop': ['Shop figures', '店铺指标'],
  'overview.revenue': ['Revenue (GMV)', '成交额（GMV）'],
  'overview.orders': ['Orders', '订单数'],
  'overview.activeShoppers': ['Active shoppers', '活跃用户'],
  'overview.buyers': ['Buyers', '购买用户'],
  'overview.conversion': ['Conversion (buyers ÷ visitors)', '转化率（购买用户 ÷ 访客）'],
  'overview.aov': ['Average order value', '客单价'],
  'overview.trend': ['Daily trend', '每日趋势'],
  'overview.visitors': ['Visitors', '访客'],
  'overview.lifecycle': ['Lifecycle mix (all profiled shoppers, now)', '生命周期分布（全部画像用户，当前）'],
  'overview.definitions': ['Revenue: amount paid on purchases (catalog price when none is sent). Order: one shopper’s purchases in one session. Active shopper: any event except impressions in the range. Conversion: buyers ÷ active shoppers.', '成交额：购买事件的实付金额（未提供时按商品标价）。订单：同一用户同一会话内的购买。活跃用户：范围内有除曝光外任一事件的用户。转化率：购买用户 ÷ 活跃用户。'],
  'overview.store': ['Store', '存储'],
  'overview.population': ['Why users and profiles differ', '为什么“用户”与“画像”数量不同'],
  'overview.populationText': ['Users ({0}) are shopper records sent with PUT /v1/users or an import; profiles ({1}) are shoppers with events. {2} records have no events yet, so no profile; {3} profiles belong to shoppers who sent events without a record. {4} users withdrew consent to personalisation.', '“用户”（{0}）是通过 PUT /v1/users 或导入写入的用户记录；“画像”（{1}）是有行为事件的用户。其中 {2} 条记录尚无事件，因此没有画像；{3} 个画像来自没有用户记录、只发送了事件的用户。{4} 位用户撤回了个性化同意。'],
  'overview.inService': ['Models in service', '在用模型'],
  'overview.model': ['Model', '模型'],
  'overview.version': ['Version', '版本'],
  'overview.trainedAt': ['Trained / as of', '训练于 / 截至'],
  'overview.about': ['What it does', '说明'],
  'model.predictions': ['Purchase & churn predictions', '购买与流失预测'],
  'model.segments': ['Segments', '人群分群'],
  'model.sequence': ['Sequence model (transformer)', '序列模型（Transformer）'],
  'model.search_encoder': ['Search text encoder', '搜索文本编码器'],
  'model.search_reranker': ['Search re-ranker', '搜索个性化重排'],
  'model.serving': ['serving', '在用'],
  'model.not_trained': ['not trained', '未训练'],
  'users.find': ['Find a user', '查找用户'],
  'users.placeholder': ['User id…', '用户 ID…'],
  'users.matches': ['{0} matching', '匹配 {0} 个'],
  'users.pick': ['Pick a user to see their profile.', '选择一个用户查看画像。'],
  'users.profile': ['Profile', '画像'],
  'users.tags': ['Tags', '标签'],
  'users.noTags': ['No tags yet.', '暂无标签。'],
  'users.evidence': ['Evidence for “{0}”', '“{0}”的依据'],
  'users.evidenceHint': ['Click a tag to see the events behind it.', '点击标签查看支持它的事件。'],
  'users.affinities': ['Category affinities', '品类偏好'],
  'users.brands': ['Brands', '品牌'],
  'users.priceBands': ['Price bands', '价格带'],
  'users.rfm': ['RFM', 'RFM'],
  'users.recency': ['Recency (days)', '最近一次（天）'],
  'users.frequency': ['Frequency (purchases)', '频次（购买）'],
  'users.monetary': ['Monetary', '金额'],
  'users.score': ['score', '得分'],
  'users.lifecycle': ['Lifecycle', '生命周期'],
  'users.activity': ['Activity', '活跃度'],
  'users.power': ['Purchasing power', '消费力'],
  'users.sensitivity': ['Price sensitivity', '价格敏感度'],
  'users.segment': ['Segment', '分群'],
  'users.events': ['Counted events', '计入事件'],
  'users.firstSeen': ['First seen', '首次出现'],
  'users.lastSeen': ['Last seen', '最近出现'],
  'users.device': ['Device / channel', '设备 / 渠道'],
  'users.timeline': ['Recent events', '最近事件'],
  'users.predictions': ['Predictions', '预测'],
  'users.purchasePropensity': ['Purchase propensity', '购买倾向'],
  'users.churnRisk': ['Churn risk', '流失风险'],
  'users.nextCategories': ['Next categories', '下一步品类'],
  'users.noPredictions': ['No predictions yet.', '暂无预测。'],
  'users.recommendations': ['Recommendations', '推荐'],
  'users.noRecommendations': ['No recommendations for this user.', '该用户暂无推荐。'],
  'users.notFound': ['No profile for this user.', '该用户没有画像。'],
  // User explorer: filters, price sensitivity, next categories.
  'users.filters': ['Filter', '筛选'],
  'users.anySegment': ['Any segment', '全部分群'],
  'users.anyLifecycle': ['Any lifecycle', '全部生命周期'],
  'users.anyTier': ['Any purchasing power', '全部消费力'],
  'users.anyTag': ['Any tag', '全部标签'],
  'users.tierOption': ['Purchasing power: {0}', '消费力：{0}'],
  'users.sensitivityHint': ['0 = buys at the price level they browse; 1 = buys far below it (waits for deals)', '0 = 按浏览的价位购买；1 = 购买价位远低于浏览价位（等优惠）'],
  'users.nextFromSequence': ['Share of the sequence model’s top 100 predicted next items that fall in each category (they add up to at most 100%).', '序列模型预测的前 100 个“下一个商品”中属于该品类的比例（合计不超过 100%）。'],
  'users.nextFromPropensity': ['Chance of buying in each category within the prediction window (14 days by default); each is separate, so they need not add up to 100%.', '在预测窗口（默认 14 天）内购买该品类的概率；各品类相互独立，合计不必为 100%。'],
  'users.sources': ['Sources', '来源'],
  'users.perDay': ['events / active day', '事件 / 活跃日'],
  'segments.map': ['Users on the 2-D map, by segment', '用户二维分布（按分群着色）'],
  'segments.size': ['{0} users · {1}', '{0} 位用户 · {1}'],
  'segments.traits': ['Dominant traits', '主要特征'],
  'segments.none': ['No segments yet.', '尚无分群。'],
  'segments.refresh': ['Compute segments now', '立即计算分群'],
  'segments.silhouette': ['k = {0}, silhouette {1}', 'k = {0}，轮廓系数 {1}'],
  'audience.title': ['Audience builder', '人群圈选'],
  'audience.segments': ['Segments', '分群'],
  'audience.lifecycle': ['Lifecycle', '生命周期'],
  'audience.tags': ['Any of these tag keys (comma-separated)', '包含任一标签键（逗号分隔）'],
  'audience.minPropensity': ['Min purchase propensity', '最低购买倾向'],
  'audience.maxChurn': ['Max churn risk', '最高流失风险'],
  'audience.k': ['k (minimum published count)', 'k（最小公开人数）'],
  'audience.count': ['Count', '统计'],
  'audience.result': ['users', '位用户'],
  'audience.suppressed': ['Fewer than k = {0}: count suppressed', '少于 k = {0}：人数不予公开'],
  // Segments: plain-words summaries, map, audience builder choices.
  'segments.mapHint': ['Each dot is a sample shopper, coloured by segment; each large circle is a segment’s centre, sized by its number of shoppers; circles that would cover each other are moved apart just enough to show both. Axes: the two main directions of difference between shoppers (PCA), without units.', '每个小点是一位抽样用户，按分群着色；每个大圆是分群中心，大小表示人数；相互遮挡的圆会被稍微移开，以便都能看到。坐标轴为用户差异最大的两个方向（主成分），无单位。'],
  'segments.centres': ['Segment centres', '分群中心'],
  'segments.revenue': ['Revenue {0} · {1} of shop revenue', '成交额 {0}，占全店 {1}'],
  'segments.aov': ['Average order value {0} · {1} orders', '客单价 {0} · {1} 笔订单'],
  'segments.noOrders': ['No orders yet', '尚无订单'],
  'segments.lifecycle': ['Lifecycle', '生命周期'],
  'segments.buysMost': ['Spends most on', '主要消费品类'],
  'segments.browsesMost': ['Browses most (no purchases yet)', '主要浏览品类（尚无购买）'],
  'segments.brands': ['Favourite brands', '偏好品牌'],
  'segments.ofRevenue': ['{0} of its revenue', '占其成交额 {0}'],
  'segments.ofEvents': ['{0} of its item events', '占其商品行为 {0}'],
  'audience.pickTag': ['Add a tag…', '添加标签…'],
  'audience.pickCategory': ['Add a category…', '添加品类…'],
  'audience.tagsAny': ['Has any of these tags', '具有以下任一标签'],
  'audience.categories': ['Interested in these categories (at least this share of their interest)', '对以下品类感兴趣（兴趣占比不低于）'],
  'audience.remove': ['Remove', '移除'],
  'audience.users': ['{0} users', '{0} 人'],
  'search.query': ['Query', '搜索词'],
  'search.user': ['User', '用户'],
  'search.run': ['Search', '搜索'],
  'search.off': ['Personalisation off', '关闭个性化'],
  'search.on': ['Personalisation on', '开启个性化'],
  'search.noResults': ['No results.', '无结果。'],
  'search.newEntry': ['Not in the non-personal top results', '未出现在非个性化结果中'],
  'search.movedUp': ['Ranked higher than without personalisation', '比非个性化排名更高'],
  'search.movedDown': ['Ranked lower than without personalisation', '比非个性化排名更低'],
  'search.hint': ['Enter a query and pick a user.', '输入搜索词并选择用户。'],
  // Search playground: each result's price and category, and what the query was read as (issue 13, item 11).
  'search.price': ['Price', '价格'],
  'search.noPrice': ['not priced', '无标价'],
  'search.category': ['Category', '类目'],
  'search.brand': ['Brand', '品牌'],
  'search.understood': ['Read as:', '理解为：'],
  'search.priceMax': ['price ≤ {0}', '价格 ≤ {0}'],
  'search.priceMin': ['price ≥ {0}', '价格 ≥ {0}'],
  'search.prefers.low': ['prefers low prices', '偏好低价'],
  'search.prefers.high': ['prefers premium', '偏好高端'],
  'models.refresh': ['Last refresh', '最近刷新'],
  'models.tasks': ['Prediction tasks (validation and test scores)', '预测任务（验证与测试得分）'],
  'models.task': ['Task', '任务'],
  'models.learner': ['Learner', '模型'],
  'models.rows': ['Rows', '样本'],
  'models.positives': ['Positives', '正例'],
  'models.chosen': ['chosen', '选中'],
  'models.timings': ['Timings (s)', '耗时（秒）'],
  'models.reports': ['Stored reports', '已存报告'],
  'models.curves': ['Training curves', '训练曲线'],
  'models.noReports': ['No stored reports yet.', '尚无报告。'],
  'models.noCurves': ['No training curves stored yet.', '尚无训练曲线。'],
  // Models: metric names and directions.
  'models.metric': ['Metric', '指标'],
  'models.validation': ['Validation', '验证集'],
  'models.test': ['Test', '测试集'],
  'models.higher': ['higher is better', '越高越好'],
  'models.lower': ['lower is better', '越低越好'],
  'models.quality': ['Quality figures (named, with direction)', '质量指标（含名称与方向）'],
  'models.value': ['Value', '数值'],
  'models.target': ['Target', '目标'],
  'models.source': ['From', '来源'],
  'models.testFrom': ['Test figures: persona evaluate --task propensity (models trained before {0}, scored on the next {1} days).', '测试集指标：persona evaluate --task propensity（模型用 {0} 之前的数据训练，在其后 {1} 天上评分）。'],
  'models.noTest': ['Test figures come from persona evaluate; none stored for this task.', '测试集指标来自 persona evaluate；此任务暂无。'],
  'models.glossary': ['What the metrics mean', '指标说明'],
};

const EventTypeLabels = {
  view: ['view', '浏览'], click: ['click', '点击'], search: ['search', '搜索'], add_to_cart: ['add to cart', '加购'],
  favorite: ['favorite', '收藏'], purchase: ['purchase', '购买'], rate: ['rate', '评分'], review: ['review', '评价'],
  impression: ['impression', '曝光'],
};

const ValueLabels = {
  new: ['new', '新用户'], active: ['active', '活跃'], at_risk: ['at risk', '有流失风险'], churned: ['churned', '已流失'],
  low: ['low', '低'], mid: ['mid', '中'], high: ['high', '高'],
};

// Recommendation candidate sources, as the API names them.
const SourceLabels = {
  model: ['sequence model', '序列模型'], co_occurrence: ['bought/viewed together', '共同浏览/购买'], affinity: ['your categories and brands', '偏好品类与品牌'],
  popularity: ['popular now', '热门'], segment: ['popular with similar shoppers', '相似用户热门'],
};

let current = initial();

function initial() {
  const stored = globalThis.localStorage?.getItem(StorageKey);
  if (stored === 'en' || stored === 'zh') return stored;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const lang = () => current;

export function setLang(value) {
  current = value === 'zh' ? 'zh' : 'en';
  localStorage.setItem(StorageKey, current);
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
}

/** The label for key in the current language, with {0}, {1}… replaced by args. */
export function t(key, ...args) {
  const pair = Labels[key];
  const text = pair ? pair[current === 'zh' ? 1 : 0] : key;
  return text.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

/** Picks the Chinese or English one of a bilingual pair, falling back to whichever exists. */
export const pick = (en, zh) => (current === 'zh' ? zh || en : en || zh) ?? '';

export const eventType = (type) => pick(...(EventTypeLabels[type] ?? [type, type]));

export const valueLabel = (value) => (value == null ? '—' : pick(...(ValueLabels[value] ?? [value, value])));

export const sourceLabel = (source) => pick(...(SourceLabels[source] ?? [source, source]));
