import { t } from '../i18n.js';
import { h, fmt, fmtInt, when } from '../dom.js';
import { get, problem } from '../api.js';
import { chart } from '../charts.js';
import { reportTables, findCurves, formatValue } from './reports.js';

export async function renderModels(root, { isCurrent }) {
  const [overview, reports] = await Promise.all([get('/v1/admin/overview'), get('/v1/admin/reports')]);
  if (!isCurrent()) return;
  root.append(h('h1', {}, t('nav.models')));
  if (!reports.ok || !overview.ok) {
    root.append(h('div', { class: 'error' }, problem(reports.ok ? overview : reports)));
    return;
  }
  const refresh = overview.data.models.last_refresh;
  root.append(h('section', { class: 'panel', 'data-testid': 'model-refresh' }, h('h2', {}, t('models.refresh')), refresh ? refreshView(refresh) : h('p', { class: 'muted' }, t('overview.noModels'))));

  const stored = reports.data.reports.filter((r) => !(r.kind === 'models' && r.key === 'summary'));
  const curves = stored.flatMap((r) => (r.report ? findCurves(r.report).map((c) => ({ ...c, title: `${r.kind} / ${r.key} · ${c.title}` })) : []));
  const curvesPanel = h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'training-curves' }, h('h2', {}, t('models.curves')));
  root.append(curvesPanel);
  if (!curves.length) curvesPanel.append(h('p', { class: 'muted' }, t('models.noCurves')));
  for (const c of curves) {
    const el = h('div', { class: 'chart' });
    curvesPanel.append(h('h3', {}, c.title), el);
    chart(el, {
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', name: c.xName ?? '', minInterval: 1 },
      yAxis: { type: 'value', scale: true },
      series: c.series.map((s) => ({ name: s.name, type: 'line', showSymbol: false, data: s.data })),
    });
  }

  root.append(h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'stored-reports' },
    h('h2', {}, t('models.reports')),
    stored.length
      ? stored.map((r) => h('div', {}, h('h3', {}, `${r.kind} / ${r.key}`), r.report ? reportTables(r.report) : h('p', { class: 'muted' }, `${fmtInt(r.chars)} chars · ${r.omitted}`)))
      : h('p', { class: 'muted' }, t('models.noReports'))));
}

function refreshView(r) {
  const metricKeys = ['validation', 'test', 'test_log_loss', 'test_mape'];
  const rows = r.tasks.flatMap((task) => task.scores.map((s, i) => h('tr', {},
    i === 0 ? h('td', { rowspan: task.scores.length }, task.task) : null,
    i === 0 ? h('td', { rowspan: task.scores.length, class: 'num' }, fmtInt(task.rows)) : null,
    i === 0 ? h('td', { rowspan: task.scores.length, class: 'num' }, fmtInt(task.positives)) : null,
    h('td', {}, s.learner, s.learner === task.learner ? h('span', { class: 'badge active', style: 'margin-left:6px' }, t('models.chosen')) : ''),
    metricKeys.map((k) => h('td', { class: 'num' }, formatValue(s[k]))))));
  return h('div', {},
    h('p', { class: 'muted' }, `${when(r.as_of)} · ${fmtInt(r.users)} users · ${r.prediction_model ?? '—'} · ${r.segment_model ?? '—'}${r.skipped ? ` · ${r.skipped}` : ''}`),
    h('h3', {}, t('models.tasks')),
    r.tasks.length
      ? h('table', { 'data-testid': 'task-table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('models.task')), h('th', { class: 'num' }, t('models.rows')), h('th', { class: 'num' }, t('models.positives')), h('th', {}, t('models.learner')),
          metricKeys.map((k) => h('th', { class: 'num' }, k.replace(/_/g, ' '))))),
        h('tbody', {}, rows))
      : h('p', { class: 'muted' }, t('common.none')),
    h('h3', {}, t('models.timings')),
    reportTables({ split: r.split_seconds, train: r.train_seconds, predict: r.predict_seconds, segment: r.segment_seconds, total: r.total_seconds }),
    h('p', { class: 'muted' }, `${fmt(r.total_seconds, 2)} s`));
}
