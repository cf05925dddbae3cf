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
  'overview.ingest': ['Events stored per second (last 60 s)', '每秒写入事件（最近 60 秒）'],
  'overview.models': ['Model versions', '模型版本'],
  'overview.predictionModel': ['Prediction model', '预测模型'],
  'overview.segmentModel': ['Segment model', '分群模型'],
  'overview.segmentCount': ['Segments', '分群数'],
  'overview.refreshedAt': ['Last refresh (as of)', '最近刷新（截至）'],
  'overview.noModels': ['No models trained yet.', '尚未训练模型。'],
  'overview.evaluation': ['Latest evaluation', '最新评估'],
  'overview.noReports': ['No stored evaluation reports yet (run persona evaluate).', '尚无评估报告（运行 persona evaluate）。'],
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
