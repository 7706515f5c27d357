// The right-hand panel: one event in detail (with its actions), an object's timeline,
// or two events compared.

import { act, get, token } from './api.js';
import { badge, bodyBytes, clock, el, fill, forwardText, hexDump } from './dom.js';
import { diff, diffList, parse, tree } from './json.js';

/** A link that opens another view of the page (a query string only: never a script URL). */
function viewLink(text, params, go) {
  const query = new URLSearchParams(params);
  const link = el('a', { href: `?${query}` }, text);
  link.addEventListener('click', (event) => {
    event.preventDefault();
    go(params);
  });
  return link;
}

function section(title, ...content) {
  return el('section', { class: 'part' }, el('h3', {}, title), ...content);
}

function attemptsTable(attempts) {
  if (!attempts.length) return el('p', { class: 'muted' }, 'Never forwarded.');
  return el('table', { class: 'attempts' },
    el('thead', {}, el('tr', {}, ['time', 'target', 'status', 'latency', 'answer'].map((h) => el('th', {}, h)))),
    el('tbody', {}, attempts.map((a) => el('tr', {},
      el('td', {}, clock(a.attempted_at)),
      el('td', {}, el('code', {}, a.target)),
      el('td', {}, a.status === null ? badge('failed') : badge(String(a.status), a.status < 300 ? 'ok' : 'failed')),
      el('td', {}, a.latency_ms === null ? '–' : `${a.latency_ms.toFixed(1)} ms`),
      el('td', {}, a.error ? el('span', { class: 'error' }, a.error) : [
        el('pre', { class: 'answer' },
          a.response_base64 !== undefined ? `(${a.response_size} bytes, binary)` : a.response),
        answerHeaders(a.response_headers)])))));
}

/** The headers of the app's answer, folded (none for an attempt an older log recorded). */
function answerHeaders(headers) {
  if (!headers || !headers.length) return [];
  return el('details', { class: 'answer-headers' }, el('summary', {}, `${headers.length} headers`),
    el('pre', {}, headers.map(([name, value]) => `${name}: ${value}`).join('\n')));
}

function bodyView(detail) {
  const bytes = bodyBytes(detail);
  const parsed = detail.body === undefined ? undefined : parse(detail.body);
  const views = {};
  if (parsed !== undefined) views.Pretty = () => el('div', { class: 'tree' }, tree(parsed));
  if (detail.body !== undefined) views.Raw = () => el('pre', { class: 'raw' }, detail.body);
  views.Hex = () => el('pre', { class: 'raw' }, hexDump(bytes));
  const shown = el('div', { class: 'body' });
  const buttons = Object.keys(views).map((name) => {
    const button = el('button', { type: 'button', 'data-view': name }, name);
    button.addEventListener('click', () => {
      for (const other of buttons) other.classList.toggle('on', other === button);
      fill(shown, views[name]());
    });
    return button;
  });
  buttons[0].click();
  return [el('div', { class: 'toggles' }, `${detail.size} bytes · `, buttons), shown];
}

/** The result of an action, as a line under the buttons. */
function outcome(box, text, kind = '') {
  fill(box, el('span', { class: kind }, text));
}

function attemptText(result) {
  const a = result.attempt;
  const answer = a.response ? `: ${a.response.slice(0, 200)}` : '';
  const status = a.status === null ? `failed: ${a.error}` : `answered ${a.status}${answer}`;
  const signed = result.signed ? 'freshly signed' : 'with its original signature (no secret)';
  const kept = result.recorded ? ` · ${result.recorded}` : ' · recorded in the log';
  return `${a.target} ${status} (${a.latency_ms.toFixed(1)} ms, ${signed}${kept})`;
}

function actions(detail, status, go, refresh) {
  const box = el('p', { class: 'outcome', id: 'outcome' });
  const url = el('input', {
    name: 'url', size: 40, value: detail.replay_to[0] || '', placeholder: 'http://localhost:3000/webhooks',
    'aria-label': 'replay to URL',
  });
  const needsToken = !token();
  const button = (text, run, name) => {
    const node = el('button', { type: 'button', name, disabled: needsToken }, text);
    node.addEventListener('click', async () => {
      node.disabled = true;
      try {
        await run();
      } catch (error) {
        outcome(box, error.message, 'error');
      } finally {
        node.disabled = false;
      }
    });
    return node;
  };
  const replay = button('Replay', async () => {
    outcome(box, 'sending…');
    const result = await act(`events/${detail.id}/replay`, { url: url.value });
    outcome(box, attemptText(result), result.attempt.status !== null && result.attempt.status < 300 ? 'ok' : 'failed');
    refresh();
  }, 'replay');
  const editing = el('div', { class: 'editor' });
  const edit = button('Edit & replay', async () => editor(detail, url, box, editing), 'edit');
  const curl = button('Copy as curl', async () => {
    const result = await act(`events/${detail.id}/curl`, { url: url.value });
    const text = el('textarea', { class: 'command', readonly: true, rows: 4 }, result.command);
    fill(box, result.signed ? 'Freshly signed: ' : 'Original signature (no secret): ', text);
    text.select();
    await navigator.clipboard?.writeText(result.command).catch(() => {});
  }, 'curl');
  const download = el('a', { class: 'button', href: `/api/events/${detail.id}/fixture`, download: '' }, 'Save as fixture');
  const save = status.save_dir ? button('Save to --save folder', async () => {
    const result = await act(`events/${detail.id}/fixture`);
    outcome(box, `saved ${result.path}`, 'ok');
  }, 'save') : null;
  const other = el('input', { name: 'compare', size: 6, placeholder: '#id', 'aria-label': 'compare with event id' });
  const compare = el('button', { type: 'button', name: 'compare-go' }, 'Compare');
  compare.addEventListener('click', () => go({ compare: `${detail.id},${other.value.replace('#', '')}` }));
  return el('div', { class: 'actions' },
    el('div', {}, 'to ', url, ' ', replay, edit, curl, download, save),
    el('div', {}, 'compare with ', other, compare),
    editing,
    box);
}

/** Edit & replay: the body in a text box, its diff against the original, and Send. */
function editor(detail, url, box, editing) {
  const original = detail.body === undefined ? undefined : parse(detail.body);
  const start = original === undefined ? (detail.body || '') : JSON.stringify(original, null, 2);
  const text = el('textarea', { name: 'edited', rows: 16, spellcheck: 'false' }, start);
  const changes = el('div', { class: 'changes' });
  const show = () => {
    const edited = parse(text.value);
    fill(changes, edited === undefined ? el('p', { class: 'error' }, 'Not valid JSON (it will be sent as typed).')
      : diffList(diff(original, edited)));
  };
  text.addEventListener('input', show);
  show();
  const send = el('button', { type: 'button', name: 'send-edited' }, 'Send re-signed');
  send.addEventListener('click', async () => {
    send.disabled = true;
    try {
      const result = await act(`events/${detail.id}/replay`, { url: url.value, body: text.value });
      outcome(box, attemptText(result), result.attempt.status !== null && result.attempt.status < 300 ? 'ok' : 'failed');
    } catch (error) {
      outcome(box, error.message, 'error');
    } finally {
      send.disabled = false;
    }
  });
  fill(editing, text, el('h4', {}, 'Changes'), changes, send);
  fill(box);
}

/** One event: verdict and diagnosis, actions, body, headers, attempts. */
export async function showEvent(panel, id, status, go) {
  const detail = await get(`events/${id}`);
  const attempts = el('div', { id: 'attempts' }, attemptsTable(detail.attempts));
  const refresh = async () => fill(attempts, attemptsTable((await get(`events/${id}/attempts`)).attempts));
  const verdict = badge(detail.verdict || 'pending', detail.verdict || 'pending');
  const object = detail.object_id
    ? viewLink(detail.object_id, { object: detail.object_id, provider: detail.provider || '', timeline: '1' }, go)
    : '–';
  fill(panel,
    el('h2', {}, `#${detail.id} `, el('span', { class: 'type' }, detail.type || '(no type)')),
    el('p', { class: 'meta' },
      detail.label || detail.provider || 'unknown provider', ' · received ', clock(detail.received_at),
      detail.occurred_at ? [' · happened ', clock(detail.occurred_at)] : '',
      ' · ', el('code', {}, `${detail.method} ${detail.path}`), ' · object ', object),
    el('p', { class: 'verdict' }, verdict, detail.duplicate ? badge('duplicate') : '',
      detail.reason ? el('span', { class: 'reason' }, detail.reason) : ''),
    actions(detail, status, go, refresh),
    section('Body', ...bodyView(detail)),
    section('Request headers', el('table', { class: 'headers' },
      el('tbody', {}, detail.headers.map(([name, value]) => el('tr', {}, el('th', {}, name), el('td', {}, value)))))),
    section('Forward attempts', attempts));
}

/** Every event about one object, in the order received, with its flags. */
export async function showTimeline(panel, provider, object, go) {
  const line = await get('timeline', { provider, object });
  fill(panel,
    el('h2', {}, 'Timeline of ', el('code', {}, object)),
    el('p', { class: 'meta' }, line.provider || 'any provider', ' · ', `${line.events.length} events`,
      ' · states: ', el('span', { class: 'states' }, line.states.join(' → ') || '–'),
      line.flagged ? [' · ', badge(`${line.flagged} flagged`, 'failed')] : ''),
    el('ol', { class: 'timeline' }, line.events.map((event) => el('li', { class: event.flags.length ? 'flagged' : '' },
      el('div', {}, clock(event.received_at), ' ',
        viewLink(`#${event.id}`, { event: String(event.id) }, go), ' ',
        el('span', { class: 'type' }, event.type || '(no type)'), ' ',
        badge(event.verdict || 'pending'), ' ', el('span', { class: 'forward' }, forwardText(event)),
        event.occurred_at ? el('span', { class: 'muted' }, ' · happened ', clock(event.occurred_at)) : ''),
      event.flags.map((flag) => el('div', { class: `flag ${flag.kind}` }, '⚑ ', flag.text))))));
}

/** Two events' bodies compared, path by path. */
export async function showCompare(panel, ids, go) {
  const [a, b] = await Promise.all(ids.map((id) => get(`events/${id}`)));
  const left = parse(a.body ?? '');
  const right = parse(b.body ?? '');
  fill(panel,
    el('h2', {}, 'Compare ', viewLink(`#${a.id}`, { event: String(a.id) }, go), ' with ',
      viewLink(`#${b.id}`, { event: String(b.id) }, go)),
    el('p', { class: 'meta' }, `${a.type || '(no type)'} → ${b.type || '(no type)'}`),
    left === undefined || right === undefined
      ? el('p', { class: 'error' }, 'One of the bodies is not JSON.')
      : diffList(diff(left, right)));
}
