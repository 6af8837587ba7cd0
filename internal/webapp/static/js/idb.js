// A tiny promise wrapper over one IndexedDB object store ("kv"): the
// identity key pair (non-extractable CryptoKeys) and the sealed share files.
const DB = 'chusme', STORE = 'kv';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(mode, f) {
  return open().then(db => new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = f(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(req.result); };
    t.onerror = () => { db.close(); reject(t.error); };
  }));
}

export const get = key => tx('readonly', s => s.get(key));
export const put = (key, value) => tx('readwrite', s => s.put(value, key));
export const del = key => tx('readwrite', s => s.delete(key));
export const keys = () => tx('readonly', s => s.getAllKeys());
