// Small DOM helpers shared by the pages (no innerHTML with data: text only).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

// field is a labelled input.
export function field(id, label, attrs = {}) {
  return [h('label', { for: id }, label), h('input', { id, name: id, ...attrs })];
}

// status is a live region for a form's outcome.
export function status(id) { return h('p', { id, role: 'status', 'aria-live': 'polite' }); }

export function say(el, text, cls = '') { el.textContent = text; el.className = cls; }

// busy disables button while f runs, saying "waiting for the engine" until
// the engine has loaded, and reports f's error in out.
export async function busy(button, out, f, isReady) {
  button.disabled = true;
  if (!isReady()) say(out, 'Waiting for the ChusMe engine to load…');
  try { return await f(); } catch (e) { say(out, e.message, 'error'); return undefined; } finally { button.disabled = false; }
}

export const hex = bytes => Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
export const b64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
