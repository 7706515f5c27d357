// JSON shown as a collapsible tree (details/summary, text only), and a diff of two values.

import { el } from './dom.js';

/** A collapsible tree of a parsed JSON value. */
export function tree(value, key = null, depth = 0) {
  const label = key === null ? [] : [el('span', { class: 'key' }, JSON.stringify(key)), ': '];
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    const node = el('details', { open: depth < 3 },
      el('summary', {}, ...label, open, el('span', { class: 'muted' }, ` ${entries.length} `), close));
    const list = el('div', { class: 'children' });
    for (const [childKey, child] of entries) {
      list.append(tree(child, Array.isArray(value) ? null : childKey, depth + 1));
    }
    node.append(list);
    return node;
  }
  const kind = value === null ? 'null' : typeof value;
  return el('div', { class: 'leaf' }, ...label, el('span', { class: kind }, JSON.stringify(value)));
}

/** Every difference between two JSON values: {path, kind: added|removed|changed, before, after}. */
export function diff(before, after, path = '') {
  const changes = [];
  const bothObjects = before && after && typeof before === 'object' && typeof after === 'object'
    && Array.isArray(before) === Array.isArray(after);
  if (bothObjects) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      const where = Array.isArray(before) ? `${path}[${key}]` : (path ? `${path}.${key}` : key);
      if (!(key in after)) changes.push({ path: where, kind: 'removed', before: before[key] });
      else if (!(key in before)) changes.push({ path: where, kind: 'added', after: after[key] });
      else changes.push(...diff(before[key], after[key], where));
    }
    return changes;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    changes.push({ path: path || '(whole value)', kind: 'changed', before, after });
  }
  return changes;
}

/** A diff as a list: one line per changed path. */
export function diffList(changes) {
  if (!changes.length) return el('p', { class: 'muted' }, 'No differences.');
  const text = (value) => (value === undefined ? '' : JSON.stringify(value));
  return el('ul', { class: 'diff' }, changes.map((change) => el('li', { class: change.kind },
    el('code', {}, change.path), ' ',
    change.kind === 'added' ? ['+ ', el('code', {}, text(change.after))]
      : change.kind === 'removed' ? ['− ', el('code', {}, text(change.before))]
        : [el('code', {}, text(change.before)), ' → ', el('code', {}, text(change.after))])));
}

/** A body's text parsed as JSON, or undefined when it is not JSON. */
export function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
