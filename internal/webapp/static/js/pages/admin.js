// The administrator's view (#/admin): server info, the ceremonies of the last day by
// the hour (a small chart, with its numbers in a table), invites (issue,
// list, revoke) and identities (list, ban, unban).
import * as api from '../api.js';
import { h, status, say, busy } from '../ui.js';

export const title = 'Admin';

// The statuses the chart stacks, bottom first, each with its CSS class.
const statuses = ['completed', 'failed', 'cancelled', 'open'];

export function render(view) {
  const out = status('admin-status');
  if (!api.session.loggedIn) {
    say(out, 'Log in as an administrator to see this page.');
    view.append(h('h2', {}, 'Admin'), out);
    return;
  }
  const info = h('dl', { id: 'server-info' });
  const chart = h('figure', { id: 'stats-chart' });
  const totals = h('tbody', { id: 'stats-totals' });
  const invites = h('tbody', { id: 'invite-rows' });
  const identities = h('tbody', { id: 'identity-rows' });
  const issued = h('p', { id: 'invite-issued', role: 'status', 'aria-live': 'polite' });
  const moreInvites = h('button', { id: 'more-invites', type: 'button', class: 'secondary', hidden: true }, 'More invites');
  const moreIdentities = h('button', { id: 'more-identities', type: 'button', class: 'secondary', hidden: true }, 'More identities');
  let inviteCursor = '', identityCursor = '';

  const showInfo = () => {
    const s = api.session.server || {};
    info.replaceChildren(...[['Name', s.name], ['Version', s.version], ['Issuer', s.issuer],
      ['Registration', s.registration], ['Features', (s.features || []).join(', ')]]
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')]));
  };
  const loadStats = async () => {
    const st = await api.call('adminStats', 24);
    chart.replaceChildren(bars(st), h('figcaption', {}, 'Ceremonies per hour, the last 24 hours (UTC), by status.'));
    totals.replaceChildren(...(st.totals.length ? st.totals : [null]).map(c => c
      ? h('tr', {}, h('td', {}, c.kind), h('td', {}, c.status), h('td', {}, c.reason || '—'), h('td', { class: 'num' }, c.count))
      : h('tr', {}, h('td', { colspan: 4 }, 'No ceremonies in the last 24 hours.'))));
  };
  const inviteRow = i => h('tr', { 'data-id': i.id },
    h('td', {}, h('code', {}, i.id.slice(0, 8))), h('td', {}, i.status),
    h('td', {}, when(i.expires_at)), h('td', {}, i.used_by ? h('code', {}, i.used_by.slice(0, 8) + '…') : '—'),
    h('td', {}, i.status === 'outstanding' ? revokeButton(i) : ''));
  const revokeButton = i => {
    const b = h('button', { type: 'button', class: 'secondary', 'aria-label': `Revoke invite ${i.id.slice(0, 8)}` }, 'Revoke');
    b.addEventListener('click', () => busy(b, out, async () => {
      await api.call('revokeInvite', i.id);
      invites.querySelector(`tr[data-id="${i.id}"]`)?.remove();
      say(out, `Invite ${i.id.slice(0, 8)} revoked.`);
    }, api.isReady));
    return b;
  };
  const loadInvites = async () => {
    const p = await api.call('adminInvites', inviteCursor);
    invites.append(...p.invites.map(inviteRow));
    inviteCursor = p.next_cursor || '';
    moreInvites.hidden = !inviteCursor;
  };
  const identityRow = i => {
    const banned = i.status === 'banned';
    const b = h('button', { type: 'button', class: banned ? '' : 'secondary', 'aria-label': `${banned ? 'Unban' : 'Ban'} ${i.fingerprint.slice(0, 16)}` }, banned ? 'Unban' : 'Ban');
    b.addEventListener('click', () => busy(b, out, async () => {
      const r = await api.call(banned ? 'unban' : 'ban', i.fingerprint);
      identities.querySelector(`tr[data-fp="${i.fingerprint}"]`)?.replaceWith(identityRow({ ...i, status: r.status }));
      say(out, `${i.fingerprint.slice(0, 16)}… is ${r.status}.`);
    }, api.isReady));
    return h('tr', { 'data-fp': i.fingerprint },
      h('td', {}, h('code', {}, i.fingerprint.slice(0, 12) + '…')), h('td', {}, i.role), h('td', {}, i.status),
      h('td', { class: 'num' }, i.devices), h('td', {}, i.fingerprint === api.session.fingerprint ? 'you' : b));
  };
  const loadIdentities = async () => {
    const p = await api.call('adminIdentities', identityCursor);
    identities.append(...p.identities.map(identityRow));
    identityCursor = p.next_cursor || '';
    moreIdentities.hidden = !identityCursor;
  };

  const invite = h('button', { id: 'invite', type: 'button' }, 'Issue an invite (24 hours)');
  invite.addEventListener('click', () => busy(invite, out, async () => {
    const r = await api.call('createInvite');
    issued.replaceChildren('New invite (shown once): ', h('code', { id: 'invite-token' }, r.invite));
    if (r.id) invites.prepend(inviteRow({ id: r.id, status: 'outstanding', expires_at: r.expires_at }));
  }, api.isReady));
  moreInvites.addEventListener('click', () => busy(moreInvites, out, loadInvites, api.isReady));
  moreIdentities.addEventListener('click', () => busy(moreIdentities, out, loadIdentities, api.isReady));

  const table = (caption, heads, body) => h('div', { class: 'scroll' }, h('table', {}, h('caption', {}, caption),
    h('thead', {}, h('tr', {}, heads.map(t => h('th', { scope: 'col' }, t)))), body));
  view.append(h('h2', {}, 'Admin'), out,
    h('section', { 'aria-labelledby': 'info-h' }, h('h3', { id: 'info-h' }, 'Server'), info),
    h('section', { 'aria-labelledby': 'stats-h' }, h('h3', { id: 'stats-h' }, 'Ceremonies, the last day'), chart,
      table('Totals by kind, status and reason', ['Kind', 'Status', 'Reason', 'Count'], totals)),
    h('section', { 'aria-labelledby': 'invites-h' }, h('h3', { id: 'invites-h' }, 'Invites'), invite, issued,
      table('Invites, newest first', ['Id', 'Status', 'Expires', 'Used by', ''], invites), moreInvites),
    h('section', { 'aria-labelledby': 'identities-h' }, h('h3', { id: 'identities-h' }, 'Identities'),
      table('Identities', ['Fingerprint', 'Role', 'Status', 'Devices', ''], identities), moreIdentities));
  showInfo();
  busy(invite, out, () => Promise.all([loadStats(), loadInvites(), loadIdentities()])
    .then(() => say(out, 'Admin view loaded.')), api.isReady);
}

// when is time t as "YYYY-MM-DD HH:MM" UTC.
const when = t => new Date(t).toISOString().slice(0, 16).replace('T', ' ');

// bars draws st's buckets as stacked bars, one an hour, a class per status;
// its title and the totals table say the same in words.
function bars(st) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs = {}, ...kids) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.append(...kids);
    return el;
  };
  const per = st.buckets.map(b => Object.fromEntries(statuses.map(s => [s, b.counts.filter(c => c.status === s).reduce((n, c) => n + c.count, 0)])));
  const max = Math.max(1, ...per.map(p => statuses.reduce((n, s) => n + p[s], 0)));
  const w = 10, gap = 2, height = 80, width = per.length * (w + gap);
  const total = s => per.reduce((n, p) => n + p[s], 0);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height + 12}`, role: 'img', class: 'chart',
    'aria-label': statuses.map(s => `${total(s)} ${s}`).join(', ') + ' in the last 24 hours' });
  per.forEach((p, i) => {
    let y = height;
    for (const s of statuses) {
      if (!p[s]) continue;
      const bh = (p[s] / max) * height;
      y -= bh;
      root.append(svg('rect', { x: i * (w + gap), y, width: w, height: bh, class: 'bar-' + s },
        svg('title', {}, `${new Date(st.buckets[i].start).toISOString().slice(11, 16)} UTC: ${p[s]} ${s}`)));
    }
  });
  root.append(svg('line', { x1: 0, y1: height + 0.5, x2: width, y2: height + 0.5, class: 'axis' }));
  const legend = h('ul', { class: 'legend' }, statuses.map(s => h('li', { class: 'bar-' + s }, `${s}: ${total(s)}`)));
  return h('div', {}, root, legend);
}
