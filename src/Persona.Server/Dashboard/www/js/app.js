import { t, lang, setLang } from './i18n.js';
import { h, clear } from './dom.js';
import { disposeCharts } from './charts.js';
import { renderOverview } from './pages/overview.js';
import { renderUsers } from './pages/users.js';
import { renderSegments } from './pages/segments.js';
import { renderSearch } from './pages/search.js';
import { renderModels } from './pages/models.js';
import { renderOnline } from './pages/online.js';
import { apiKey, setApiKey } from './api.js';

// Hash routes (#/users/u-42) so the server needs no fallback route and every page is a bookmark.
const Pages = [
  { id: 'overview', render: renderOverview },
  { id: 'users', render: renderUsers },
  { id: 'segments', render: renderSegments },
  { id: 'search', render: renderSearch },
  { id: 'models', render: renderModels },
  { id: 'online', render: renderOnline },
];

const page = document.getElementById('page');
let cleanup = null;
let generation = 0;

function route() {
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const found = Pages.find((p) => p.id === id) ?? Pages[0];
  return { page: found, args: rest.map(decodeURIComponent) };
}

async function render() {
  const { page: current, args } = route();
  cleanup?.();
  cleanup = null;
  disposeCharts();
  const mine = ++generation;
  renderNav(current.id);
  page.dataset.page = current.id;
  page.dataset.ready = 'false';
  // Pages draw into an attached container: charts measure their element when they are created.
  const container = h('div', {}, h('p', { class: 'muted', 'data-loading': '' }, t('common.loading')));
  clear(page).append(container);
  // A page may still be loading when the user moves on; only the latest render marks the page ready.
  const context = { args, isCurrent: () => mine === generation, onLeave: (fn) => { cleanup = fn; } };
  try {
    await current.render(container, context);
  } catch (error) {
    if (mine === generation) container.append(h('div', { class: 'error' }, `${t('common.error')}: ${error?.message ?? error}`));
  }
  if (mine !== generation) return;
  container.querySelector(':scope > [data-loading]')?.remove();
  page.dataset.ready = 'true';
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  clear(nav).append(...Pages.map((p) =>
    h('a', { href: `#/${p.id}`, class: p.id === active ? 'active' : '', 'data-testid': `nav-${p.id}` }, t(`nav.${p.id}`))));
  document.getElementById('lang-toggle').textContent = t('lang.switch');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.title = `${t('app.title')} · ${t(`nav.${active}`)}`;
}

document.getElementById('lang-toggle').addEventListener('click', () => {
  setLang(lang() === 'zh' ? 'en' : 'zh');
  render();
});

// Key form: shown when the API answers 401/403, or from the key button; the key stays in this browser only.
function showKeyForm(status) {
  if (document.getElementById('key-form')) return;
  const input = h('input', { type: 'password', id: 'key-input', 'data-testid': 'key-input', placeholder: t('key.placeholder'), value: apiKey() });
  // data-i18n: renderNav relabels them when the language changes while the form is open.
  const label = h('span', { 'data-i18n': status === 403 ? 'key.forbidden' : 'key.needed' }, status === 403 ? t('key.forbidden') : t('key.needed'));
  const form = h('form', { id: 'key-form', class: 'key-form', 'data-testid': 'key-form' },
    label, input, h('button', { type: 'submit', 'data-i18n': 'key.save' }, t('key.save')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key) {
      // Tried before it is kept: a key the server refuses, or one without the admin scope, is not stored.
      const probe = await fetch('/v1/admin/overview', { headers: { 'x-api-key': key } });
      if (probe.status === 401 || probe.status === 403) {
        const message = probe.status === 403 ? 'key.forbidden' : 'key.needed';
        label.dataset.i18n = message;
        label.textContent = t(message);
        input.value = '';
        return;
      }
    }
    setApiKey(key);
    form.remove();
    render();
  });
  document.querySelector('header.top').after(form);
}
addEventListener('persona:key-needed', (event) => showKeyForm(event.detail));
document.getElementById('key-button').addEventListener('click', () => showKeyForm(0));

setLang(lang());
addEventListener('hashchange', render);
render();
