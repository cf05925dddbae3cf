import { t, pick, valueLabel } from '../i18n.js';
import { h, clear, fmt, fmtInt, pct } from '../dom.js';
import { get, post, put, del, enc, problem } from '../api.js';
import { chart, palette } from '../charts.js';
import { money } from './overview.js';

const Lifecycles = ['new', 'active', 'at_risk', 'churned'];
const StageColours = { new: '#3b82f6', active: '#10b981', at_risk: '#f59e0b', churned: '#ef4444' };

export async function renderSegments(root, { isCurrent }) {
  root.append(h('h1', {}, t('nav.segments')));
  // Ask the overview first: GET /v1/segments answers 404 until the first refresh, which is not an error here.
  const overview = await get('/v1/admin/overview');
  if (!isCurrent()) return;
  if (!overview.ok) {
    root.append(h('div', { class: 'error' }, problem(overview)));
    return;
  }
  if (!overview.data.models.segment_model) {
    const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'refresh-segments' }, t('segments.refresh'));
    const status = h('span', { class: 'muted' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      status.textContent = t('common.loading');
      const refreshed = await post('/v1/segments/refresh');
      status.textContent = refreshed.ok ? '' : problem(refreshed);
      if (refreshed.ok && isCurrent()) dispatchEvent(new HashChangeEvent('hashchange'));
      button.disabled = false;
    });
    root.append(h('div', { class: 'panel row' }, h('span', {}, t('segments.none')), button, status));
    return;
  }
  const [response, summary, choices] = await Promise.all([get('/v1/segments'), get('/v1/segments/summary'), get('/v1/audiences/choices')]);
  if (!isCurrent()) return;
  if (!response.ok || !summary.ok) {
    root.append(h('div', { class: 'error' }, problem(response.ok ? summary : response)));
    return;
  }
  const data = response.data;
  const summaries = new Map(summary.data.segments.map((s) => [s.id, s]));
  const briefs = new Map((data.briefs ?? []).map((b) => [b.id, b]));
  const colour = new Map(data.segments.map((s, i) => [s.id, palette[i % palette.length]]));
  const mapEl = h('div', { class: 'chart tall', 'data-testid': 'segment-map' });
  root.append(
    h('section', { class: 'panel' },
      h('h2', {}, t('segments.map'), h('span', { class: 'muted' }, ` · ${t('segments.silhouette', data.k, fmt(data.silhouette, 3))}`)),
      h('p', { class: 'muted small' }, t('segments.mapHint')),
      mapEl),
    h('div', { class: 'grid cols-3', style: 'margin-top:16px', 'data-testid': 'segment-cards' },
      data.segments.map((s, i) => segmentCard(s, i + 1, summaries.get(s.id), colour.get(s.id), summary.data.currency, briefs.get(s.id)))),
    audienceBuilder(data.segments, choices.ok ? choices.data : null));

  segmentMap(mapEl, data, summary.data.segments, colour);
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A robust axis range: the 2nd..98th percentile of the values (and every centre), padded, so a few outliers do not squash the rest. */
function range(values, centres) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
  let lo = Math.min(at(0.02), ...centres);
  let hi = Math.max(at(0.98), ...centres);
  const pad = (hi - lo) * 0.08 || 1;
  lo -= pad;
  hi += pad;
  return { min: Number(lo.toFixed(2)), max: Number(hi.toFixed(2)) };
}

function segmentMap(el, data, summaries, colour) {
  const centres = summaries.filter((s) => s.centre_x != null);
  const number = new Map(data.segments.map((s, i) => [s.id, i + 1]));
  const maxSize = Math.max(1, ...centres.map((s) => s.size));
  const name = (s) => pick(s.label_en, s.label_zh);
  const instance = chart(el, {
    legend: { top: 0, type: 'scroll', data: data.segments.map(name), formatter: (n) => `${data.segments.findIndex((s) => name(s) === n) + 1} ${n}` },
    grid: { left: 40, right: 40, top: 48, bottom: 30 },
    // Labels come from the catalog: escaped, since ECharts renders tooltips as HTML.
    tooltip: { trigger: 'item', formatter: (d) => escape(d.data?.summary ? `${d.name} · ${t('segments.size', fmtInt(d.data.summary.size), pct(d.data.summary.share))}` : d.seriesName) },
    xAxis: { type: 'value', ...range(data.projection.map((p) => p.x), centres.map((s) => s.centre_x)), axisLabel: { show: false }, splitLine: { lineStyle: { type: 'dashed' } } },
    yAxis: { type: 'value', ...range(data.projection.map((p) => p.y), centres.map((s) => s.centre_y)), axisLabel: { show: false }, splitLine: { lineStyle: { type: 'dashed' } } },
    series: [
      ...data.segments.map((s) => ({
        name: name(s),
        type: 'scatter',
        symbolSize: 5,
        clip: true,
        itemStyle: { color: colour.get(s.id), opacity: 0.35 },
        data: data.projection.filter((p) => p.segment_id === s.id).map((p) => [p.x, p.y]),
      })),
      // Centres on top, sized by shoppers (area ∝ count), numbered like the cards and the legend: names beside
      // the bubbles overlap where centres are close, numbers inside them do not.
      {
        name: t('segments.centres'),
        type: 'scatter',
        z: 10,
        data: centres.map((s) => ({
          name: name(s),
          value: [s.centre_x, s.centre_y],
          summary: s,
          symbolSize: 18 + 46 * Math.sqrt(s.size / maxSize),
          itemStyle: { color: colour.get(s.id), opacity: 0.9, borderColor: '#fff', borderWidth: 2 },
        })),
        label: { show: true, position: 'inside', formatter: (d) => String(number.get(d.data.summary.id)), color: '#fff', fontWeight: 700, fontSize: 13, textBorderColor: '#1d2430', textBorderWidth: 2 },
      },
    ],
  });
  separateBubbles(instance, data.segments.length);
}

/**
 * Centres that nearly coincide would hide one bubble behind another: push overlapping bubbles apart on screen, just
 * enough that every one shows (the axes have no units, so a few pixels change no reading of the map). Pixels depend on
 * the chart's size, so this runs after every render, always starting from the true centres.
 */
function separateBubbles(instance, seriesIndex) {
  const centres = instance.getOption().series[seriesIndex].data.map((d) => d.value);
  const separate = () => {
    const data = instance.getOption().series[seriesIndex].data;
    const bubbles = data.map((d, i) => {
      const [x, y] = instance.convertToPixel({ seriesIndex }, centres[i]);
      return { x, y, r: d.symbolSize / 2 + 1 };
    });
    if (bubbles.some((b) => !Number.isFinite(b.x) || !Number.isFinite(b.y))) return;
    for (let round = 0; round < 200; round++) {
      let moved = false;
      for (let i = 0; i < bubbles.length; i++) {
        for (let j = i + 1; j < bubbles.length; j++) {
          const a = bubbles[i], b = bubbles[j];
          let dx = b.x - a.x, dy = b.y - a.y;
          let distance = Math.hypot(dx, dy);
          const overlap = a.r + b.r - distance;
          if (overlap <= 0.5) continue;
          if (distance < 1e-6) { dx = Math.cos(i + j); dy = Math.sin(i + j); distance = 1; }
          // Together they move the whole overlap apart, the smaller bubble further (it is the one hidden).
          const shareA = b.r / (a.r + b.r), shareB = a.r / (a.r + b.r);
          a.x -= (dx / distance) * overlap * shareA; a.y -= (dy / distance) * overlap * shareA;
          b.x += (dx / distance) * overlap * shareB; b.y += (dy / distance) * overlap * shareB;
          moved = true;
        }
      }
      if (!moved) break;
    }
    // Only a change of more than a pixel re-renders, so the 'finished' that follows ends here.
    const shown = data.map((d) => instance.convertToPixel({ seriesIndex }, d.value));
    if (bubbles.every((b, i) => Math.hypot(b.x - shown[i][0], b.y - shown[i][1]) < 1)) return;
    const series = instance.getOption().series.map(() => ({}));
    series[seriesIndex] = { data: data.map((d, i) => ({ ...d, value: instance.convertFromPixel({ seriesIndex }, [bubbles[i].x, bubbles[i].y]) })) };
    instance.setOption({ series });
  };
  separate();
  instance.on('finished', separate);
}

/** Figures in plain words: size, revenue and its share, order value, lifecycle mix, what they buy and which brands. */
/** The segment's name and one-line brief (an admin's, the chat model's or the template's) and who wrote it. */
function brief(b, s) {
  if (!b) return '';
  // The template keeps the segment's label as its name: the heading says it already.
  const renamed = b.name_en !== s.label_en || b.name_zh !== s.label_zh;
  const by = b.source === 'admin' ? t('segments.briefByAdmin', b.written_by ?? '')
    : b.source === 'model' ? t('segments.briefByModel', b.model ?? '') : t('segments.briefTemplate');
  const edit = h('button', { type: 'button', class: 'link small', 'data-testid': 'brief-edit' }, t('segments.briefEdit'));
  const block = h('div', { class: 'summary', 'data-testid': 'segment-brief', 'data-source': b.source },
    renamed ? h('p', {}, h('strong', { 'data-testid': 'segment-brief-name' }, pick(b.name_en, b.name_zh))) : '',
    h('p', { 'data-testid': 'segment-brief-text' }, pick(b.brief_en, b.brief_zh)),
    h('p', { class: 'muted small' }, by, ' · ', edit));
  edit.addEventListener('click', () => block.append(briefEditor(b, s, block)), { once: true });
  return block;
}

/** An admin's name and brief for the segment, in both languages (PUT …/brief); "back to generated" drops theirs (DELETE). */
function briefEditor(b, s, block) {
  const field = (name, max) => h('input', { type: 'text', name, value: b[name] ?? '', maxlength: String(max), 'data-testid': `brief-${name}` });
  const inputs = { name_en: field('name_en', 40), name_zh: field('name_zh', 40), brief_en: field('brief_en', 240), brief_zh: field('brief_zh', 240) };
  const status = h('span', { class: 'muted small', 'data-testid': 'brief-status' });
  const save = h('button', { type: 'button', class: 'primary', 'data-testid': 'brief-save' }, t('segments.briefSave'));
  const reset = h('button', { type: 'button', 'data-testid': 'brief-reset' }, t('segments.briefReset'));
  const done = (response) => {
    if (response.ok) block.replaceWith(brief(response.data, s));
    else status.textContent = problem(response);
  };
  save.addEventListener('click', async () => {
    done(await put(`/v1/segments/${enc(b.id)}/brief`, Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]))));
  });
  reset.addEventListener('click', async () => done(await del(`/v1/segments/${enc(b.id)}/brief`)));
  const row = (key, el) => h('label', { class: 'brief-field' }, h('span', { class: 'muted small' }, t(key)), el);
  return h('div', { class: 'brief-editor', 'data-testid': 'brief-editor' },
    row('segments.briefNameEn', inputs.name_en), row('segments.briefNameZh', inputs.name_zh),
    row('segments.briefTextEn', inputs.brief_en), row('segments.briefTextZh', inputs.brief_zh),
    h('div', { class: 'row' }, save, reset, status));
}

function segmentCard(s, number, summary, colour, currency, segmentBrief) {
  const body = [brief(segmentBrief, s), h('p', { class: 'muted' }, t('segments.size', fmtInt(s.size), pct(s.share)))];
  if (summary) {
    body.push(
      h('p', { 'data-testid': 'segment-revenue' }, t('segments.revenue', money(summary.revenue, currency), pct(summary.revenue_share))),
      h('p', {}, summary.orders ? t('segments.aov', money(summary.average_order_value, currency), fmtInt(summary.orders)) : t('segments.noOrders')),
      h('h3', {}, t('segments.lifecycle')),
      lifecycleBar(summary.lifecycle),
      h('h3', {}, summary.basis === 'revenue' ? t('segments.buysMost') : t('segments.browsesMost')),
      namedList(summary.top_categories, summary.basis, 'segment-categories'),
      h('h3', {}, t('segments.brands')),
      namedList(summary.top_brands, summary.basis, 'segment-brands'));
  }
  return h('section', { class: 'panel segment-card', 'data-testid': 'segment-card', 'data-segment': s.id },
    h('h2', {}, h('span', { class: 'swatch numbered', style: `background:${colour}` }, number), pick(s.label_en, s.label_zh)),
    body);
}

function lifecycleBar(mix) {
  const total = Lifecycles.reduce((a, l) => a + (mix[l] ?? 0), 0);
  const parts = Lifecycles.filter((l) => mix[l] > 0);
  return h('div', { 'data-testid': 'segment-lifecycle' },
    h('div', { class: 'stack' }, parts.map((l) => h('span', { style: `width:${(100 * mix[l]) / total}%;background:${StageColours[l]}`, title: `${valueLabel(l)} ${fmtInt(mix[l])}` }))),
    h('div', { class: 'legend-line' }, parts.map((l) => h('span', {}, h('i', { style: `background:${StageColours[l]}` }), `${valueLabel(l)} ${pct(mix[l] / total)}`))));
}

function namedList(list, basis, id) {
  if (!list?.length) return h('p', { class: 'muted' }, t('common.none'));
  return h('ol', { class: 'named', 'data-testid': id }, list.map((c) =>
    h('li', {}, h('span', { class: 'name' }, pick(c.label_en, c.label_zh)), h('span', { class: 'muted' }, ` · ${t(basis === 'revenue' ? 'segments.ofRevenue' : 'segments.ofEvents', pct(c.share))}`))));
}

function audienceBuilder(segments, choices) {
  const segmentBoxes = segments.map((s) => h('label', {}, h('input', { type: 'checkbox', value: s.id }), pick(s.label_en, s.label_zh)));
  const lifecycleBoxes = Lifecycles.map((l) => h('label', {}, h('input', { type: 'checkbox', value: l }), valueLabel(l)));
  const minPropensity = h('input', { type: 'number', min: '0', max: '1', step: '0.05', placeholder: '0.5' });
  const maxChurn = h('input', { type: 'number', min: '0', max: '1', step: '0.05', placeholder: '0.5' });
  const k = h('input', { type: 'number', min: '1', step: '1', value: '10', 'data-testid': 'audience-k' });
  const result = h('div', { 'data-testid': 'audience-result' });
  const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'audience-count' }, t('audience.count'));

  // Tags and categories are picked from what the shop's profiles hold, never typed.
  const tags = new Map();
  const tagChips = h('div', { class: 'chips', 'data-testid': 'audience-tag-chips' });
  const tagSelect = h('select', { 'data-testid': 'audience-tag-select' },
    h('option', { value: '' }, t('audience.pickTag')),
    (choices?.tags ?? []).map((c) => h('option', { value: c.key }, `${pick(c.label_en, c.label_zh)} (${t('audience.users', fmtInt(c.users))})`)));
  tagSelect.addEventListener('change', () => {
    const choice = choices.tags.find((c) => c.key === tagSelect.value);
    tagSelect.value = '';
    if (!choice || tags.has(choice.key)) return;
    tags.set(choice.key, choice);
    const chip = h('button', { type: 'button', class: 'chip active', 'data-key': choice.key, title: `${t('audience.remove')} · ${choice.key}`, onclick: () => { tags.delete(choice.key); chip.remove(); } },
      pick(choice.label_en, choice.label_zh), h('span', { class: 'conf' }, '×'));
    tagChips.append(chip);
  });

  const categories = new Map();
  const categoryRows = h('div', { 'data-testid': 'audience-category-rows' });
  const categorySelect = h('select', { 'data-testid': 'audience-category-select' },
    h('option', { value: '' }, t('audience.pickCategory')),
    (choices?.categories ?? []).map((c) => h('option', { value: c.key }, `${c.level > 1 ? '  · ' : ''}${pick(c.label_en, c.label_zh)} (${t('audience.users', fmtInt(c.users))})`)));
  categorySelect.addEventListener('change', () => {
    const choice = choices.categories.find((c) => c.key === categorySelect.value);
    categorySelect.value = '';
    if (!choice || categories.has(choice.key)) return;
    const share = h('input', { type: 'number', min: '0', max: '1', step: '0.05', value: '0.1', 'data-key': choice.key });
    categories.set(choice.key, share);
    const row = h('div', { class: 'row' }, h('span', { class: 'chip active' }, pick(choice.label_en, choice.label_zh)), '≥', share,
      h('button', { type: 'button', class: 'link', onclick: () => { categories.delete(choice.key); row.remove(); } }, t('audience.remove')));
    categoryRows.append(row);
  });

  const checked = (boxes) => boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  const number = (input) => (input.value === '' ? null : Number(input.value));
  button.addEventListener('click', async () => {
    const rule = {
      name: 'dashboard',
      segments: checked(segmentBoxes),
      lifecycle: checked(lifecycleBoxes),
      tags_any: [...tags.keys()],
      affinities: Object.fromEntries([...categories].map(([key, input]) => [key, number(input) ?? 0])),
      predictions: {},
      min_count: number(k) ?? undefined,
    };
    if (number(minPropensity) != null) rule.predictions.purchase_propensity = { min: number(minPropensity) };
    if (number(maxChurn) != null) rule.predictions.churn_risk = { max: number(maxChurn) };
    clear(result).append(h('span', { class: 'muted' }, t('common.loading')));
    const response = await post('/v1/audiences', rule);
    clear(result);
    if (!response.ok) {
      const errors = Object.entries(response.data?.errors ?? {}).map(([field, messages]) => `${field}: ${messages.join(' ')}`);
      result.append(h('div', { class: 'error' }, [problem(response), ...errors].join(' ')));
      return;
    }
    const a = response.data;
    result.append(a.suppressed
      ? h('p', { class: 'note', 'data-testid': 'audience-suppressed' }, t('audience.suppressed', a.min_count))
      : h('p', {}, h('span', { class: 'count', 'data-testid': 'audience-size' }, fmtInt(a.count)), ` ${t('audience.result')}`,
        h('span', { class: 'muted' }, `  (k = ${a.min_count}${a.noised ? `, ε = ${a.epsilon}` : ''}, ${a.id})`)));
  });

  return h('section', { class: 'panel', style: 'margin-top:16px', 'data-testid': 'audience-builder' },
    h('h2', {}, t('audience.title')),
    h('fieldset', {}, h('legend', {}, t('audience.segments')), h('div', { class: 'row' }, segmentBoxes)),
    h('fieldset', {}, h('legend', {}, t('audience.lifecycle')), h('div', { class: 'row' }, lifecycleBoxes)),
    h('fieldset', {}, h('legend', {}, t('audience.tagsAny')), h('div', { class: 'row' }, tagSelect, tagChips)),
    h('fieldset', {}, h('legend', {}, t('audience.categories')), categorySelect, categoryRows),
    h('div', { class: 'row' },
      h('label', {}, t('audience.minPropensity'), minPropensity),
      h('label', {}, t('audience.maxChurn'), maxChurn),
      h('label', {}, t('audience.k'), k),
      button),
    result);
}
