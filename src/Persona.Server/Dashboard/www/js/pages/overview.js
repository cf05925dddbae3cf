import { t } from '../i18n.js';
import { h, clear, fmtInt, when } from '../dom.js';
import { get, problem } from '../api.js';
import { chart } from '../charts.js';
import { reportTables } from './reports.js';

const RefreshMs = 5000;

export async function renderOverview(root, { isCurrent, onLeave }) {
  const [overview, reports] = await Promise.all([get('/v1/admin/overview'), get('/v1/admin/reports')]);
  if (!isCurrent()) return;
  if (!overview.ok) {
    root.append(h('div', { class: 'error' }, problem(overview)));
    return;
  }
  const stats = h('div', { class: 'stats', 'data-testid': 'overview-stats' });
  const ingestEl = h('div', { class: 'chart small' });
  const modelsEl = h('div', { 'data-testid': 'overview-models' });
  root.append(
    h('h1', {}, t('nav.overview')),
    stats,
    h('div', { class: 'grid cols-2' },
      h('section', { class: 'panel' }, h('h2', {}, t('overview.ingest')), ingestEl),
      h('section', { class: 'panel' }, h('h2', {}, t('overview.models')), modelsEl)),
    h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'overview-evaluation' },
      h('h2', {}, t('overview.evaluation')), evaluation(reports)));

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
      stat('overview.dataClock', when(s.data_clock), 'stat-clock'));
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
  return list.map((r) => h('div', {}, h('h3', {}, `${r.kind} / ${r.key}`), reportTables(r.report)));
}
