// The page speaks only to the JSON API under /api/ (the same one scripts use).
// Actions that send or write carry the per-run token from the URL muxhook printed.

const TOKEN_KEY = 'muxhook-token';

/** The per-run token: from the URL (kept for this tab), or remembered from it. */
export function token() {
  const given = new URLSearchParams(location.search).get('token');
  if (given) sessionStorage.setItem(TOKEN_KEY, given);
  return given || sessionStorage.getItem(TOKEN_KEY) || '';
}

async function answer(response) {
  const document = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(document.error || `HTTP ${response.status}`);
  return document;
}

/** GET a JSON document. */
export async function get(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null));
  const suffix = query.toString() ? `?${query}` : '';
  return answer(await fetch(`/api/${path}${suffix}`, { headers: { accept: 'application/json' } }));
}

/** POST an action (JSON in, JSON out) with the token. */
export async function act(path, options = {}) {
  const response = await fetch(`/api/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-muxhook-token': token() },
    body: JSON.stringify(options),
  });
  return answer(response);
}
