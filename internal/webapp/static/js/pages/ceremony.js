// One ceremony: its details, kept up to date; taking part in it with the
// engine's drivers (DKG: the share is sealed under a passphrase and kept in
// IndexedDB; signing: the share is opened, and the verified request shown
// for approval before anything is signed).
import * as api from '../api.js';
import { h, field, status, say, busy, hex, b64 } from '../ui.js';

export const title = 'Ceremony';

// printable reports whether bytes are UTF-8 text without control characters.
function printable(bytes) {
  try {
    const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /^[^\p{Cc}]*$/u.test(s.replace(/[\n\t]/g, '')) ? s : null;
  } catch { return null; }
}

function messageView(bytes) {
  const text = printable(bytes);
  return text !== null ? h('pre', { id: 'message-text' }, text) : h('pre', { id: 'message-hex', class: 'hex' }, hex(bytes));
}

// timeLeft is what is left of the ceremony's round.
function timeLeft(c) {
  return c.status === 'open' ? `${Math.max(0, Math.round((new Date(c.deadline) - Date.now()) / 1000))} s` : '—';
}

function details(c) {
  const rows = [['Kind', c.kind], ['Status', c.status], ['Round', `${c.round} of ${c.rounds}`],
    ['Threshold', c.threshold], ['Creator', c.creator], ['Participants', c.participants.join(' ')],
    ['Submitted', (c.submitted || []).join(' ') || 'nobody yet'], ['Missing', (c.missing || []).join(' ') || 'nobody'],
    ['Time left in the round', timeLeft(c)]];
  if (c.key_id) rows.push(['Group key', c.key_id]);
  if (c.failure) rows.push(['Failure', `${c.failure.reason}${c.failure.message ? ': ' + c.failure.message : ''}`]);
  if (c.result) rows.push(['Result', JSON.stringify(c.result)]);
  return h('dl', { id: 'ceremony-details' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, String(v))]));
}

export function render(view, id) {
  const out = status('ceremony-status');
  const box = h('section', { 'aria-label': 'Details' }, 'Loading the ceremony…');
  const approval = h('section', { id: 'approval', 'aria-labelledby': 'approval-h', hidden: true });
  const result = h('section', { id: 'result', 'aria-live': 'polite', hidden: true });
  let current = null, alive = true;
  const show = c => { current = c; box.replaceChildren(details(c)); };
  const stop = api.onCeremony(c => { if (c.id === id && (!current || c.version > current.version)) show(c); });
  view.addEventListener('leave', () => { alive = false; stop(); });

  const part = h('form', { id: 'take-part-form', 'aria-labelledby': 'part-h' },
    h('h2', { id: 'part-h' }, 'Take part'),
    field('share-pass', 'Share passphrase (seals a new share; opens the share a signing uses)', { type: 'password', autocomplete: 'new-password', required: true }),
    h('button', { id: 'take-part', type: 'submit' }, 'Take part'));
  part.addEventListener('submit', e => {
    e.preventDefault();
    const pass = part['share-pass'].value;
    busy(part.querySelector('button'), out, async () => {
      const c = current || await api.call('ceremony', id);
      say(out, 'Taking part…');
      const progress = j => show(JSON.parse(j));
      if (c.kind === 'dkg') {
        const r = await api.call('runDKG', id, pass, progress);
        await api.saveShare(r.key_id, r.share_file);
        result.hidden = false;
        result.replaceChildren(h('h2', {}, 'Group key made'), h('p', {}, 'Key id: ', h('code', { id: 'result-key' }, r.key_id)),
          h('p', {}, 'Your share is sealed under your passphrase in this browser.'));
      } else if (c.kind === 'sign') {
        const file = await api.shareFile(c.key_id);
        if (!file) throw new Error(`This browser holds no share of key ${c.key_id}.`);
        const r = await api.call('runSign', id, file, pass, approve, progress);
        result.hidden = false;
        result.replaceChildren(h('h2', {}, 'Signed'), h('p', {}, 'Signature: ', h('code', { id: 'result-signature', class: 'hex' }, hex(b64(r.signature)))));
      } else throw new Error(`The web app does not take part in ${c.kind} ceremonies yet.`);
      say(out, 'Done.', 'ok');
    }, api.isReady).finally(() => { approval.hidden = true; });
  });

  // approve shows the request as the driver verified it and resolves to
  // the person's answer.
  function approve(json) {
    const r = JSON.parse(json);
    const msg = b64(r.message || '');
    return new Promise(resolve => {
      const yes = h('button', { id: 'approve', type: 'button' }, 'Approve and sign');
      const no = h('button', { id: 'decline', type: 'button', class: 'danger' }, 'Decline');
      const answer = v => () => { yes.disabled = no.disabled = true; say(out, v ? 'Signing…' : 'Declining…'); resolve(v); };
      yes.addEventListener('click', answer(true));
      no.addEventListener('click', answer(false));
      approval.replaceChildren(h('h2', { id: 'approval-h' }, 'Approve this signature?'),
        h('dl', {},
          h('dt', {}, 'Requested by (verified)'), h('dd', { id: 'requester', class: 'fp' }, r.requester),
          h('dt', {}, 'Group key'), h('dd', { class: 'fp' }, r.key_id),
          h('dt', {}, 'Signers'), h('dd', { id: 'signers', class: 'fp' }, r.signers.join(' ')),
          h('dt', {}, 'Message SHA-256'), h('dd', { id: 'message-sha256', class: 'hex' }, hex(b64(r.message_sha256))),
          h('dt', {}, 'Request valid until'), h('dd', {}, new Date(r.deadline).toLocaleString())),
        h('h3', {}, 'Message'), messageView(msg), yes, ' ', no);
      approval.hidden = false;
      yes.focus();
    });
  }

  view.append(h('h2', {}, 'Ceremony ', h('code', {}, id)), box, part, approval, result, out);
  api.hasRoundState(id).then(has => {
    if (has) part.prepend(h('p', { id: 'rejoin-hint' }, 'This browser took part in this ceremony before: take part again, with the same passphrase, to rejoin where it stopped.'));
  });
  (async () => {
    try {
      show(await api.call('ceremony', id));
      while (alive && current.status === 'open') {
        const c = await api.call('wait', id, current.version);
        if (c.version > current.version) show(c);
      }
    } catch (e) { if (alive) say(out, e.message, 'error'); }
  })();
  const tick = setInterval(() => {
    const dd = box.querySelector('[data-field="Time left in the round"]');
    if (!alive) clearInterval(tick);
    else if (current && dd) dd.textContent = timeLeft(current);
  }, 1000);
}
