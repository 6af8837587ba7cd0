// The ceremony list (paged), the contact book, and the forms that start a
// DKG or a signing (with contact names or fingerprints).
import * as api from '../api.js';
import { h, field, status, say, busy } from '../ui.js';

export const title = 'Ceremonies';

export function render(view) {
  const out = status('ceremonies-status');
  const body = h('tbody', { id: 'ceremony-rows' });
  const more = h('button', { id: 'more', type: 'button', class: 'secondary', hidden: true }, 'More');
  let cursor = '';
  const row = c => h('tr', { 'data-id': c.id, 'data-version': c.version },
    h('td', {}, h('a', { href: '#/ceremony/' + c.id }, c.kind + ' ' + c.id.slice(0, 8))),
    h('td', {}, c.status), h('td', {}, `${c.round}/${c.rounds}`));
  const page = async () => {
    const list = await api.call('ceremonies', cursor, '');
    for (const c of list.ceremonies) if (!body.querySelector(`tr[data-id="${c.id}"]`)) body.append(row(c));
    cursor = list.next_cursor || '';
    more.hidden = !cursor;
    say(out, body.children.length ? `${body.children.length} ceremonies shown.` : 'No ceremonies yet.');
  };
  more.addEventListener('click', () => busy(more, out, page, api.isReady));

  const dkg = h('form', { id: 'dkg-form', 'aria-labelledby': 'dkg-h' },
    h('h2', { id: 'dkg-h' }, 'New group key (DKG)'),
    field('dkg-threshold', 'Threshold', { type: 'number', min: 1, value: 2, required: true }),
    h('label', { for: 'dkg-participants' }, 'Participants (contact names or fingerprints, one a line; you are added)'),
    h('textarea', { id: 'dkg-participants', rows: 3, required: true }),
    h('button', { type: 'submit' }, 'Start DKG'));
  dkg.addEventListener('submit', e => {
    e.preventDefault();
    busy(dkg.querySelector('button'), out, async () => {
      const parts = [...new Set([api.session.fingerprint, ...dkg['dkg-participants'].value.split(/\s+/).filter(Boolean)])];
      const c = await api.call('startDKG', Number(dkg['dkg-threshold'].value), parts);
      location.hash = '#/ceremony/' + c.id;
    }, api.isReady);
  });

  const sign = h('form', { id: 'sign-form', 'aria-labelledby': 'sign-h' },
    h('h2', { id: 'sign-h' }, 'New signature'),
    field('sign-key', 'Group key id', { required: true }),
    h('label', { for: 'sign-message' }, 'Message'),
    h('textarea', { id: 'sign-message', rows: 3 }),
    h('label', { for: 'sign-signers' }, 'Signers (contact names or fingerprints, one a line; empty: every holder)'),
    h('textarea', { id: 'sign-signers', rows: 3 }),
    h('button', { type: 'submit' }, 'Start signing'));
  sign.addEventListener('submit', e => {
    e.preventDefault();
    busy(sign.querySelector('button'), out, async () => {
      const signers = sign['sign-signers'].value.split(/\s+/).filter(Boolean);
      const c = await api.call('startSign', sign['sign-key'].value.trim(), new TextEncoder().encode(sign['sign-message'].value), signers);
      location.hash = '#/ceremony/' + c.id;
    }, api.isReady);
  });

  // Live: a pushed state replaces its row, or heads the list.
  const stop = api.onCeremony(c => {
    const old = body.querySelector(`tr[data-id="${c.id}"]`);
    if (!old) body.prepend(row(c));
    else if (Number(old.dataset.version) < c.version) old.replaceWith(row(c));
  });
  view.addEventListener('leave', stop);

  // The shares this browser holds, each exportable as the CLI's share file
  // (put it in CONFIG/shares/ to use it with the chusme command).
  const shares = h('ul', { id: 'shares' });
  api.shareIDs().then(ids => Promise.all(ids.map(async id => {
    const url = URL.createObjectURL(new Blob([await api.shareFile(id)], { type: 'application/json' }));
    view.addEventListener('leave', () => URL.revokeObjectURL(url));
    shares.append(h('li', {}, h('a', { href: url, download: id + '.share', 'data-key': id }, `Export the share of key ${id.slice(0, 16)}…`)));
  })));

  // The contact book (names for fingerprints, kept in IndexedDB through the
  // engine's client.ContactBook): the forms below take the names.
  const book = h('tbody', { id: 'contact-rows' });
  const showContacts = async () => {
    const list = await api.call('contacts');
    book.replaceChildren(...list.map(c => {
      const rm = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove contact ${c.name}` }, 'Remove');
      rm.addEventListener('click', () => busy(rm, out, async () => { await api.call('removeContact', c.name); await showContacts(); }, api.isReady));
      return h('tr', { 'data-name': c.name }, h('td', {}, c.name), h('td', {}, h('code', { class: 'fp' }, c.fingerprint)), h('td', {}, rm));
    }));
  };
  const addContact = h('form', { id: 'contact-form', 'aria-labelledby': 'contacts-h' },
    field('contact-name', 'Name', { required: true, autocomplete: 'off' }),
    field('contact-fp', 'Fingerprint (64 hex digits)', { required: true, autocomplete: 'off' }),
    h('button', { type: 'submit' }, 'Add the contact'));
  addContact.addEventListener('submit', e => {
    e.preventDefault();
    busy(addContact.querySelector('button'), out, async () => {
      const c = await api.call('addContact', addContact['contact-name'].value.trim(), addContact['contact-fp'].value.trim());
      addContact.reset();
      await showContacts();
      say(out, `Contact ${c.name} added.`, 'ok');
    }, api.isReady);
  });
  api.loaded.then(() => busy(addContact.querySelector('button'), out, showContacts, api.isReady));

  view.append(h('h2', {}, 'Your ceremonies'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Ceremony'), h('th', {}, 'Status'), h('th', {}, 'Round'))), body),
    more, out, h('section', { 'aria-labelledby': 'shares-h' }, h('h2', { id: 'shares-h' }, 'Your shares'), shares),
    h('section', { 'aria-labelledby': 'contacts-h' }, h('h2', { id: 'contacts-h' }, 'Contacts'),
      h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Fingerprint'), h('th', {}, ''))), book)),
      addContact), dkg, sign);
  if (api.session.loggedIn) busy(more, out, page, api.isReady);
  else say(out, 'Log in to see your ceremonies.');
}
