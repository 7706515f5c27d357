// Building the page: every piece of text goes in through textContent, never as HTML,
// because every payload shown here came from outside (a webhook body, its headers, path).

/** An element with attributes (never event handlers) and children (nodes or text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace everything inside ``node``. */
export function fill(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** ``12:03:41`` for a unix time; the full date is the element's title. */
export function clock(seconds) {
  if (seconds === null || seconds === undefined) return el('span', {}, '–');
  const when = new Date(seconds * 1000);
  return el('time', { datetime: when.toISOString(), title: when.toLocaleString() },
    when.toLocaleTimeString([], { hour12: false }));
}

/** The forward outcome of an event: its latest attempt's status and latency. */
export function forwardText(event) {
  const last = event.attempts[event.attempts.length - 1];
  if (!last) return event.verdict === 'invalid' ? 'not forwarded' : 'recorded';
  const latency = last.latency_ms === null ? '' : ` ${last.latency_ms.toFixed(1)} ms`;
  const outcome = last.status === null ? 'failed' : String(last.status);
  return `→ ${outcome}${latency}`;
}

/** A small coloured word: valid, invalid, failed… */
export function badge(text, kind = text) {
  return el('span', { class: `badge ${kind}` }, text);
}

/** Text as lines of hex bytes beside their printable characters. */
export function hexDump(bytes) {
  const lines = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.slice(offset, offset + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n');
}

/** Bytes of a body: its text as UTF-8, or its base64 decoded. */
export function bodyBytes(detail) {
  if (detail.body_base64 !== undefined) {
    return Uint8Array.from(atob(detail.body_base64), (c) => c.charCodeAt(0));
  }
  return new TextEncoder().encode(detail.body);
}
