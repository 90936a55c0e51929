// The wallet's entry point: language, sign-in, navigation and live updates.

import { api } from "./api.js";
import { app, listen, money, refreshMe, stopListening } from "./app.js";
import { clear, h, select } from "./dom.js";
import { currentLanguage, LANGUAGES, pickLanguage, setLanguage, t } from "./i18n.js";
import { cryptoAvailable, loadIdentity } from "./keys.js";
import { signIn } from "./session.js";
import * as admin from "./views/admin.js";
import * as clearing from "./views/clearing.js";
import * as history from "./views/history.js";
import * as home from "./views/home.js";
import * as join from "./views/join.js";
import * as offers from "./views/offers.js";
import * as pay from "./views/pay.js";
import * as request from "./views/request.js";

const VIEWS = { home, pay, request, history, offers, admin, clearing, join };
const NAV = ["home", "pay", "request", "history", "offers"];
const STEWARD_NAV = ["admin", "clearing"];
const main = document.getElementById("main");
const toastBox = document.getElementById("toast");
let status = "anonymous"; // anonymous | pending | member

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

function parseHash() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: path || "home", params: new URLSearchParams(search || "") };
}

function renderHeader() {
  const header = clear(document.getElementById("top"));
  const brand = h("p", { class: "brand", text: app.community ? app.community.name : t("app.title") });
  const names = status === "member" ? [...NAV, ...(app.me && app.me.steward ? STEWARD_NAV : [])] : [];
  const current = parseHash().name;
  const nav = h(
    "nav",
    { "aria-label": t("nav.label") },
    h(
      "ul",
      {},
      names.map((name) =>
        h(
          "li",
          {},
          h("a", {
            href: `#/${name}`,
            text: t(`nav.${name}`),
            "aria-current": name === current ? "page" : undefined,
          }),
        ),
      ),
    ),
  );
  const langSelect = select(
    Object.keys(LANGUAGES).map((code) => [code, t(`language.${code}`)]),
    currentLanguage(),
    { id: "language", on: { change: (e) => changeLanguage(e.target.value) } },
  );
  const lang = h(
    "div",
    { class: "language" },
    h("img", { class: "globe", src: "/globe.svg", alt: "", width: "22", height: "22" }),
    h("label", { for: "language", class: "sr-only", text: t("settings.language") }),
    langSelect,
  );
  header.append(h("div", { class: "bar" }, brand, lang), nav);
}

async function changeLanguage(code) {
  await setLanguage(code);
  if (status === "member") {
    api("PUT", "/api/me/language", { language: code }).catch(() => {});
  }
  renderHeader();
  await route();
  document.getElementById("language").focus();
}

async function route() {
  toastBox.hidden = true;
  const { name, params } = parseHash();
  let view = VIEWS[name] ? name : "home";
  if (status !== "member") view = "join";
  if (STEWARD_NAV.includes(view) && !(app.me && app.me.steward)) view = "home";
  renderHeader();
  const ctx = { go, toast, status, becameMember, markPending };
  const content = await VIEWS[view].render(params, ctx);
  clear(main).append(content);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function markPending() {
  status = "pending";
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
  listen((event) => {
    refreshMe().catch(() => {});
    if (event.kind === "payment" && event.payee === app.me.handle) {
      const minor = BigInt(event.amount_minor);
      const scale = app.community.scale;
      const whole = minor.toString().padStart(scale + 1, "0");
      const decimal = scale ? `${whole.slice(0, -scale)}.${whole.slice(-scale)}` : whole;
      toast(t("home.received_toast", { amount: money(decimal), payer: event.payer }));
    }
  });
}

async function signInIfPossible() {
  if (!app.identity || !app.identity.handle) return;
  try {
    await enterAsMember();
    return;
  } catch (error) {
    if (error.code !== "unauthenticated") throw error;
  }
  try {
    await signIn(app.identity);
    await enterAsMember();
  } catch (error) {
    if (error.code === "join_pending") status = "pending";
    else if (error.code !== "unauthenticated") throw error;
  }
}

async function boot() {
  await setLanguage(pickLanguage());
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
    renderHeader();
    clear(main).append(h("p", { class: "error", role: "alert", text: t("error.offline") }));
    return;
  }
  window.addEventListener("hashchange", route);
  window.addEventListener("pagehide", stopListening);
  await route();
}

boot();
