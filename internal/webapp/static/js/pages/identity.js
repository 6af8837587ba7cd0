// The identity page: create a key, register with an invite, log in (with
// TOTP when the identity has it on), refresh, log out.
import * as api from '../api.js';
import { h, field, status, say, busy } from '../ui.js';

export const title = 'Identity';

export function render(view) {
  const out = status('identity-status');
  const fp = h('p', {}, 'Identity key: ', h('span', { id: 'fingerprint', class: 'fp' }, api.session.fingerprint || 'none yet'));
  const run = (button, f) => busy(button, out, f, api.isReady);

  const create = h('button', { id: 'create-key', type: 'button' }, 'Create an identity key');
  create.addEventListener('click', () => run(create, async () => {
    if (await api.hasKey() && !confirm('Replace the identity key this browser holds?')) return;
    document.getElementById('fingerprint').textContent = await api.createKey();
    say(out, 'Key created in this browser (WebCrypto, not extractable).', 'ok');
  }));

  const importForm = h('form', { id: 'import-form', 'aria-labelledby': 'import-h' },
    h('h2', { id: 'import-h' }, 'Or import the CLI\'s key file'),
    field('keyfile', 'Key file (CONFIG/identity.key)', { type: 'file', required: true }),
    field('keyfile-pass', 'Its passphrase', { type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { id: 'import', type: 'submit' }, 'Import the key'));
  importForm.addEventListener('submit', e => {
    e.preventDefault();
    run(importForm.querySelector('button'), async () => {
      const file = importForm.keyfile.files[0];
      if (!file) throw new Error('Choose the key file first.');
      if (await api.hasKey() && !confirm('Replace the identity key this browser holds?')) return;
      document.getElementById('fingerprint').textContent = await api.importKeyFile(await file.text(), importForm['keyfile-pass'].value);
      importForm['keyfile-pass'].value = '';
      say(out, 'Key imported into this browser (WebCrypto, not extractable).', 'ok');
    });
  });

  const regForm = h('form', { id: 'register-form', 'aria-labelledby': 'register-h' },
    h('h2', { id: 'register-h' }, 'Register'),
    field('invite', 'Invite', { autocomplete: 'off', required: true }),
    h('button', { id: 'register', type: 'submit' }, 'Register'));
  regForm.addEventListener('submit', e => {
    e.preventDefault();
    run(regForm.querySelector('button'), async () => {
      const info = await api.register(regForm.invite.value.trim());
      say(out, `Registered ${info.fingerprint}.`, 'ok');
    });
  });

  const loginForm = h('form', { id: 'login-form', 'aria-labelledby': 'login-h' },
    h('h2', { id: 'login-h' }, 'Log in'),
    field('totp', 'TOTP or recovery code (if your identity has TOTP on)', { autocomplete: 'one-time-code', inputmode: 'numeric' }),
    h('button', { id: 'login', type: 'submit' }, 'Log in'));
  loginForm.addEventListener('submit', e => {
    e.preventDefault();
    run(loginForm.querySelector('button'), async () => {
      try {
        await api.login(loginForm.totp.value.trim());
      } catch (err) {
        if (err.code === 'totp_required') { loginForm.totp.focus(); throw new Error('Enter your TOTP code, then log in again.'); }
        throw err;
      }
      say(out, 'Logged in.', 'ok');
      document.dispatchEvent(new Event('session'));
    });
  });

  const refresh = h('button', { id: 'refresh', type: 'button', class: 'secondary' }, 'Refresh session');
  refresh.addEventListener('click', () => run(refresh, async () => {
    const t = await api.refresh();
    say(out, `Session refreshed until ${new Date(t.expires_at).toLocaleTimeString()}.`, 'ok');
  }));
  const logout = h('button', { id: 'logout', type: 'button', class: 'secondary' }, 'Log out');
  logout.addEventListener('click', () => run(logout, async () => {
    await api.logout();
    say(out, 'Logged out.', 'ok');
    document.dispatchEvent(new Event('session'));
  }));

  const totpStart = h('button', { id: 'totp-start', type: 'button', class: 'secondary' }, 'Turn on TOTP');
  const totpForm = h('form', { id: 'totp-form', hidden: true, 'aria-labelledby': 'totp-h' },
    h('h3', { id: 'totp-h' }, 'Add this secret to your authenticator'),
    h('p', {}, 'Secret: ', h('code', { id: 'totp-secret' })),
    h('p', {}, h('code', { id: 'totp-uri', class: 'hex' })),
    field('totp-code', 'The code it shows', { autocomplete: 'one-time-code', inputmode: 'numeric', required: true }),
    h('button', { id: 'totp-confirm', type: 'submit' }, 'Turn TOTP on'));
  const codes = h('ol', { id: 'recovery-codes', class: 'fp', 'aria-label': 'Recovery codes' });
  totpStart.addEventListener('click', () => run(totpStart, async () => {
    const en = await api.call('enrolTOTP');
    totpForm.querySelector('#totp-secret').textContent = en.secret;
    totpForm.querySelector('#totp-uri').textContent = en.uri;
    totpForm.hidden = false;
    totpForm['totp-code'].focus();
  }));
  totpForm.addEventListener('submit', e => {
    e.preventDefault();
    run(totpForm.querySelector('button'), async () => {
      const list = await api.call('confirmTOTP', totpForm['totp-code'].value.trim());
      totpForm.hidden = true;
      codes.replaceChildren(...list.map(c => h('li', {}, c)));
      say(out, 'TOTP is on. Keep these recovery codes somewhere safe: each logs in once without the authenticator.', 'ok');
    });
  });

  view.append(h('h2', {}, 'Your identity'), fp, create, importForm, regForm, loginForm,
    h('section', { 'aria-label': 'Session' }, refresh, ' ', logout),
    h('section', { 'aria-labelledby': 'totp-section-h' }, h('h2', { id: 'totp-section-h' }, 'Two-step login'), totpStart, totpForm, codes), out);
}
