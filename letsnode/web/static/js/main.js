// The wallet's entry point: language, sign-in, the screens and their addresses, the tab
// bar, live updates, and what happens without a connection.
//
// Every screen has an address (#/pay, #/payment/12, #/admin/member/bruno, ...), so back,
// reload and links do what a person expects; tapping the tab of the screen one is on
// shows that screen afresh (a new payment after a payment, say).

import { api } from "./api.js";
import { app, isOnline, listen, money, refreshMe, stopListening } from "./app.js";
import { toDecimal } from "./amounts.js";
import { clear, h, select } from "./dom.js";
import { currentLanguage, LANGUAGES, pickLanguage, setLanguage, t } from "./i18n.js";
import { icon } from "./icons.js";
import { cryptoAvailable, loadIdentity } from "./keys.js";
import { signIn } from "./session.js";
import * as admin from "./views/admin.js";
import * as adminMember from "./views/admin_member.js";
import * as clearing from "./views/clearing.js";
import * as history from "./views/history.js";
import * as home from "./views/home.js";
import * as join from "./views/join.js";
import * as more from "./views/more.js";
import * as offers from "./views/offers.js";
import * as pay from "./views/pay.js";
import * as payment from "./views/payment.js";
import * as request from "./views/request.js";
import * as review from "./views/review.js";
import * as scan from "./views/scan.js";
import * as security from "./views/security.js";
import * as units from "./views/units.js";

// [address pattern, view, tab it belongs to, stewards only]
const ROUTES = [
  ["home", home, "home"],
  ["pay", pay, "pay"],
  ["pay/review", review, "pay"],
  ["pay/sent", review.sent, "pay"],
  ["scan", scan, "pay"],
  ["payment/:seq", payment, "history"],
  ["receipt/:seq", payment.receipt, "history"],
  ["request", request, "request"],
  ["history", history, "history"],
  ["more", more, "more"],
  ["offers", offers, "more"],
  ["security", security, "more"],
  ["admin", admin, "more", true],
  ["admin/member/:handle", adminMember, "more", true],
  ["admin/units", units, "more", true],
  ["clearing", clearing, "more", true],
  ["join", join, "home"],
];
const TABS = [
  ["home", "nav.home"],
  ["pay", "nav.pay"],
  ["request", "nav.request"],
  ["history", "nav.history"],
  ["more", "nav.more"],
];
const main = document.getElementById("main");
const toastBox = document.getElementById("toast");
const offlineBox = document.getElementById("offline");
let status = "anonymous"; // anonymous | pending | rejected | member | offline
let installPrompt = null;

export function toast(text) {
  toastBox.textContent = text;
  toastBox.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    toastBox.hidden = true;
  }, 6000);
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// Go to ``hash`` in place of the current address (back does not return to it).
export function replace(hash) {
  if (location.hash === hash) route();
  else location.replace(hash);
}

function parseHash() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = (path || "home").split("/").map((p) => decodeURIComponent(p));
  for (const [pattern, view, tab, stewardOnly] of ROUTES) {
    const names = pattern.split("/");
    if (names.length !== parts.length) continue;
    const args = {};
    const fits = names.every((name, i) => {
      if (name.startsWith(":")) {
        args[name.slice(1)] = parts[i];
        return true;
      }
      return name === parts[i];
    });
    if (fits) return { view, tab, stewardOnly, args, params: new URLSearchParams(search || "") };
  }
  return { view: home, tab: "home", args: {}, params: new URLSearchParams() };
}

function renderHeader() {
  const header = clear(document.getElementById("top"));
  const brand = h("p", { class: "brand", text: app.community ? app.community.name : t("app.title") });
  const langSelect = select(
    Object.keys(LANGUAGES).map((code) => [code, t(`language.${code}`)]),
    currentLanguage(),
    { id: "language", on: { change: (e) => changeLanguage(e.target.value) } },
  );
  const lang = h(
    "div",
    { class: "language" },
    h("img", { class: "globe", src: "/globe.svg", alt: "", width: "20", height: "20" }),
    h("label", { for: "language", class: "sr-only", text: t("settings.language") }),
    langSelect,
  );
  header.append(h("div", { class: "bar" }, brand, lang));
}

function renderTabs(current) {
  const nav = clear(document.getElementById("tabs"));
  if (status !== "member") {
    nav.hidden = true;
    document.body.classList.remove("with-tabs");
    return;
  }
  nav.hidden = false;
  document.body.classList.add("with-tabs");
  nav.setAttribute("aria-label", t("nav.label"));
  nav.append(
    h(
      "ul",
      {},
      TABS.map(([name, label]) =>
        h(
          "li",
          {},
          h(
            "a",
            { href: `#/${name}`, "aria-current": name === current ? "page" : undefined },
            icon(name),
            h("span", { text: t(label) }),
          ),
        ),
      ),
    ),
  );
}

async function changeLanguage(code) {
  await setLanguage(code);
  if (status === "member") {
    api("PUT", "/api/me/language", { language: code }).catch(() => {});
  }
  await route();
  document.getElementById("language").focus();
}

let routed = 0;

async function route() {
  const ticket = ++routed;
  toastBox.hidden = true;
  let { view, tab, stewardOnly, args, params } = parseHash();
  if (status === "offline") view = offlineView;
  else if (status !== "member") view = join;
  else if (stewardOnly && !(app.me && app.me.steward)) view = home;
  renderHeader();
  renderTabs(tab);
  const ctx = {
    go,
    replace,
    toast,
    status,
    args,
    becameMember,
    markPending,
    installPrompt: () => installPrompt,
    installed: () => {
      installPrompt = null;
    },
  };
  const content = await view.render(params, ctx);
  if (ticket !== routed) return; // the member went on to another screen meanwhile
  clear(main).append(content);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

const offlineView = {
  render() {
    return h(
      "section",
      { class: "card offline-screen" },
      icon("offline", "icon big"),
      h("h1", { text: t("offline.title") }),
      h("p", { text: t("offline.text") }),
    );
  },
};

function markPending(decided = "pending") {
  status = decided === "rejected" ? "rejected" : "pending";
  route();
}

async function becameMember() {
  await signIn(app.identity);
  await enterAsMember();
  go("#/home");
}

async function enterAsMember() {
  const me = await refreshMe();
  status = "member";
  if (me.language && me.language !== currentLanguage()) await setLanguage(me.language);
  listen(onEntry);
}

function onEntry(event) {
  refreshMe().catch(() => {});
  if (event.kind === "payment" && event.payee === app.me.handle) {
    const decimal = toDecimal(BigInt(event.amount_minor), app.community.scale);
    toast(t("home.received_toast", { amount: money(decimal), payer: event.payer }));
  }
}

async function signInIfPossible() {
  const known = await api("GET", "/api/session");
  if (known.member && app.identity && known.member.key === app.identity.publicKey) {
    await enterAsMember();
    return;
  }
  if (!app.identity || !app.identity.handle) return;
  const waiting = known.join && known.join.key === app.identity.publicKey ? known.join : null;
  if (waiting && waiting.status !== "approved") {
    status = waiting.status === "rejected" ? "rejected" : "pending";
    return;
  }
  try {
    await signIn(app.identity);
    await enterAsMember();
  } catch (error) {
    if (error.code === "join_pending") status = "pending";
    else if (error.code !== "unauthenticated") throw error;
  }
}

function showOffline(offline) {
  offlineBox.hidden = !offline;
  clear(offlineBox);
  if (offline) offlineBox.append(icon("offline"), h("span", { text: t("offline.banner") }));
}

async function boot() {
  await setLanguage(pickLanguage());
  if (!isOnline()) {
    status = "offline";
    showOffline(true);
    await route();
    window.addEventListener("online", () => location.reload(), { once: true });
    return;
  }
  try {
    app.community = await api("GET", "/api/community");
    if (!cryptoAvailable()) {
      renderHeader();
      clear(main).append(
        h("h1", { text: t("error.title") }),
        h("p", { class: "error", role: "alert", text: t("error.insecure_context") }),
      );
      return;
    }
    app.identity = await loadIdentity();
    await signInIfPossible();
  } catch (error) {
    status = "offline";
    await route();
    window.addEventListener("online", () => location.reload(), { once: true });
    return;
  }
  window.addEventListener("hashchange", route);
  window.addEventListener("pagehide", stopListening);
  await route();
}

// A link to the address one is already at shows that screen afresh (the browser fires no
// hashchange for it): tapping "Pay" after a payment opens a new payment.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href^='#/']");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.getAttribute("href") === location.hash) {
    event.preventDefault();
    route();
  }
});

// Without a connection the live updates stop (and the battery rests); they start again,
// with a fresh balance, when it is back.
window.addEventListener("offline", () => {
  showOffline(true);
  stopListening();
});
window.addEventListener("online", () => {
  showOffline(false);
  if (status === "member") {
    listen(onEntry);
    refreshMe().catch(() => {});
  }
});
window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault();
  installPrompt = event;
});

if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js").catch(() => {
    /* the wallet works without it, only not offline */
  });
}

boot();
