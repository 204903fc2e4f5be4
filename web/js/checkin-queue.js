// checkin-queue.js — the door's scans, kept in IndexedDB until the server
// has answered them. Each scan carries a nonce of its own, so a scan sent
// twice (the answer was lost, the network came back) is recorded once: the
// server gives the first answer again.
//
//   await enqueue({ nonce, session_id, badge_code })   before sending
//   await remove(nonce)                                once answered
//   await pending(sessionId)                           oldest first

const DB_NAME = 'registrar-checkin';
const STORE = 'scans';

let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'nonce' });
      store.createIndex('session', 'session_id');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opening = null;
      reject(req.error);
    };
  });
  return opening;
}

async function run(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    let result;
    const req = fn(tx.objectStore(STORE));
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function enqueue(scan) {
  return run('readwrite', (s) => s.put({ ...scan, queued_at: Date.now() }));
}

export function remove(nonce) {
  return run('readwrite', (s) => s.delete(nonce));
}

export async function pending(sessionId) {
  const all = await run('readonly', (s) => s.index('session').getAll(sessionId));
  return (all ?? []).sort((a, b) => a.queued_at - b.queued_at);
}
