// The inspector page: the live list of events (filters in the URL), and the panel beside it.

import { get, token } from './api.js';
import { badge, clock, el, fill, forwardText } from './dom.js';
import { showCompare, showEvent, showTimeline } from './panels.js';

const FILTERS = ['provider', 'type', 'verdict', 'status', 'object', 'q'];
const VIEWS = ['event', 'timeline', 'compare'];
const MAX_ROWS = 500; // rows kept while events stream in
const form = document.getElementById('filters');
const rows = document.querySelector('#events tbody');
const older = document.getElementById('older');
const empty = document.getElementById('empty');
const panel = document.getElementById('panel');
const live = document.getElementById('live');
let status = { can_sign: {}, save_dir: false };
let stream = null;
let next = null;

/** The page's state, as the URL holds it: filters, the open view, the token. */
function state() {
  return new URLSearchParams(location.search);
}

function filters() {
  const params = state();
  return Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || '']));
}

/** Change the URL (so a reload or a shared link keeps it) and show what it says. */
function go(changes, { keepView = false } = {}) {
  const params = state();
  if (!keepView) for (const name of [...VIEWS, 'timeline']) params.delete(name);
  for (const [name, value] of Object.entries(changes)) {
    if (value === '' || value === null) params.delete(name);
    else params.set(name, value);
  }
  const tokenValue = token();
  if (tokenValue) params.set('token', tokenValue);
  history.pushState(null, '', `?${params}`);
  render();
}

function row(event) {
  const node = el('tr', { 'data-id': event.id, class: event.status },
    el('td', {}, clock(event.received_at)),
    el('td', {}, `#${event.id}`),
    el('td', {}, event.provider || '?'),
    el('td', { class: 'type' }, event.type || '(no type)'),
    el('td', { class: 'object' }, event.object_id || '–'),
    el('td', {}, badge(event.verdict || 'pending'), event.duplicate ? badge('dup', 'duplicate') : ''),
    el('td', { class: 'forward' }, forwardText(event)));
  node.addEventListener('click', () => go({ event: String(event.id) }, { keepView: false }));
  if (String(event.id) === state().get('event')) node.classList.add('selected');
  return node;
}

async function loadFirstPage() {
  const page = await get('events', filters());
  fill(rows, page.events.map(row));
  next = page.next;
  older.hidden = next === null;
  empty.hidden = page.events.length > 0;
}

/** Keep the list short while events stream in: the oldest rows go, "Load older" brings them. */
function trim() {
  while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
  if (rows.children.length === MAX_ROWS) {
    next = Number(rows.lastElementChild.dataset.id);
    older.hidden = false;
  }
}

async function loadOlder() {
  if (next === null) return;
  const page = await get('events', { ...filters(), before: next });
  rows.append(...page.events.map(row));
  next = page.next;
  older.hidden = next === null;
}

/** Server-sent events: new events that match the filters, and changes to shown ones. */
function listen() {
  stream?.close();
  const query = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v));
  stream = new EventSource(`/api/stream?${query}`);
  stream.addEventListener('hello', () => { fill(live, '● live'); live.className = 'badge ok'; });
  stream.addEventListener('error', () => { fill(live, 'reconnecting…'); live.className = 'badge failed'; });
  stream.addEventListener('reset', (message) => {
    const data = JSON.parse(message.data);
    fill(rows, data.events.map(row));
    next = data.next;
    older.hidden = next === null;
    empty.hidden = rows.children.length > 0;
  });
  stream.addEventListener('events', (message) => {
    const data = JSON.parse(message.data);
    for (const event of data.events.slice().reverse()) {
      rows.querySelector(`tr[data-id="${event.id}"]`)?.remove();
      rows.prepend(row(event));
    }
    trim();
    empty.hidden = rows.children.length > 0;
  });
  stream.addEventListener('changed', (message) => {
    for (const event of JSON.parse(message.data).events) {
      rows.querySelector(`tr[data-id="${event.id}"]`)?.replaceWith(row(event));
    }
  });
}

async function showPanel() {
  const params = state();
  try {
    if (params.get('compare')) {
      await showCompare(panel, params.get('compare').split(',').slice(0, 2), go);
    } else if (params.get('timeline') && params.get('object')) {
      await showTimeline(panel, params.get('provider') || '', params.get('object'), go);
    } else if (params.get('event')) {
      await showEvent(panel, params.get('event'), status, go);
    }
  } catch (error) {
    fill(panel, el('p', { class: 'error' }, error.message));
  }
}

let shownFilters = null;

async function render() {
  const current = JSON.stringify(filters());
  for (const name of FILTERS) form.elements[name].value = filters()[name];
  if (current !== shownFilters) {
    shownFilters = current;
    await loadFirstPage();
    listen();
  } else {
    for (const node of rows.querySelectorAll('tr.selected')) node.classList.remove('selected');
    rows.querySelector(`tr[data-id="${state().get('event')}"]`)?.classList.add('selected');
  }
  await showPanel();
}

async function start() {
  status = await get('status');
  const providers = form.elements.provider;
  for (const [name, label] of Object.entries(status.providers)) providers.append(el('option', { value: name }, label));
  fill(document.getElementById('mode'), `${status.mode} · ${status.log}`);
  document.getElementById('token-note').hidden = Boolean(token());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(FILTERS.map((name) => [name, form.elements[name].value.trim()]));
    go(values, { keepView: true });
  });
  document.getElementById('clear').addEventListener('click', () => go(Object.fromEntries(FILTERS.map((n) => [n, '']))));
  older.addEventListener('click', loadOlder);
  window.addEventListener('popstate', render);
  await render();
  document.body.dataset.ready = 'true';
}

start().catch((error) => fill(panel, el('p', { class: 'error' }, `could not start: ${error.message}`)));
