import { t, pick, valueLabel } from '../i18n.js';
import { h, clear, fmtInt, pct, when } from '../dom.js';
import { get, problem, enc } from '../api.js';
import { chart } from '../charts.js';
import { reportTables, scalarFields } from './reports.js';

const RefreshMs = 5000;
const Stages = ['new', 'active', 'at_risk', 'churned'];
const StageColours = { new: '#3b82f6', active: '#10b981', at_risk: '#f59e0b', churned: '#ef4444' };

export const money = (n, currency = 'CNY') =>
  (n == null ? '—' : `${currency === 'CNY' ? '¥' : `${currency} `}${Number(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);

export async function renderOverview(root, { isCurrent, onLeave }) {
  const [overview, reports, figures] = await Promise.all([get('/v1/admin/overview'), get('/v1/admin/reports'), get('/v1/admin/overview/figures')]);
  if (!isCurrent()) return;
  if (!overview.ok) {
    root.append(h('div', { class: 'error' }, problem(overview)));
    return;
  }
  const stats = h('div', { class: 'stats', 'data-testid': 'overview-stats' });
  const ingestEl = h('div', { class: 'chart small' });
  const modelsEl = h('div', { 'data-testid': 'overview-models' });
  const shop = h('section', { class: 'panel', 'data-testid': 'overview-figures' });
  root.append(
    h('h1', {}, t('nav.overview')),
    shop,
    h('h2', { style: 'margin-top:20px' }, t('overview.store')),
    stats,
    figures.ok ? population(figures.data.population) : null,
    h('div', { class: 'grid cols-2', style: 'margin-top:16px' },
      h('section', { class: 'panel' }, h('h2', {}, t('overview.ingest')), ingestEl),
      h('section', { class: 'panel' }, h('h2', {}, t('overview.models')), modelsEl)),
    figures.ok ? modelsInService(figures.data.models) : null,
    h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'overview-evaluation' },
      h('h2', {}, t('overview.evaluation')), evaluation(reports)));
  if (figures.ok) shopFigures(shop, figures.data, isCurrent);
  else shop.append(h('div', { class: 'error' }, problem(figures)));

  const ingest = chart(ingestEl, {
    grid: { left: 40, right: 10, top: 10, bottom: 24 },
    xAxis: { type: 'category', data: [], axisLabel: { interval: 14 } },
    yAxis: { type: 'value', minInterval: 1 },
    tooltip: { trigger: 'axis' },
    series: [{ type: 'bar', data: [], barCategoryGap: '10%' }],
  });

  const draw = (data) => {
    const s = data.stats;
    clear(stats).append(
      stat('overview.users', fmtInt(s.users), 'stat-users'),
      stat('overview.items', fmtInt(s.items), 'stat-items'),
      stat('overview.events', fmtInt(s.events), 'stat-events'),
      stat('overview.profiles', fmtInt(s.profiles), 'stat-profiles'),
      stat('overview.eventsPerMinute', fmtInt(data.events_last_minute), 'stat-epm'),
      stat('overview.dataClock', when(s.data_clock), 'stat-clock'),
      stat('overview.hotStates', `${fmtInt(data.shopper_states.hot_bytes / 1048576)} / ${fmtInt(data.shopper_states.budget_bytes / 1048576)}`, 'stat-hot-states'),
      stat('overview.coldTraffic', `${fmtInt(data.shopper_states.loads)} / ${fmtInt(data.shopper_states.evictions)}`, 'stat-cold-traffic'));
    const n = data.events_per_second.length;
    ingest.setOption({
      xAxis: { data: data.events_per_second.map((_, i) => `-${n - 1 - i}s`) },
      series: [{ data: data.events_per_second }],
    });
    clear(modelsEl).append(models(data.models));
  };
  draw(overview.data);

  // Live figures while the page is open.
  const timer = setInterval(async () => {
    const next = await get('/v1/admin/overview');
    if (isCurrent() && next.ok) draw(next.data);
  }, RefreshMs);
  onLeave(() => clearInterval(timer));
}

const stat = (key, value, id) =>
  h('div', { class: 'stat', 'data-testid': id }, h('div', { class: 'label' }, t(key)), h('div', { class: 'value' }, value));

/** The range picker, the figures for the range, the daily trend and the lifecycle mix; a new range re-reads only this panel. */
function shopFigures(panel, data, isCurrent) {
  const from = h('input', { type: 'date', 'data-testid': 'range-from', min: data.data_from, max: data.data_to, value: data.from ?? '' });
  const to = h('input', { type: 'date', 'data-testid': 'range-to', min: data.data_from, max: data.data_to, value: data.to ?? '' });
  const kpis = h('div', { class: 'stats', 'data-testid': 'shop-kpis' });
  const trendEl = h('div', { class: 'chart', 'data-testid': 'trend-chart' });
  const lifecycleEl = h('div', { class: 'chart', 'data-testid': 'lifecycle-chart' });
  const lifecycleText = h('p', { class: 'muted', 'data-testid': 'lifecycle-mix' });
  const error = h('div');
  const preset = (key, days) => h('button', { type: 'button', class: 'link', 'data-testid': `range-${days ?? 'all'}`, onclick: () => {
    if (!data.data_to) return;
    to.value = data.data_to;
    from.value = days == null ? data.data_from : shiftDay(data.data_to, -(days - 1), data.data_from);
    load();
  } }, t(key));
  panel.append(
    h('div', { class: 'row', style: 'justify-content:space-between' },
      h('h2', { style: 'margin:0' }, t('overview.shop')),
      h('div', { class: 'row', 'data-testid': 'range-picker' },
        h('span', { class: 'muted' }, t('overview.range')), from, h('span', {}, t('overview.rangeTo')), to,
        preset('overview.range7', 7), preset('overview.range30', 30), preset('overview.rangeAll', null))),
    h('p', { class: 'muted', 'data-testid': 'data-span' }, data.data_from ? t('overview.dataSpan', data.data_from, data.data_to) : t('common.none')),
    error,
    kpis,
    h('div', { class: 'grid cols-2' },
      h('div', {}, h('h3', {}, t('overview.trend')), trendEl),
      h('div', {}, h('h3', {}, t('overview.lifecycle')), lifecycleEl, lifecycleText)),
    h('p', { class: 'muted small' }, t('overview.definitions')));

  const trend = chart(trendEl, {
    legend: { top: 0 },
    grid: { left: 64, right: 40, top: 36, bottom: 28 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: [] },
    yAxis: [
      { type: 'value', axisLabel: { formatter: (v) => `¥${fmtInt(v)}` } },
      { type: 'value', minInterval: 1, splitLine: { show: false } },
    ],
    series: [],
  });
  const lifecycle = chart(lifecycleEl, {
    tooltip: { trigger: 'item', formatter: (d) => `${d.name}: ${fmtInt(d.value)} (${d.percent}%)` },
    legend: { bottom: 0 },
    series: [{ type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'], label: { formatter: (d) => `${d.name}\n${d.percent.toFixed(1)}%` }, data: [] }],
  });

  const show = (f) => {
    clear(kpis).append(
      stat('overview.revenue', money(f.revenue, f.currency), 'kpi-revenue'),
      stat('overview.orders', fmtInt(f.orders), 'kpi-orders'),
      stat('overview.activeShoppers', fmtInt(f.active_shoppers), 'kpi-active'),
      stat('overview.buyers', fmtInt(f.buyers), 'kpi-buyers'),
      stat('overview.conversion', pct(f.conversion), 'kpi-conversion'),
      stat('overview.aov', money(f.average_order_value, f.currency), 'kpi-aov'));
    trend.setOption({
      xAxis: { data: f.daily.map((d) => d.date.slice(5)) },
      series: [
        { name: t('overview.revenue'), type: 'bar', yAxisIndex: 0, data: f.daily.map((d) => d.revenue), itemStyle: { color: '#93b4fb' } },
        { name: t('overview.orders'), type: 'line', yAxisIndex: 1, showSymbol: false, data: f.daily.map((d) => d.orders), itemStyle: { color: '#f59e0b' } },
        { name: t('overview.visitors'), type: 'line', yAxisIndex: 1, showSymbol: false, data: f.daily.map((d) => d.visitors), itemStyle: { color: '#10b981' } },
      ],
    });
    const mix = Stages.map((s) => ({ name: valueLabel(s), value: f.lifecycle[s] ?? 0, itemStyle: { color: StageColours[s] } }));
    lifecycle.setOption({ series: [{ data: mix }] });
    const total = mix.reduce((a, m) => a + m.value, 0);
    lifecycleText.textContent = mix.map((m) => `${m.name} ${fmtInt(m.value)} (${pct(total ? m.value / total : null)})`).join(' · ');
  };

  async function load() {
    const query = [from.value && `from=${enc(from.value)}`, to.value && `to=${enc(to.value)}`].filter(Boolean).join('&');
    panel.dataset.loading = 'true';
    const next = await get(`/v1/admin/overview/figures${query ? `?${query}` : ''}`);
    if (!isCurrent()) return;
    clear(error);
    if (next.ok) show(next.data);
    else error.append(h('div', { class: 'error', 'data-testid': 'range-error' }, problem(next)));
    panel.dataset.range = `${from.value}..${to.value}`;
    panel.dataset.loading = 'false';
  }
  from.addEventListener('change', load);
  to.addEventListener('change', load);
  show(data);
  panel.dataset.range = `${from.value}..${to.value}`;
}

/** yyyy-mm-dd moved by days, not before floor. */
function shiftDay(iso, days, floor) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  const moved = d.toISOString().slice(0, 10);
  return floor && moved < floor ? floor : moved;
}

function population(p) {
  return h('p', { class: 'note', 'data-testid': 'population-note' },
    h('strong', {}, `${t('overview.population')}: `),
    t('overview.populationText', fmtInt(p.users), fmtInt(p.profiles), fmtInt(p.users_without_events), fmtInt(p.profiles_without_user_record), fmtInt(p.consent_withdrawn)));
}

function modelsInService(list) {
  return h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'models-in-service' },
    h('h2', {}, t('overview.inService')),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, t('overview.model')), h('th', {}, t('overview.version')), h('th', {}, t('overview.trainedAt')), h('th', {}, t('overview.about')))),
      h('tbody', {}, list.map((m) => h('tr', { 'data-model': m.name },
        h('td', {}, h('strong', {}, t(`model.${m.name}`)), ' ', h('span', { class: `badge ${m.status === 'serving' ? 'active' : 'at_risk'}` }, t(`model.${m.status}`))),
        h('td', { class: 'mono' }, m.version ?? '—'),
        h('td', {}, when(m.trained_at)),
        h('td', {}, pick(m.detail_en, m.detail_zh)))))));
}

function models(m) {
  if (!m.prediction_model && !m.segment_model) return h('p', { class: 'muted' }, t('overview.noModels'));
  const row = (key, value) => [h('dt', {}, t(key)), h('dd', {}, value ?? '—')];
  return h('dl', { class: 'kv' },
    row('overview.predictionModel', m.prediction_model),
    row('overview.segmentModel', m.segment_model),
    row('overview.segmentCount', m.segments),
    row('overview.refreshedAt', when(m.last_refresh?.as_of)));
}

function evaluation(reports) {
  const list = (reports.ok ? reports.data.reports : []).filter((r) => r.kind === 'evaluation' && r.report);
  if (list.length === 0) return h('p', { class: 'muted' }, t('overview.noReports'));
  // The propensity evaluation's per-task tables are on the Models page; its headline figures are enough here.
  return list.map((r) => h('div', {}, h('h3', {}, `${r.kind} / ${r.key}`), reportTables(r.key === 'propensity' ? scalarFields(r.report) : r.report)));
}
