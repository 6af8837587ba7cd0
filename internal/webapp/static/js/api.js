// The shared API module: every page talks to the server through the Go
// client in the WebAssembly engine (cmd/chusme-wasm), never with fetch of
// its own. Tokens live in the engine's memory only.
import * as idb from './idb.js';

let markReady, markLoaded;
const ready = new Promise(resolve => { markReady = resolve; });
// loaded resolves once load has set the engine up (its files, the key).
export const loaded = new Promise(resolve => { markLoaded = resolve; });
export const session = { fingerprint: '', role: '', loggedIn: false, server: null, live: false };

// load starts the engine in the background; the page works meanwhile.
export async function load() {
  const go = new Go();
  globalThis.chusmeReady = () => markReady(globalThis.chusme);
  const { instance } = await WebAssembly.instantiateStreaming(fetch('chusme.wasm'), go.importObject);
  go.run(instance);
  const eng = await ready;
  session.server = JSON.parse(await eng.connect(location.origin));
  await eng.setStateFiles({ // the drivers' sealed round state, for a rejoin after a reload
    get: name => idb.get('state:' + name), put: (name, text) => idb.put('state:' + name, text), del: name => idb.del('state:' + name),
  });
  const key = await idb.get('identity');
  if (key) await useKey(key);
  markLoaded(eng);
  return eng;
}

// engine waits for the engine and returns it.
export const engine = () => ready;
export const isReady = () => globalThis.chusme !== undefined;

// call runs engine function name and parses its JSON answer.
export async function call(name, ...args) {
  const eng = await ready;
  return JSON.parse(await eng[name](...args));
}

async function useKey(pair) {
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const sign = msg => crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, msg);
  session.fingerprint = JSON.parse(await (await ready).setKey(pub, sign, pair.identity || ''));
}

// hasKey reports whether this browser holds an identity key.
export const hasKey = async () => Boolean(await idb.get('identity'));

// createKey makes a new Ed25519 identity key in WebCrypto, its private
// half non-extractable, and keeps it in IndexedDB.
export async function createKey() {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  await idb.put('identity', pair);
  await useKey(pair);
  return session.fingerprint;
}

// importKeyFile opens the CLI's sealed key file (text) with its
// passphrase in the engine, imports the key into WebCrypto,
// non-extractable, and keeps it in IndexedDB in place of any other.
export async function importKeyFile(text, passphrase) {
  const r = await (await ready).openKeyFile(text, passphrase);
  try {
    const privateKey = await crypto.subtle.importKey('pkcs8', r.pkcs8, { name: 'Ed25519' }, false, ['sign']);
    const publicKey = await crypto.subtle.importKey('raw', r.publicKey, { name: 'Ed25519' }, true, ['verify']);
    const pair = { privateKey, publicKey, identity: r.identity };
    await idb.put('identity', pair);
    await useKey(pair);
  } finally { r.pkcs8.fill(0); }
  return session.fingerprint;
}

export async function register(invite) { return call('register', invite); }

export async function login(totp) {
  const t = await call('login', totp || '');
  session.loggedIn = true;
  session.fingerprint = t.fingerprint;
  session.role = (await call('me')).role;
  await call('watch', json => { const c = JSON.parse(json); for (const f of listeners) f(c); },
    (up, reason) => { session.live = up; for (const f of liveListeners) f(up, reason); });
  return t;
}

// Live updates: the engine's WebSocket (client.Realtime) pushes every new
// state of the caller's ceremonies.
const listeners = new Set(), liveListeners = new Set();
// onCeremony calls f with each ceremony state pushed; it returns the
// function that stops it.
export function onCeremony(f) { listeners.add(f); return () => listeners.delete(f); }
// onLive calls f(connected, reason) when the WebSocket goes up or down.
export function onLive(f) { liveListeners.add(f); return () => liveListeners.delete(f); }

export async function refresh() { return call('refresh'); }

export async function logout() {
  await call('logout');
  session.loggedIn = false;
  session.role = '';
}

// hasRoundState reports whether this browser holds sealed round state of
// ceremony id (it took part, and the page was reloaded before the end).
export const hasRoundState = async id => typeof await idb.get('state:' + id + '.state') === 'string';

// Share files (the CLI's format, sealed under a passphrase) by group key id.
export const saveShare = (keyID, file) => idb.put('share:' + keyID, file);
export const shareFile = keyID => idb.get('share:' + keyID);
export async function shareIDs() {
  return (await idb.keys()).filter(k => String(k).startsWith('share:')).map(k => k.slice(6));
}
