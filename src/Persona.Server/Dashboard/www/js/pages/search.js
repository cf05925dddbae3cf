import { t, pick } from '../i18n.js';
import { h, clear, fmt, fmtInt } from '../dom.js';
import { get, problem, hasEndpoint, enc } from '../api.js';
import { listOf, reasons } from './users.js';

const SearchPath = '/v1/search';
const Limit = 10;

export async function renderSearch(root, { args, isCurrent }) {
  const [available, users] = await Promise.all([hasEndpoint(SearchPath), get('/v1/users?limit=200')]);
  if (!isCurrent()) return;
  const query = h('input', { type: 'search', placeholder: t('search.query'), 'data-testid': 'search-query', value: args[0] ?? '' });
  const user = h('input', { type: 'text', list: 'search-users', placeholder: t('search.user'), 'data-testid': 'search-user', value: args[1] ?? '' });
  const options = h('datalist', { id: 'search-users' }, (users.ok ? users.data.users : []).map((id) => h('option', { value: id })));
  const encoder = h('select', { 'data-testid': 'search-encoder' },
    h('option', { value: 'served' }, t('search.encoderServed')),
    h('option', { value: 'lexical' }, t('search.encoderLexical')));
  const run = h('button', { type: 'submit', class: 'primary', 'data-testid': 'search-run', disabled: !available }, t('search.run'));
  const off = h('div', { 'data-testid': 'results-off' });
  const on = h('div', { 'data-testid': 'results-on' });
  const form = h('form', { class: 'panel row' },
    h('label', { style: 'flex:2' }, t('search.query'), query),
    h('label', { style: 'flex:1' }, t('search.user'), user, options),
    h('label', { style: 'flex:1' }, t('search.encoder'), encoder),
    run);
  root.append(h('h1', {}, t('nav.search')), form);
  if (!available) {
    root.append(h('p', { class: 'note', style: 'margin-top:16px', 'data-testid': 'search-unavailable' }, t('common.notAvailable', 'GET /v1/search')));
    return;
  }
  const understood = h('p', { class: 'muted', style: 'margin-top:12px', 'data-testid': 'search-understood' });
  const served = h('p', { class: 'muted', 'data-testid': 'search-served-encoder' });
  const rewritten = h('p', { class: 'muted', 'data-testid': 'search-rewrite' });
  root.append(understood, rewritten, served);
  root.append(h('div', { class: 'grid cols-2', style: 'margin-top:16px' },
    h('section', { class: 'panel' }, h('h2', {}, t('search.off')), off),
    h('section', { class: 'panel' }, h('h2', {}, t('search.on')), on)));

  const search = async () => {
    const q = query.value.trim();
    if (!q) {
      clear(off).append(h('p', { class: 'muted' }, t('search.hint')));
      clear(on);
      return;
    }
    const who = user.value.trim();
    const lexical = encoder.value === 'lexical';
    const base = `${SearchPath}?q=${enc(q)}${who ? `&user=${enc(who)}` : ''}&n=${Limit}${lexical ? '&semantic=false' : ''}`;
    const [plain, personal] = await Promise.all([get(`${base}&personalize=false`), get(`${base}&personalize=true`)]);
    if (!isCurrent()) return;
    const plainList = plain.ok ? listOf(plain.data) : [];
    clear(understood);
    if (plain.ok && plain.data.query) understood.append(understanding(plain.data.query));
    clear(rewritten);
    if (plain.ok && plain.data.rewrite) rewritten.append(rewriteLine(plain.data.rewrite));
    clear(served);
    if (plain.ok) served.append(plain.data.encoder ? t('search.servedBy', `${plain.data.encoder.kind} · ${plain.data.encoder.version}`) : t('search.servedLexical'));
    renderResults(off, plain, plainList, null);
    renderResults(on, personal, personal.ok ? listOf(personal.data) : [], plainList);
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); search(); });
  encoder.addEventListener('change', () => search());
  await search();
}

/** Who read a long query: the chat model (docs/generative.md) or, when it did not answer usably in time, the search's own parser and why. */
function rewriteLine(r) {
  const ms = Math.round(r.elapsed_ms);
  return r.source === 'model'
    ? t(r.cached ? 'search.rewriteCached' : 'search.rewriteModel', r.model ?? '', ms)
    : t('search.rewriteParser', r.reason ?? '', ms);
}

const idOf = (r) => r.item_id ?? r.id ?? r.item?.id;

function renderResults(root, response, list, baseline) {
  clear(root);
  if (!response.ok) {
    root.append(h('div', { class: 'error' }, problem(response)));
    return;
  }
  if (!list.length) {
    root.append(h('p', { class: 'muted' }, t('search.noResults')));
    return;
  }
  const before = new Map((baseline ?? []).map((r, i) => [idOf(r), i]));
  root.append(h('ol', { class: 'results' }, list.map((r, i) => {
    const was = before.get(idOf(r));
    const move = baseline == null ? '' : was == null ? h('span', { class: 'moved-up', title: t('search.newEntry') }, ' ★') : was > i ? h('span', { class: 'moved-up', title: t('search.movedUp') }, ` ▲${was - i}`) : was < i ? h('span', { class: 'moved-down', title: t('search.movedDown') }, ` ▼${i - was}`) : '';
    return h('li', { 'data-item': idOf(r) },
      h('span', { class: 'rank' }, `${i + 1}.`),
      h('strong', {}, pick(r.title ?? r.item?.title ?? idOf(r), r.title_zh ?? r.item?.attributes?.title_zh)),
      move,
      r.score == null ? '' : h('span', { class: 'muted' }, ` · ${fmt(r.score)}`),
      facts(r),
      h('div', { class: 'breakdown' }, breakdown(r)),
      h('div', { class: 'breakdown' }, reasons(r).join(' · ')));
  })));
}

/** A price as the shop sends it: ¥ for CNY (and no currency), else the amount and its code. */
function money(price, currency) {
  if (price == null) return t('search.noPrice');
  const amount = Number(price).toFixed(Number.isInteger(price) ? 0 : 2);
  return !currency || currency === 'CNY' ? `¥${amount}` : `${amount} ${currency}`;
}

/** Price and category of a result, so a price limit or a category can be checked by eye. */
function facts(r) {
  const item = r.item ?? r;
  const path = item.category_path ?? [];
  const category = pick(path.join(' > '), item.category_path_zh ?? item.attributes?.category_path_zh) || '—';
  return h('div', { class: 'facts', 'data-testid': 'result-facts' },
    h('span', { 'data-testid': 'result-price' }, `${t('search.price')} ${money(item.price, item.currency)}`),
    ' · ',
    h('span', { 'data-testid': 'result-category' }, `${t('search.category')} ${category}`));
}

/** What the engine read in the query: price bounds, a price preference, brands and categories. */
function understanding(q) {
  const parts = [];
  if (q.price_min != null) parts.push(t('search.priceMin', `¥${fmtInt(q.price_min)}`));
  if (q.price_max != null) parts.push(t('search.priceMax', `¥${fmtInt(q.price_max)}`));
  if (q.price_preference && q.price_preference !== 'none') parts.push(t(`search.prefers.${q.price_preference}`));
  if (q.brands?.length) parts.push(`${t('search.brand')} ${q.brands.join(', ')}`);
  if (q.categories?.length) parts.push(`${t('search.category')} ${q.categories[0]}`);
  return parts.length ? `${t('search.understood')} ${parts.join(' · ')}` : '';
}

/** The score's parts: a breakdown object when sent, else the other numeric fields of the result. */
function breakdown(r) {
  const parts = r.breakdown ?? r.score_breakdown ?? r.scores ?? r.components
    ?? Object.fromEntries(Object.entries(r).filter(([k, v]) => typeof v === 'number' && k !== 'score' && k !== 'rank' && k !== 'price'));
  return Object.entries(parts).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmt(v)}`).join(' · ');
}
