import { t, pick, valueLabel } from '../i18n.js';
import { h, clear, fmt, fmtInt, pct } from '../dom.js';
import { get, post, problem } from '../api.js';
import { chart, palette } from '../charts.js';

const Lifecycles = ['new', 'active', 'at_risk', 'churned'];

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
  const response = await get('/v1/segments');
  if (!isCurrent()) return;
  if (!response.ok) {
    root.append(h('div', { class: 'error' }, problem(response)));
    return;
  }
  const data = response.data;
  const colour = new Map(data.segments.map((s, i) => [s.id, palette[i % palette.length]]));
  const mapEl = h('div', { class: 'chart tall', 'data-testid': 'segment-map' });
  root.append(
    h('section', { class: 'panel' },
      h('h2', {}, t('segments.map'), h('span', { class: 'muted' }, ` · ${t('segments.silhouette', data.k, fmt(data.silhouette, 3))}`)),
      mapEl),
    h('div', { class: 'grid cols-3', style: 'margin-top:16px', 'data-testid': 'segment-cards' },
      data.segments.map((s) => segmentCard(s, colour.get(s.id)))),
    audienceBuilder(data.segments));

  chart(mapEl, {
    legend: { top: 0, type: 'scroll' },
    grid: { left: 40, right: 40, top: 64, bottom: 30 },
    tooltip: { trigger: 'item', formatter: (d) => d.seriesName },
    xAxis: { type: 'value', name: 'PC1', scale: true, splitLine: { lineStyle: { type: 'dashed' } } },
    yAxis: { type: 'value', name: 'PC2', scale: true, splitLine: { lineStyle: { type: 'dashed' } } },
    series: data.segments.map((s) => ({
      name: pick(s.label_en, s.label_zh),
      type: 'scatter',
      symbolSize: 6,
      itemStyle: { color: colour.get(s.id), opacity: 0.75 },
      data: data.projection.filter((p) => p.segment_id === s.id).map((p) => [p.x, p.y]),
    })),
  });
}

function segmentCard(s, colour) {
  // Dominant traits: the centroid's largest standardised deviations from the average user.
  const traits = Object.entries(s.centroid).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 4);
  return h('section', { class: 'panel segment-card', 'data-testid': 'segment-card', 'data-segment': s.id },
    h('h2', {}, h('span', { class: 'swatch', style: `background:${colour}` }), pick(s.label_en, s.label_zh)),
    h('p', { class: 'muted' }, t('segments.size', fmtInt(s.size), pct(s.share))),
    h('h3', {}, t('segments.traits')),
    h('table', {}, h('tbody', {}, traits.map(([feature, z]) =>
      h('tr', {}, h('td', {}, feature.replace(/_/g, ' ')), h('td', { class: 'num', style: `color:${z >= 0 ? 'var(--good)' : 'var(--bad)'}` }, `${z >= 0 ? '▲' : '▼'} ${fmt(Math.abs(z), 2)}σ`))))));
}

function audienceBuilder(segments) {
  const segmentBoxes = segments.map((s) => h('label', {}, h('input', { type: 'checkbox', value: s.id }), pick(s.label_en, s.label_zh)));
  const lifecycleBoxes = Lifecycles.map((l) => h('label', {}, h('input', { type: 'checkbox', value: l }), valueLabel(l)));
  const tagsInput = h('input', { type: 'text', placeholder: 'lifecycle:at_risk, value:high', 'data-testid': 'audience-tags' });
  const minPropensity = h('input', { type: 'number', min: '0', max: '1', step: '0.05', placeholder: '0.5' });
  const maxChurn = h('input', { type: 'number', min: '0', max: '1', step: '0.05', placeholder: '0.5' });
  const k = h('input', { type: 'number', min: '1', step: '1', value: '10', 'data-testid': 'audience-k' });
  const result = h('div', { 'data-testid': 'audience-result' });
  const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'audience-count' }, t('audience.count'));

  const checked = (boxes) => boxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
  const number = (input) => (input.value === '' ? null : Number(input.value));
  button.addEventListener('click', async () => {
    const rule = {
      name: 'dashboard',
      segments: checked(segmentBoxes),
      lifecycle: checked(lifecycleBoxes),
      tags_any: tagsInput.value.split(',').map((s) => s.trim()).filter(Boolean),
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
    h('fieldset', {}, h('legend', {}, t('audience.tags')), tagsInput),
    h('div', { class: 'row' },
      h('label', {}, t('audience.minPropensity'), minPropensity),
      h('label', {}, t('audience.maxChurn'), maxChurn),
      h('label', {}, t('audience.k'), k),
      button),
    result);
}
