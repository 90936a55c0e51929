// The wallet's service worker: keeps the shell (pages, scripts, styles, words, icons) so
// the wallet opens without a connection and says plainly that balances and payments need
// one. It never keeps what the node answers under /api/ (balances, payments, sessions):
// those always come from the network, or not at all.
//
// Online, every file comes from the network first (a new version of the node is seen at
// once) and the copy kept is refreshed; offline, the kept copy answers.

const CACHE = "letsnode-shell-1";
// Every file of the wallet's shell (tests/test_wallet_offline.py checks this list against
// the files in static/; vendor/ is loaded only to scan with the camera, online).
const SHELL = [
  "/",
  "/manifest.webmanifest",
  "/icon.svg",
  "/globe.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/icon-maskable-512.png",
  "/css/app.css",
  "/js/amounts.js",
  "/js/api.js",
  "/js/app.js",
  "/js/dialog.js",
  "/js/dom.js",
  "/js/i18n.js",
  "/js/icons.js",
  "/js/keys.js",
  "/js/main.js",
  "/js/msgpack.js",
  "/js/qr_worker.js",
  "/js/session.js",
  "/js/views/admin.js",
  "/js/views/admin_member.js",
  "/js/views/clearing.js",
  "/js/views/history.js",
  "/js/views/home.js",
  "/js/views/join.js",
  "/js/views/more.js",
  "/js/views/offers.js",
  "/js/views/pay.js",
  "/js/views/payment.js",
  "/js/views/request.js",
  "/js/views/review.js",
  "/js/views/scan.js",
  "/js/views/security.js",
  "/js/views/units.js",
  "/locales/ar.json",
  "/locales/el.json",
  "/locales/en.json",
  "/locales/es.json",
  "/locales/fr.json",
  "/locales/pt.json",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function kept(key) {
  const cache = await caches.open(CACHE);
  return cache.match(key);
}

async function answer(request, key) {
  if (self.navigator.onLine === false) {
    const copy = await kept(key);
    if (copy) return copy;
  }
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      const cache = await caches.open(CACHE);
      await cache.put(key, response.clone());
    }
    return response;
  } catch (error) {
    const copy = await kept(key);
    if (copy) return copy;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // never kept: the network answers
  const key = request.mode === "navigate" ? "/" : url.pathname;
  if (request.mode !== "navigate" && !SHELL.includes(key)) return;
  event.respondWith(answer(request, key));
});
