import { t, pick, sourceLabel } from '../i18n.js';
import { h, clear, fmt, fmtInt, pct, when } from '../dom.js';
import { get, post, problem, enc } from '../api.js';
import { chart } from '../charts.js';
import { money } from './overview.js';

/** Surfaces in the order the charts and tables show them; the ledger names events it could not attribute 'unattributed'. */
const Surfaces = ['recommendations', 'similar', 'search', 'unattributed'];
const Positions = ['1', '2-3', '4-10', '11+', 'unknown'];
const Ranges = { '24h': 24, '7d': 24 * 7 };
const HourMs = 3600_000;
const Alpha = 0.05;

const surfaceLabel = (s) => t(`online.surface.${s}`);
const shownOf = (r) => (r.basis === 'served' ? r.served : r.impressions);
const interval = (i) => [pct(i.estimate), h('span', { class: 'muted small' }, ` [${pct(i.low)}, ${pct(i.high)}]`)];
const windowText = (minutes) => (minutes % 60 === 0 ? t('online.hours', fmtInt(minutes / 60)) : t('online.minutes', fmtInt(minutes)));

export async function renderOnline(root, { isCurrent }) {
  const figures = h('div', { 'data-testid': 'online-figures' });
  const experiments = h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'experiments' });
  root.append(h('h1', {}, t('nav.online')), figures, experiments);
  await Promise.all([renderFigures(figures, isCurrent), renderExperiments(experiments, isCurrent)]);
}

/** The range picker, the explanation, the hourly charts and the table by source and position; a new range re-reads them. */
async function renderFigures(root, isCurrent) {
  const about = h('p', { class: 'muted small', 'data-testid': 'online-about' });
  const error = h('div');
  const ctrEl = h('div', { class: 'chart', 'data-testid': 'online-chart' });
  const conversionEl = h('div', { class: 'chart', 'data-testid': 'online-conversion-chart' });
  const table = h('div', {});
  const buttons = Object.keys(Ranges).map((range) =>
    h('button', { type: 'button', class: 'chip', 'data-testid': `range-${range}`, onclick: () => load(range) }, t(`online.range.${range}`)));
  const panel = h('section', { class: 'panel', 'data-testid': 'online-panel' },
    h('div', { class: 'row', style: 'justify-content:space-between' },
      h('h2', { style: 'margin:0' }, t('online.hourly')),
      h('div', { class: 'row', 'data-testid': 'online-range' }, h('span', { class: 'muted' }, t('online.range')), buttons)),
    about,
    error,
    h('div', { class: 'grid cols-2' },
      h('div', {}, h('h3', {}, t('online.ctrByHour')), ctrEl),
      h('div', {}, h('h3', {}, t('online.conversionByHour')), conversionEl)));
  root.append(panel, h('section', { class: 'panel', style: 'margin-top:16px' }, h('h2', {}, t('online.bySource')), table));

  const hourly = (el) => chart(el, {
    useUTC: true,
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 36, bottom: 28 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v == null ? '—' : `${fmt(v, 2)}%`) },
    xAxis: { type: 'time', name: 'UTC' },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: (v) => `${v}%` } },
    series: [],
  });
  const ctrChart = hourly(ctrEl);
  const conversionChart = hourly(conversionEl);

  async function load(range) {
    panel.dataset.loading = 'true';
    for (const b of buttons) b.classList.toggle('active', b.dataset.testid === `range-${range}`);
    const to = new Date();
    const from = new Date(to.getTime() - Ranges[range] * HourMs);
    const span = `from=${enc(from.toISOString())}&to=${enc(to.toISOString())}`;
    const [byHour, bySource] = await Promise.all([
      get(`/v1/metrics/online?by=surface,hour&${span}`),
      get(`/v1/metrics/online?by=surface,source,position&${span}`)]);
    if (!isCurrent()) return;
    clear(error);
    if (!byHour.ok || !bySource.ok) {
      error.append(h('div', { class: 'error' }, problem(byHour.ok ? bySource : byHour)));
      panel.dataset.loading = 'false';
      return;
    }
    const d = bySource.data;
    about.textContent = t('online.about', windowText(d.attribution_window_minutes), fmtInt(d.unattributed_events), fmtInt(d.answers_held));
    const hours = hoursOf(from, to);
    ctrChart.setOption({ series: lines(byHour.data.rows, hours, (r) => r.ctr) }, { replaceMerge: ['series'] });
    conversionChart.setOption({ series: lines(byHour.data.rows, hours, (r) => r.conversion) }, { replaceMerge: ['series'] });
    clear(table).append(sourceTable(d.rows));
    panel.dataset.range = range;
    panel.dataset.loading = 'false';
  }
  await load('24h');
}

/** Every hour start in the range, so hours without answers break the lines instead of joining them. */
function hoursOf(from, to) {
  const hours = [];
  for (let at = Math.floor(from.getTime() / HourMs) * HourMs; at < to.getTime(); at += HourMs) hours.push(at);
  return hours;
}

function lines(rows, hours, rate) {
  return Surfaces.filter((s) => rows.some((r) => r.surface === s)).map((s) => {
    const byHour = new Map(rows.filter((r) => r.surface === s).map((r) => [Date.parse(r.hour), r]));
    return {
      name: surfaceLabel(s),
      type: 'line',
      // Symbols always: an hour between two empty ones has no line to show it.
      symbolSize: hours.length <= 48 ? 6 : 3,
      data: hours.map((at) => {
        const r = byHour.get(at);
        return [at, r && shownOf(r) > 0 ? rate(r).estimate * 100 : null];
      }),
    };
  });
}

function sourceTable(rows) {
  if (!rows.length) return h('p', { class: 'muted', 'data-testid': 'online-empty' }, t('online.empty'));
  const order = (list, value) => (list.includes(value) ? list.indexOf(value) : list.length);
  const sorted = [...rows].sort((a, b) => order(Surfaces, a.surface) - order(Surfaces, b.surface)
    || sourceLabel(a.source).localeCompare(sourceLabel(b.source)) || order(Positions, a.position) - order(Positions, b.position));
  return h('table', { 'data-testid': 'online-table' },
    h('thead', {}, h('tr', {},
      h('th', {}, t('online.surface')), h('th', {}, t('online.source')), h('th', {}, t('online.position')),
      h('th', { class: 'num' }, t('online.shown')), h('th', { class: 'num' }, t('online.clicks')),
      h('th', { class: 'num' }, t('online.ctr')), h('th', { class: 'num' }, t('online.conversion')), h('th', { class: 'num' }, t('online.rpm')))),
    h('tbody', {}, sorted.map((r) => h('tr', { 'data-surface': r.surface, 'data-source': r.source, 'data-position': r.position },
      h('td', {}, surfaceLabel(r.surface)),
      h('td', {}, sourceLabel(r.source)),
      h('td', {}, r.position === 'unknown' ? t('online.unknownPosition') : r.position),
      h('td', { class: 'num' }, shownCell(r.basis, shownOf(r))),
      h('td', { class: 'num' }, fmtInt(r.clicks)),
      h('td', { class: 'num', 'data-testid': 'ctr' }, interval(r.ctr)),
      h('td', { class: 'num' }, interval(r.conversion)),
      h('td', { class: 'num' }, money(r.revenue_per_thousand.estimate))))));
}

const shownCell = (basis, n) => [fmtInt(n), basis === 'served' ? h('span', { class: 'muted small' }, ` ${t('online.servedBasis')}`) : ''];

/** Every experiment with its variants' figures and tests against the control; Start and Stop re-read the section. */
async function renderExperiments(root, isCurrent) {
  const response = await get('/v1/experiments');
  if (!isCurrent()) return;
  clear(root).append(h('h2', {}, t('online.experiments')));
  if (!response.ok) {
    root.append(h('div', { class: 'error' }, problem(response)));
    return;
  }
  if (!response.data.length) {
    root.append(h('p', { class: 'muted', 'data-testid': 'experiments-empty' }, t('online.noExperiments')));
    return;
  }
  root.append(h('p', { class: 'muted small' }, t('online.experimentsNote')));
  for (const report of response.data) root.append(experimentView(report, () => renderExperiments(root, isCurrent), isCurrent));
}

function experimentView({ experiment: e, variants, excluded }, reload, isCurrent) {
  const message = h('div', { 'data-testid': 'experiment-message' });
  const act = async (action) => {
    const result = await post(`/v1/experiments/${enc(e.id)}/${action}`);
    if (!isCurrent()) return;
    if (!result.ok) {
      message.replaceChildren(h('div', { class: 'error' }, problem(result)));
      return;
    }
    await reload();
  };
  const button = e.state === 'draft' ? h('button', { class: 'primary', 'data-testid': 'experiment-start', onclick: () => act('start') }, t('online.start'))
    : e.state === 'running' ? h('button', { class: 'primary', 'data-testid': 'experiment-stop', onclick: () => act('stop') }, t('online.stop')) : null;
  const rows = [...variants.map((v, i) => variantRow(v, i === 0)), excluded ? variantRow({ ...excluded, name: t('online.excluded') }, false) : null];
  const warnings = variants.filter((v) => v.warning);
  return h('div', { class: 'experiment', 'data-testid': 'experiment', 'data-id': e.id, 'data-state': e.state },
    h('div', { class: 'row', style: 'justify-content:space-between' },
      h('h3', { style: 'margin:0;color:inherit' }, e.name, ' ', h('span', { class: 'mono muted' }, e.id)),
      button),
    h('p', { class: 'muted small' },
      `${t('online.surfaceIs', surfaceLabel(e.surface))} · `,
      h('span', { class: `badge ${e.state === 'running' ? 'active' : e.state === 'stopped' ? 'churned' : ''}`, 'data-testid': 'experiment-state' }, t(`online.state.${e.state}`)),
      ` · ${t('online.minSample', fmtInt(e.min_sample))}`,
      e.started_at ? ` · ${t('online.started')} ${when(e.started_at)}` : '',
      e.stopped_at ? ` · ${t('online.stopped')} ${when(e.stopped_at)}` : ''),
    h('table', { 'data-testid': 'variants' },
      h('thead', {}, h('tr', {},
        h('th', {}, t('online.variant')), h('th', { class: 'num' }, t('online.traffic')), h('th', { class: 'num' }, t('online.shown')),
        h('th', { class: 'num' }, t('online.ctr')), h('th', { class: 'num' }, t('online.conversion')), h('th', { class: 'num' }, t('online.rpm')),
        h('th', {}, t('online.ctrVsControl')), h('th', {}, t('online.conversionVsControl')))),
      h('tbody', {}, rows)),
    warnings.map((v) => h('p', { class: 'note small', 'data-testid': 'sample-warning' }, `${v.name}: ${pick(v.warning.en, v.warning.zh)}`)),
    message);
}

function variantRow(v, control) {
  const f = v.figures;
  return h('tr', { 'data-variant': v.name },
    h('td', {}, v.name, control ? h('span', { class: 'badge', style: 'margin-left:6px' }, t('online.control')) : ''),
    h('td', { class: 'num' }, pct(v.traffic)),
    h('td', { class: 'num' }, shownCell(f.basis, f.shown)),
    h('td', { class: 'num', 'data-testid': 'ctr' }, interval(f.ctr)),
    h('td', { class: 'num' }, interval(f.conversion)),
    h('td', { class: 'num' }, money(f.revenue_per_thousand.estimate)),
    h('td', { 'data-testid': 'ctr-test' }, test(v.vs_control?.ctr)),
    h('td', {}, test(v.vs_control?.conversion)));
}

/** A difference in percentage points with its p-value; significant at 5 % is marked. */
function test(result) {
  if (!result) return h('span', { class: 'muted' }, '—');
  const points = result.difference * 100;
  const significant = result.p_value < Alpha;
  return h('span', {},
    `${points >= 0 ? '+' : ''}${fmt(points, 2)} ${t('online.pp')} · ${result.p_value < 0.001 ? 'p < 0.001' : `p = ${fmt(result.p_value, 3)}`}`,
    significant ? h('span', { class: 'badge active', style: 'margin-left:6px', 'data-testid': 'significant' }, t('online.significant')) : '');
}
