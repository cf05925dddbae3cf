import { t, pick, eventType, valueLabel, sourceLabel } from '../i18n.js';
import { h, clear, fmt, fmtInt, pct, when, meter } from '../dom.js';
import { get, problem, hasEndpoint, enc } from '../api.js';
import { chart } from '../charts.js';

const TimelineLimit = 30;
const RecommendationsPath = '/v1/users/{id}/recommendations';

export async function renderUsers(root, { args, isCurrent }) {
  const selected = args[0] ?? null;
  const search = h('input', { type: 'search', placeholder: t('users.placeholder'), 'data-testid': 'user-search' });
  const count = h('div', { class: 'muted', style: 'margin-top:6px', 'data-testid': 'user-count' });
  // Find shoppers by segment, lifecycle, purchasing power or tag; the choices come from the API.
  const choices = await get('/v1/audiences/choices');
  if (!isCurrent()) return;
  const option = (value, label) => h('option', { value }, label);
  const filters = {
    segment: h('select', { 'data-testid': 'filter-segment' }, option('', t('users.anySegment')),
      (choices.ok ? choices.data.segments : []).map((c) => option(c.key, `${pick(c.label_en, c.label_zh)} (${fmtInt(c.users)})`))),
    lifecycle: h('select', { 'data-testid': 'filter-lifecycle' }, option('', t('users.anyLifecycle')),
      (choices.ok ? choices.data.lifecycle : []).map((c) => option(c.key, `${valueLabel(c.key)} (${fmtInt(c.users)})`))),
    tier: h('select', { 'data-testid': 'filter-tier' }, option('', t('users.anyTier')),
      (choices.ok ? choices.data.tiers : []).map((c) => option(c.key, `${t('users.tierOption', valueLabel(c.key))} (${fmtInt(c.users)})`))),
    tag: h('select', { 'data-testid': 'filter-tag' }, option('', t('users.anyTag')),
      (choices.ok ? choices.data.tags : []).map((c) => option(c.key, `${pick(c.label_en, c.label_zh)} (${fmtInt(c.users)})`))),
  };
  const list = h('ul', { class: 'user-list', 'data-testid': 'user-list' });
  const detail = h('div', { 'data-testid': 'user-detail' });
  root.append(
    h('h1', {}, t('nav.users')),
    h('div', { class: 'users-layout' },
      h('aside', { class: 'panel' }, h('h2', {}, t('users.find')), search,
        h('div', { class: 'filters', 'data-testid': 'user-filters' }, h('h3', {}, t('users.filters')), Object.values(filters)),
        count, list),
      detail));

  let listed = 0;
  const loadList = async (q) => {
    const mine = ++listed;
    const params = Object.entries(filters).filter(([, el]) => el.value).map(([name, el]) => `&${name}=${enc(el.value)}`).join('');
    const response = await get(`/v1/users?limit=50&q=${enc(q)}${params}`);
    if (!isCurrent() || mine !== listed) return;
    if (!response.ok) {
      clear(count).append(h('span', { class: 'error' }, problem(response)));
      return;
    }
    clear(count).append(t('users.matches', fmtInt(response.data.total)));
    clear(list).append(...response.data.users.map((id) =>
      h('li', {}, h('button', { type: 'button', class: id === selected ? 'active' : '', 'data-user': id, onclick: () => { location.hash = `#/users/${enc(id)}`; } }, id))));
  };
  let debounce = 0;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => loadList(search.value.trim()), 200);
  });
  for (const el of Object.values(filters)) el.addEventListener('change', () => loadList(search.value.trim()));
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && search.value.trim()) location.hash = `#/users/${enc(search.value.trim())}`;
  });

  const categoryLabels = new Map((choices.ok ? choices.data.categories : []).map((c) => [c.key, c]));
  await Promise.all([loadList(''), selected ? renderUser(detail, selected, isCurrent, categoryLabels) : Promise.resolve(detail.append(h('p', { class: 'panel muted' }, t('users.pick'))))]);
}

async function renderUser(root, userId, isCurrent, categoryLabels) {
  const [profile, events, canRecommend] = await Promise.all([
    get(`/v1/users/${enc(userId)}/profile`),
    get(`/v1/users/${enc(userId)}/events?limit=${TimelineLimit}`),
    hasEndpoint(RecommendationsPath),
  ]);
  if (!isCurrent()) return;
  if (!profile.ok) {
    root.append(h('div', { class: 'error', 'data-testid': 'profile-error' }, `${t('users.notFound')} ${problem(profile)}`));
    return;
  }
  const p = profile.data;
  const affinityEl = h('div', { class: 'chart' });
  const radarEl = h('div', { class: 'chart' });
  const evidence = h('div', { 'data-testid': 'evidence' }, h('p', { class: 'muted' }, t('users.evidenceHint')));
  const recommendations = h('div', { 'data-testid': 'recommendations' }, h('p', { class: 'muted' }, t('common.loading')));

  root.append(h('div', { class: 'grid' },
    h('section', { class: 'panel', 'data-testid': 'profile-card', 'data-user': p.user_id },
      h('h2', {}, `${t('users.profile')} · ${p.user_id}`),
      summary(p.summary),
      card(p),
      h('h3', {}, t('users.tags')),
      tags(p, userId, evidence, isCurrent),
      evidence),
    h('div', { class: 'grid cols-2' },
      h('section', { class: 'panel' }, h('h2', {}, t('users.affinities')), affinityEl),
      h('section', { class: 'panel' }, h('h2', {}, `${t('users.affinities')} · L1`), radarEl)),
    h('div', { class: 'grid cols-3' },
      h('section', { class: 'panel' }, h('h2', {}, t('users.rfm')), rfm(p.traits.rfm), h('h3', {}, t('users.priceBands')), affinityBars(p.affinities.price_bands, 'price-bands'), h('h3', {}, t('users.brands')), affinityBars(p.affinities.brands.slice(0, 5), 'brands')),
      h('section', { class: 'panel', 'data-testid': 'predictions' }, h('h2', {}, t('users.predictions')), predictions(p.predictions, p.affinities.categories, p.embedding_model_version, categoryLabels)),
      h('section', { class: 'panel' }, h('h2', {}, t('users.recommendations')), recommendations)),
    h('section', { class: 'panel' }, h('h2', {}, t('users.timeline')), timeline(events))));

  categoryCharts(p.affinities.categories, affinityEl, radarEl);
  await renderRecommendations(recommendations, userId, canRecommend, isCurrent);
}

/** The profile's narrative in the page's language, with who wrote it (the chat model, or the template while none has). */
function summary(s) {
  if (!s) return '';
  const by = s.source === 'model'
    ? `${t('users.summaryByModel')} ${s.model ?? ''} · v${s.version}`
    : t(s.pending ? 'users.summaryPending' : 'users.summaryTemplate');
  return h('div', { class: 'summary', 'data-testid': 'profile-summary', 'data-source': s.source },
    h('p', { 'data-testid': 'profile-summary-text' }, pick(s.en, s.zh)),
    h('p', { class: 'muted small' }, by));
}

function card(p) {
  const tr = p.traits;
  const row = (key, ...value) => [h('dt', {}, t(key)), h('dd', {}, ...value)];
  return h('dl', { class: 'kv' },
    row('users.lifecycle', h('span', { class: `badge ${tr.lifecycle}`, 'data-testid': 'lifecycle' }, valueLabel(tr.lifecycle))),
    row('users.segment', p.segment ? pick(p.segment.label_en, p.segment.label_zh) : '—'),
    row('users.activity', valueLabel(tr.activity_level), h('span', { class: 'muted' }, ` · ${fmt(tr.events_per_active_day, 1)} ${t('users.perDay')}`)),
    row('users.power', valueLabel(tr.purchasing_power_tier), tr.price_percentile == null ? '' : h('span', { class: 'muted' }, ` · P${Math.round(tr.price_percentile * 100)}`)),
    row('users.sensitivity', tr.price_sensitivity == null ? '—' : h('div', { 'data-testid': 'price-sensitivity' },
      h('div', { class: 'meter-row' }, h('div', { style: 'width:180px' }, meter(tr.price_sensitivity)), h('span', { class: 'num', 'data-testid': 'price-sensitivity-value' }, fmt(tr.price_sensitivity, 2))),
      h('div', { class: 'muted small' }, t('users.sensitivityHint')))),
    row('users.events', fmtInt(p.event_count)),
    row('users.firstSeen', when(tr.first_seen)),
    row('users.lastSeen', when(tr.last_seen)),
    row('users.device', `${tr.preferred_device ?? '—'} / ${tr.preferred_channel ?? '—'}`));
}

function tags(p, userId, evidence, isCurrent) {
  if (!p.tags.length) return h('p', { class: 'muted' }, t('users.noTags'));
  const chips = h('div', { class: 'chips', 'data-testid': 'tags' });
  for (const tag of p.tags) {
    const chip = h('button', {
      type: 'button', class: 'chip', 'data-testid': 'tag-chip', 'data-key': tag.key, title: tag.key,
      onclick: async () => {
        for (const other of chips.children) other.classList.toggle('active', other === chip);
        const name = pick(tag.label_en, tag.label_zh);
        clear(evidence).append(h('h3', {}, t('users.evidence', name)), h('p', { class: 'muted' }, t('common.loading')));
        const ids = tag.evidence_event_ids ?? [];
        const response = ids.length ? await get(`/v1/users/${enc(userId)}/events?ids=${ids.map(enc).join(',')}`) : { ok: true, data: { events: [] } };
        if (!isCurrent() || !chip.classList.contains('active')) return;
        clear(evidence).append(h('h3', {}, t('users.evidence', name)),
          response.ok ? eventList(response.data.events, 'evidence-events') : h('div', { class: 'error' }, problem(response)));
      },
    }, pick(tag.label_en, tag.label_zh), h('span', { class: 'conf' }, pct(tag.confidence)));
    chips.append(chip);
  }
  return chips;
}

function rfm(r) {
  const row = (key, value, score) => h('tr', {}, h('th', {}, t(key)), h('td', { class: 'num' }, value), h('td', { class: 'muted' }, `${t('users.score')} ${score}/5`));
  return h('table', { 'data-testid': 'rfm' }, h('tbody', {},
    row('users.recency', fmt(r.recency_days, 1), r.recency_score),
    row('users.frequency', fmtInt(r.frequency), r.frequency_score),
    row('users.monetary', fmtInt(r.monetary), r.monetary_score)));
}

function affinityBars(list, id) {
  if (!list?.length) return h('p', { class: 'muted' }, t('common.none'));
  return h('table', { 'data-testid': id }, h('tbody', {}, list.map((a) =>
    h('tr', {}, h('td', {}, pick(a.label_en, a.label_zh)), h('td', { style: 'width:45%' }, meter(a.share)), h('td', { class: 'num' }, pct(a.share))))));
}

function categoryCharts(categories, barEl, radarEl) {
  // Leaves (the deepest level present) as bars; top-level categories as a radar.
  const deepest = Math.max(0, ...categories.map((c) => c.level));
  const leaves = categories.filter((c) => c.level === deepest).slice(0, 10).reverse();
  chart(barEl, {
    grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
    yAxis: { type: 'category', data: leaves.map((c) => pick(c.label_en, c.label_zh)) },
    tooltip: { trigger: 'axis', valueFormatter: (v) => pct(v) },
    series: [{ type: 'bar', data: leaves.map((c) => Number(c.share.toFixed(4))), label: { show: true, position: 'right', formatter: (d) => pct(d.value) } }],
  });
  const roots = categories.filter((c) => c.level === 1).slice(0, 8);
  if (roots.length < 3) {
    radarEl.replaceWith(affinityBars(roots, 'root-categories'));
    return;
  }
  const max = Math.max(...roots.map((c) => c.share));
  chart(radarEl, {
    tooltip: {},
    radar: { indicator: roots.map((c) => ({ name: pick(c.label_en, c.label_zh), max })), radius: '65%' },
    series: [{ type: 'radar', areaStyle: { opacity: 0.25 }, data: [{ value: roots.map((c) => Number(c.share.toFixed(4))), name: t('users.affinities') }] }],
  });
}

function predictions(p, categories, sequenceVersion, categoryLabels) {
  const name = (key) => {
    const known = categories.find((c) => c.key === key) ?? categoryLabels.get(key);
    return known ? pick(known.label_en, known.label_zh) : key;
  };
  if (!p) return h('p', { class: 'muted' }, t('users.noPredictions'));
  const row = (key, value) => h('tr', {}, h('th', {}, t(key)), h('td', { style: 'width:40%' }, meter(value)), h('td', { class: 'num' }, pct(value)));
  return h('div', {},
    h('table', {}, h('tbody', {}, row('users.purchasePropensity', p.purchase_propensity), row('users.churnRisk', p.churn_risk))),
    h('h3', {}, t('users.nextCategories')),
    p.next_categories?.length
      ? [h('ol', { 'data-testid': 'next-categories' }, p.next_categories.slice(0, 5).map((c) => h('li', {}, `${name(c.key)} · ${pct(c.score)}`))),
        // The sequence model's enricher replaces the propensity model's list when a sequence model serves this shopper.
        h('p', { class: 'muted small', 'data-testid': 'next-categories-meaning' }, t(sequenceVersion ? 'users.nextFromSequence' : 'users.nextFromPropensity'))]
      : h('p', { class: 'muted' }, t('common.none')),
    h('p', { class: 'muted' }, p.model_version ?? ''));
}

function timeline(response) {
  if (!response.ok) return h('div', { class: 'error' }, problem(response));
  return eventList(response.data.events, 'timeline');
}

function eventList(events, id) {
  if (!events.length) return h('p', { class: 'muted', 'data-testid': id }, t('common.none'));
  return h('ul', { class: 'timeline', 'data-testid': id }, events.map(({ event: e, item }) =>
    h('li', { 'data-event': e.id },
      h('span', { class: 'muted' }, when(e.timestamp)),
      h('span', { class: `type ${e.type}` }, eventType(e.type)),
      h('span', {},
        e.type === 'search' ? `“${e.query ?? ''}”` : item ? pick(item.title, item.title_zh) : (e.item_id ?? ''),
        item ? h('span', { class: 'muted' }, ` · ${pick(item.category_path.join(' > '), item.category_path_zh)}${item.price == null ? '' : ` · ¥${fmtInt(item.price)}`}`) : '',
        e.value != null && e.type === 'rate' ? h('span', { class: 'muted' }, ` · ★${e.value}`) : ''))));
}

async function renderRecommendations(root, userId, available, isCurrent) {
  if (!available) {
    clear(root).append(h('p', { class: 'note', 'data-testid': 'recommendations-unavailable' }, t('common.notAvailable', 'GET /v1/users/{id}/recommendations')));
    return;
  }
  const response = await get(`/v1/users/${enc(userId)}/recommendations`);
  if (!isCurrent()) return;
  if (response.status === 404) {
    clear(root).append(h('p', { class: 'note', 'data-testid': 'recommendations-unavailable' }, `${t('users.noRecommendations')} ${problem(response)}`));
    return;
  }
  if (!response.ok) {
    clear(root).append(h('div', { class: 'error' }, problem(response)));
    return;
  }
  const items = listOf(response.data);
  if (!items.length) {
    clear(root).append(h('p', { class: 'muted' }, t('users.noRecommendations')));
    return;
  }
  // Chinese titles live in the items' attributes (title_zh); read them for the listed items.
  const zh = new Map(await Promise.all(items.map(async (r) => {
    const id = r.item_id ?? r.id;
    if (r.title_zh || r.item?.attributes?.title_zh || !id) return [id, r.title_zh ?? r.item?.attributes?.title_zh];
    const item = await get(`/v1/items/${enc(id)}`);
    return [id, item.ok ? item.data.attributes?.title_zh : null];
  })));
  if (!isCurrent()) return;
  clear(root).append(h('ol', { class: 'results', 'data-testid': 'recommendation-list' }, items.map((r) =>
    h('li', { 'data-item': r.item_id ?? r.id },
      h('strong', { 'data-testid': 'recommendation-title' }, pick(r.title ?? r.item?.title ?? r.item_id ?? r.id, zh.get(r.item_id ?? r.id))),
      r.score == null ? '' : h('span', { class: 'muted' }, ` · ${fmt(r.score)}`),
      h('div', { class: 'breakdown' }, reasons(r).join(' · ')),
      r.sources?.length ? h('div', { class: 'breakdown', 'data-testid': 'recommendation-sources' }, `${t('users.sources')}${pick(': ', '：')}${r.sources.map(sourceLabel).join(pick(', ', '、'))}`) : ''))));
}

/** Results under whichever name the endpoint uses. */
export const listOf = (data) => (Array.isArray(data) ? data : data?.items ?? data?.hits ?? data?.recommendations ?? data?.results ?? []);

/** Reasons as text in the current language, whether sent as strings or bilingual objects. */
export function reasons(r) {
  const list = r.reasons ?? (r.reason ? [r.reason] : []);
  return list.map((x) => (typeof x === 'string' ? x : pick(x.label_en ?? x.en ?? x.text, x.label_zh ?? x.zh)));
}
