// Generic views of stored report documents: whatever a report holds is shown as tables, and any series of
// numbers (a loss per epoch, a metric per step) as a curve, so new report kinds need no dashboard change.
import { h } from '../dom.js';
import { fieldLabel } from '../metrics.js';

const StepKeys = ['epoch', 'step', 'iteration', 'round', 'k'];

const isScalar = (v) => v == null || ['number', 'string', 'boolean'].includes(typeof v);
const isObject = (v) => v != null && typeof v === 'object' && !Array.isArray(v);
const label = fieldLabel;

export function formatValue(v) {
  if (v == null) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(4);
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A report's scalar fields only (its header), for reports whose nested parts have their own view. */
export const scalarFields = (report) => Object.fromEntries(Object.entries(report).filter(([, v]) => isScalar(v)));

/** Tables for one report: its scalar fields, then one table per nested object or array of objects. */
export function reportTables(report, depth = 0) {
  if (!isObject(report)) return h('pre', {}, JSON.stringify(report, null, 2));
  const scalars = Object.entries(report).filter(([, v]) => isScalar(v));
  const parts = [];
  if (scalars.length) {
    parts.push(h('table', { class: 'report' },
      h('tbody', {}, scalars.map(([k, v]) => h('tr', {}, h('th', {}, label(k)), h('td', { class: typeof v === 'number' ? 'num' : '' }, formatValue(v)))))));
  }
  for (const [key, value] of Object.entries(report)) {
    if (isScalar(value)) continue;
    if (Array.isArray(value) && value.every(isObject) && value.length) parts.push(h('h3', {}, label(key)), rowsTable(value));
    else if (isObject(value) && Object.values(value).every(isObject) && Object.keys(value).length) parts.push(h('h3', {}, label(key)), matrix(value));
    else if (isObject(value) && depth < 2) parts.push(h('h3', {}, label(key)), reportTables(value, depth + 1));
  }
  return h('div', {}, parts);
}

function rowsTable(rows) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, label(c))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: typeof r[c] === 'number' ? 'num' : '' }, formatValue(r[c])))))));
}

/** An object of objects, e.g. a confusion matrix: rows by outer key, columns by inner key. */
function matrix(value) {
  const rows = Object.keys(value);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(value[r])))];
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, ''), columns.map((c) => h('th', { class: 'num' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', {}, r), columns.map((c) => h('td', { class: 'num' }, formatValue(value[r][c])))))));
}

/** Every curve in a report: { title, series: [{ name, data: [[x, y], …] }] }. */
export function findCurves(report, path = '') {
  const curves = [];
  if (Array.isArray(report)) {
    if (report.length >= 2 && report.every((v) => typeof v === 'number')) {
      curves.push({ title: path, series: [{ name: path.split('.').pop(), data: report.map((y, i) => [i + 1, y]) }] });
    } else if (report.length >= 2 && report.every(isObject)) {
      const stepKey = StepKeys.find((k) => report.every((r) => typeof r[k] === 'number'));
      if (stepKey) {
        const keys = Object.keys(report[0]).filter((k) => k !== stepKey && report.every((r) => typeof r[k] === 'number'));
        if (keys.length) curves.push({ title: path, xName: stepKey, series: keys.map((k) => ({ name: k, data: report.map((r) => [r[stepKey], r[k]]) })) });
      }
    }
  } else if (isObject(report)) {
    for (const [key, value] of Object.entries(report)) curves.push(...findCurves(value, path ? `${path}.${key}` : key));
  }
  return curves;
}
