import { t, pick } from '../i18n.js';
import { h, fmt, fmtInt, when, clear, meter } from '../dom.js';
import { get, post, problem, enc } from '../api.js';
import { chart } from '../charts.js';
import { reportTables, findCurves, formatValue, scalarFields } from './reports.js';
import { Metrics } from '../metrics.js';

/** Targets the README states for the profile-quality evaluation. */
const Targets = { top_category_precision_at3: 0.8, churn_recall: 0.8, price_tier_exact_match: 0.7 };

const metricName = (key) => (Metrics[key] ? pick(Metrics[key].en, Metrics[key].zh) : key.replace(/_/g, ' '));
const direction = (key) => (Metrics[key] ? h('span', { class: `direction ${Metrics[key].better}`, title: t(`models.${Metrics[key].better}`) }, `${Metrics[key].better === 'higher' ? '↑' : '↓'} ${t(`models.${Metrics[key].better}`)}`) : '');

/** A refresh task's score metrics: classification tasks by AUC and log loss, the demand counts by RMSE and MAPE. */
const taskMetrics = (task) => (task.startsWith('demand:') ? { main: 'rmse', extra: 'mape', extraKey: 'test_mape' } : { main: 'auc', extra: 'log_loss', extraKey: 'test_log_loss' });

const TaskLabels = {
  purchase: ['Buys anything in the window', '窗口内是否购买'],
  churn: ['Churns (no activity in the window)', '是否流失（窗口内无行为）'],
  'purchase:': ['Buys in {0}', '是否购买 {0}'],
  'demand:': ['Purchases in {0} (count)', '{0} 购买件数'],
};

function taskLabel(task, categories) {
  const [prefix, rest] = task.includes(':') ? [`${task.split(':')[0]}:`, task.slice(task.indexOf(':') + 1)] : [task, null];
  const pair = TaskLabels[prefix];
  if (!pair) return task;
  const category = rest == null ? null : categories.get(rest);
  const name = rest == null ? '' : category ? pick(category.label_en, category.label_zh) : rest;
  return pick(pair[0], pair[1]).replace('{0}', name);
}

export async function renderModels(root, { isCurrent, onLeave }) {
  const sequence = h('div', { style: 'margin-bottom:16px' });
  const [overview, reports, choices] = await Promise.all([get('/v1/admin/overview'), get('/v1/admin/reports'), get('/v1/audiences/choices'), renderSequence(sequence, { isCurrent, onLeave })]);
  if (!isCurrent()) return;
  root.append(h('h1', {}, t('nav.models')));
  root.append(sequence);
  if (!reports.ok || !overview.ok) {
    root.append(h('div', { class: 'error' }, problem(reports.ok ? overview : reports)));
    return;
  }
  const categories = new Map((choices.ok ? choices.data.categories : []).map((c) => [c.key, c]));
  const refresh = overview.data.models.last_refresh;
  // Test-window figures, where persona evaluate --task propensity has stored them.
  const propensity = reports.data.reports.find((r) => r.kind === 'evaluation' && r.key === 'propensity' && r.report)?.report ?? null;
  root.append(h('section', { class: 'panel', 'data-testid': 'model-refresh' }, h('h2', {}, t('models.refresh')), refresh ? refreshView(refresh, categories, propensity) : h('p', { class: 'muted' }, t('overview.noModels'))));

  const stored = reports.data.reports.filter((r) => !(r.kind === 'models' && r.key === 'summary'))
    // The propensity evaluation's per-task figures are in the task table; its header fields stay here.
    .map((r) => (r.kind === 'evaluation' && r.key === 'propensity' && r.report ? { ...r, report: scalarFields(r.report) } : r));
  root.append(qualityFigures(stored));

  const curves = stored.flatMap((r) => (r.report ? findCurves(r.report).map((c) => ({ ...c, title: `${r.kind} / ${r.key} · ${metricName(c.title.split('.').pop())}`, key: c.title.split('.').pop() })) : []));
  const curvesPanel = h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'training-curves' }, h('h2', {}, t('models.curves')));
  root.append(curvesPanel);
  if (!curves.length) curvesPanel.append(h('p', { class: 'muted' }, t('models.noCurves')));
  for (const c of curves) {
    const el = h('div', { class: 'chart' });
    curvesPanel.append(h('h3', {}, c.title, ' ', direction(c.key)), el);
    chart(el, {
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value', name: c.xName ?? '', minInterval: 1 },
      yAxis: { type: 'value', scale: true },
      series: c.series.map((s) => ({ name: metricName(s.name), type: 'line', showSymbol: false, data: s.data })),
    });
  }

  root.append(h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'stored-reports' },
    h('h2', {}, t('models.reports')),
    stored.length
      ? stored.map((r) => h('div', {}, h('h3', {}, `${r.kind} / ${r.key}`), r.report ? reportTables(r.report) : h('p', { class: 'muted' }, `${fmtInt(r.chars)} chars · ${r.omitted}`)))
      : h('p', { class: 'muted' }, t('models.noReports'))));
  root.append(glossary());
}

/** Every known metric found in the stored reports: its name, value, direction, the target where the README sets one, and where it comes from. */
function qualityFigures(stored) {
  const rows = [];
  for (const r of stored) {
    if (!r.report) continue;
    for (const [key, value] of Object.entries(r.report)) {
      if (typeof value !== 'number' || !Metrics[key]) continue;
      rows.push({ key, value, source: `${r.kind} / ${r.key}`, target: Targets[key] });
    }
  }
  return h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'quality-figures' },
    h('h2', {}, t('models.quality')),
    rows.length
      ? h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, t('models.metric')), h('th', { class: 'num' }, t('models.value')), h('th', {}, ''), h('th', { class: 'num' }, t('models.target')), h('th', {}, t('models.source')))),
        h('tbody', {}, rows.map((row) => h('tr', { 'data-metric': row.key },
          h('td', { title: pick(...Metrics[row.key].about) }, metricName(row.key)),
          h('td', { class: 'num' }, fmt(row.value, 3)),
          h('td', {}, direction(row.key)),
          h('td', { class: 'num' }, row.target == null ? '—' : `${Metrics[row.key].better === 'higher' ? '≥' : '≤'} ${fmt(row.target, 2)}`),
          h('td', { class: 'muted' }, row.source)))))
      : h('p', { class: 'muted' }, t('models.noReports')));
}

function glossary() {
  return h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'metric-glossary' },
    h('h2', {}, t('models.glossary')),
    h('dl', { class: 'kv' }, Object.entries(Metrics).flatMap(([key, m]) => [
      h('dt', {}, pick(m.en, m.zh)),
      h('dd', {}, direction(key), ' · ', pick(...m.about))])));
}

/** A learner's test-window figures from the stored evaluation, when the refresh itself has none. */
const pickTest = (l) => (l ? { test: l.test, test_log_loss: l.test_log_loss, test_mape: l.test_mape } : {});

function refreshView(r, categories, propensity) {
  const tested = new Map((propensity?.tasks ?? []).map((task) => [task.task, new Map(task.learners.map((l) => [l.learner, l]))]));
  const rows = r.tasks.flatMap((task) => {
    const metric = taskMetrics(task.task);
    return task.scores.map((score) => ({ ...score, ...pickTest(tested.get(task.task)?.get(score.learner)) })).map((s, i) => h('tr', { 'data-task': task.task, 'data-learner': s.learner },
      i === 0 ? h('td', { rowspan: task.scores.length }, taskLabel(task.task, categories), h('div', { class: 'muted small' }, task.task)) : null,
      i === 0 ? h('td', { rowspan: task.scores.length, class: 'num' }, fmtInt(task.rows)) : null,
      i === 0 ? h('td', { rowspan: task.scores.length, class: 'num' }, fmtInt(task.positives)) : null,
      i === 0 ? h('td', { rowspan: task.scores.length, 'data-testid': 'task-metric' }, metricName(metric.main), h('div', {}, direction(metric.main))) : null,
      h('td', {}, s.learner, s.learner === task.learner ? h('span', { class: 'badge active', style: 'margin-left:6px' }, t('models.chosen')) : ''),
      h('td', { class: 'num' }, formatValue(s.validation)),
      h('td', { class: 'num' }, formatValue(s.test)),
      h('td', { class: 'num', title: metricName(metric.extra) }, s[metric.extraKey] == null ? '—' : `${formatValue(s[metric.extraKey])} (${metricName(metric.extra)} ${Metrics[metric.extra].better === 'lower' ? '↓' : '↑'})`)));
  });
  const anyTest = r.tasks.some((task) => task.scores.some((s) => s.test != null)) || tested.size > 0;
  return h('div', {},
    h('p', { class: 'muted' }, `${when(r.as_of)} · ${fmtInt(r.users)} users · ${r.prediction_model ?? '—'} · ${r.segment_model ?? '—'}${r.skipped ? ` · ${r.skipped}` : ''}`),
    h('h3', {}, t('models.tasks')),
    r.tasks.length
      ? h('table', { 'data-testid': 'task-table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('models.task')), h('th', { class: 'num' }, t('models.rows')), h('th', { class: 'num' }, t('models.positives')), h('th', {}, t('models.metric')), h('th', {}, t('models.learner')),
          h('th', { class: 'num' }, t('models.validation')), h('th', { class: 'num' }, t('models.test')), h('th', { class: 'num' }, `${t('models.test')} · ${metricName('log_loss')} / ${metricName('mape')}`))),
        h('tbody', {}, rows))
      : h('p', { class: 'muted' }, t('common.none')),
    anyTest
      ? h('p', { class: 'muted small', 'data-testid': 'test-note' }, t('models.testFrom', when(propensity?.test_cut), fmt(propensity?.horizon_days, 0)))
      : h('p', { class: 'muted small', 'data-testid': 'no-test-note' }, t('models.noTest')),
    h('h3', {}, t('models.timings')),
    reportTables({ split: r.split_seconds, train: r.train_seconds, predict: r.predict_seconds, segment: r.segment_seconds, total: r.total_seconds }),
    h('p', { class: 'muted' }, `${fmt(r.total_seconds, 2)} s`));
}

/** Gate verdicts and serving decisions, as the API names them. */
const Decisions = ['first', 'passed', 'rejected', 'forced', 'promoted', 'adopted'];
const decisionLabel = (d) => (Decisions.includes(d) ? t(`models.decision.${d}`) : d);

/**
 * The sequence model's versions (which one serves, their figures, the gate's verdict, promote and roll back) and the
 * server's own training with its progress; the training panel refreshes itself every few seconds while it is on.
 */
const polls = new WeakMap();

async function renderSequence(root, { isCurrent, onLeave }) {
  clearTimeout(polls.get(root));
  const response = await get('/v1/admin/models');
  if (!isCurrent()) return;
  clear(root);
  if (!response.ok) {
    root.append(h('div', { class: 'error' }, problem(response)));
    return;
  }
  const m = response.data;
  const message = h('div', { 'data-testid': 'sequence-message' });
  const act = async (path) => {
    const result = await post(path);
    if (!isCurrent()) return;
    if (!result.ok) {
      message.replaceChildren(h('div', { class: 'error' }, problem(result)));
      return;
    }
    await renderSequence(root, { isCurrent, onLeave });
  };
  const rows = m.versions.map((v) => h('tr', { 'data-version': v.version, class: v.serving ? 'serving' : '' },
    h('td', { class: 'mono' }, v.version, v.serving ? h('span', { class: 'badge active', style: 'margin-left:6px', 'data-testid': 'serving-badge' }, t('models.serving')) : ''),
    h('td', {}, when(v.created_at)),
    h('td', { class: 'num' }, fmt(v.validation_ndcg10, 4)),
    h('td', { class: 'num' }, `${fmtInt(v.metrics.best_epoch)} / ${fmtInt(v.metrics.epochs_run)}`),
    h('td', { class: 'num' }, fmt(v.metrics.training_seconds, 0)),
    h('td', { class: 'num' }, fmtInt(v.metrics.users)),
    h('td', { class: 'num' }, fmtInt(v.metrics.items)),
    h('td', { 'data-testid': 'gate' }, gateView(v.gate)),
    h('td', {}, v.serving ? '' : h('button', { class: 'link', 'data-testid': 'promote', onclick: () => act(`/v1/admin/models/${enc(v.version)}/promote`) }, t('models.promote')))));
  root.append(h('section', { class: 'panel', 'data-testid': 'sequence-models' },
    h('h2', {}, t('models.sequence')),
    h('p', { class: 'muted small' }, t('models.sequenceNote')),
    m.versions.length
      ? h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, t('models.version')), h('th', {}, t('models.created')), h('th', { class: 'num' }, t('models.ndcg')),
          h('th', { class: 'num' }, t('models.epochs')), h('th', { class: 'num' }, t('models.seconds')), h('th', { class: 'num' }, t('models.users')),
          h('th', { class: 'num' }, t('models.items')), h('th', {}, t('models.gate')), h('th', {}, ''))),
        h('tbody', {}, rows))
      : h('p', { class: 'muted' }, t('models.noSequence')),
    m.rollback_to ? h('p', {}, h('button', { class: 'primary', 'data-testid': 'rollback', onclick: () => act('/v1/admin/models/rollback') }, t('models.rollback', m.rollback_to))) : null,
    message,
    m.history.length
      ? h('details', {}, h('summary', {}, t('models.history')),
        h('ol', { class: 'named', 'data-testid': 'serving-history' }, [...m.history].reverse().map((e) => h('li', {}, h('span', { class: 'mono' }, e.version), ` · ${decisionLabel(e.decision)} · ${when(e.at)} · ${e.actor}`))))
      : null));

  const training = h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'sequence-training' });
  root.append(training);
  trainingView(training, m.training);
  if (!m.training.enabled) return;
  // Progress while the page is open: a small read every few seconds, stopped when the page is left.
  const poll = async () => {
    const again = await get('/v1/admin/models');
    if (!isCurrent() || !training.isConnected) return;
    // A training that ended, or a decision made elsewhere (CLI, API), changes the versions: draw the section again.
    if (again.ok && (again.data.training.last?.finished_at !== m.training.last?.finished_at || again.data.serving !== m.serving)) {
      await renderSequence(root, { isCurrent, onLeave });
      return;
    }
    if (again.ok) trainingView(training, again.data.training);
    polls.set(root, setTimeout(poll, 3000));
  };
  polls.set(root, setTimeout(poll, 3000));
  onLeave?.(() => clearTimeout(polls.get(root)));
}

function gateView(g) {
  if (!g) return h('span', { class: 'muted' }, t('models.decision.none'));
  const cls = g.decision === 'rejected' ? 'badge at_risk' : g.decision === 'forced' ? 'badge churned' : 'badge active';
  return h('span', {}, h('span', { class: cls }, decisionLabel(g.decision)),
    g.serving_ndcg10 == null ? '' : h('span', { class: 'muted small' }, ' ', t('models.gateVs', fmt(g.candidate_ndcg10, 4), fmt(g.serving_ndcg10, 4), g.serving_version)));
}

function trainingView(el, s) {
  const triggers = [s.interval_minutes > 0 ? t('models.everyMinutes', s.interval_minutes) : null, s.after_events > 0 ? t('models.afterEvents', fmtInt(s.after_events)) : null].filter(Boolean);
  const last = s.last;
  // replaceChildren would write a null as the text "null": the parts that may be absent are filtered out.
  el.replaceChildren(...[h('h2', {}, t('models.training')),
    !s.enabled
      ? h('p', { class: 'muted', 'data-testid': 'training-off' }, t('models.trainingOff'))
      : h('dl', { class: 'kv' },
        h('dt', {}, t('models.trigger')), h('dd', {}, triggers.join(' · ')),
        h('dt', {}, t('models.eventsSince')), h('dd', {}, fmtInt(s.events_since_last_run)),
        s.next_run_at ? [h('dt', {}, t('models.nextRun')), h('dd', {}, when(s.next_run_at))] : null),
    s.running
      ? h('div', { 'data-testid': 'training-running' },
        h('p', {}, t('models.trainingRunning', s.running.trigger, s.running.epoch, s.running.epochs),
          s.running.warm_start_from ? h('span', { class: 'muted small' }, ` · ${t('models.warmFrom', s.running.warm_start_from)}`) : ''),
        meter(s.running.fraction),
        h('p', { class: 'muted' }, `${t('models.valNdcg')} ${fmt(s.running.validation_ndcg10, 4)} (${t('models.best')} ${fmt(s.running.best_validation_ndcg10, 4)}) · ${t('models.eta')} ${s.running.eta_seconds == null ? '—' : `${fmt(s.running.eta_seconds, 0)} s`}`))
      : s.enabled ? h('p', { class: 'muted' }, t('models.trainingIdle')) : null,
    last
      ? h('p', { 'data-testid': 'training-last' }, `${t('models.lastRun')}: ${when(last.finished_at)} · ${last.trigger} · `,
        last.error ? h('span', { class: 'badge churned' }, t('models.failed', last.error)) : [h('span', { class: 'mono' }, last.version), ' ', gateView(last.gate)])
      : null].filter(Boolean));
}
