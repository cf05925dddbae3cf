// A tiny element builder: text always goes in as text nodes, never as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'style') el.style.cssText = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const clear = (el) => { el.replaceChildren(); return el; };

const numberFormat = new Intl.NumberFormat('en-US');
export const fmtInt = (n) => (n == null ? '—' : numberFormat.format(Math.round(n)));
export const fmt = (n, digits = 3) => (n == null || Number.isNaN(n) ? '—' : Number(n).toFixed(digits));
export const pct = (n) => (n == null ? '—' : `${(n * 100).toFixed(1)}%`);
export const when = (iso) => (iso ? iso.replace('T', ' ').replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, '').slice(0, 16) : '—');

/** A labelled bar for a 0..1 value. */
export const meter = (value) => h('div', { class: 'bar', title: pct(value) }, h('span', { style: `width:${Math.max(0, Math.min(1, value ?? 0)) * 100}%` }));
