// The dashboard reads only the public API (and /v1/admin). Failures come back as values, never as thrown errors,
// so pages can show what went wrong.

const KeyStorage = 'persona.apiKey';

/** The API key the dashboard sends (an admin key: the dashboard reads every page's data); empty on an open server. */
export const apiKey = () => localStorage.getItem(KeyStorage) ?? '';
export const setApiKey = (key) => (key ? localStorage.setItem(KeyStorage, key) : localStorage.removeItem(KeyStorage));

async function request(method, path, body) {
  try {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (apiKey()) headers['x-api-key'] = apiKey();
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    // 401/403: the page shows what failed; the app shell offers to enter or change the key.
    if (response.status === 401 || response.status === 403) dispatchEvent(new CustomEvent('persona:key-needed', { detail: response.status }));
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    return { ok: response.ok, status: response.status, data };
  } catch (error) {
    return { ok: false, status: 0, data: { title: String(error) } };
  }
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});
export const put = (path, body) => request('PUT', path, body ?? {});
export const del = (path) => request('DELETE', path);

/** A short message for a failed response: its problem title and detail. */
export const problem = (response) =>
  [response.data?.title, response.data?.detail].filter(Boolean).join(' ') || `HTTP ${response.status}`;

let paths = null;

/**
 * Whether the server maps a route (e.g. '/v1/search'), read from its OpenAPI document, so that pages for
 * endpoints still being built show a note instead of requesting a 404.
 */
export async function hasEndpoint(template) {
  paths ??= get('/openapi/v1.json').then((r) => new Set(Object.keys(r.data?.paths ?? {}).map(normalise)));
  return (await paths).has(normalise(template));
}

const normalise = (template) => template.replace(/\{[^}]*\}/g, '{}').replace(/\/$/, '');

export const enc = encodeURIComponent;
