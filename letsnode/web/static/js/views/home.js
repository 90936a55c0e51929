// Home: balance, limits, what can still be spent and received, and recent activity; kept
// up to date live when a payment arrives.

import { api } from "../api.js";
import { app, money } from "../app.js";
import { clear, h } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { fingerprint } from "../keys.js";

export async function activityList(payments, limit) {
  if (!payments.length) return h("p", { class: "muted", text: t("home.no_activity") });
  return h(
    "ul",
    { class: "activity" },
    payments.slice(0, limit).map((p) => {
      const incoming = p.payee === app.me.handle;
      const other = incoming ? p.payer : p.payee;
      const amount = incoming ? p.amount : `-${p.amount}`;
      return h(
        "li",
        { class: incoming ? "in" : "out" },
        h(
          "span",
          { class: "who" },
          t(incoming ? "home.from" : "home.to", { handle: other }),
          p.memo ? h("span", { class: "memo", text: p.memo }) : null,
        ),
        h("span", { class: "amount", text: money(amount) }),
        h("time", { datetime: p.time, text: formatDate(p.time) }),
      );
    }),
  );
}

function figures(me) {
  const row = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
  return h(
    "dl",
    { class: "figures" },
    row(t("home.floor"), money(me.floor)),
    row(t("home.ceiling"), me.ceiling === null ? t("common.none") : money(me.ceiling)),
    row(t("home.available_to_spend"), money(me.available_to_spend)),
    row(
      t("home.available_to_receive"),
      me.available_to_receive === null ? t("common.unlimited") : money(me.available_to_receive),
    ),
  );
}

export async function render() {
  const balance = h("p", { class: "balance", "aria-live": "polite", id: "balance" });
  const details = h("div");
  const activity = h("div");
  const status = h("p", { class: "warning", role: "status" });
  const draw = async () => {
    const me = app.me;
    balance.textContent = money(me.balance);
    status.textContent = me.status === "active" ? "" : t(`home.status_${me.status}`);
    clear(details).append(figures(me));
    const { payments } = await api("GET", "/api/history");
    clear(activity).append(await activityList(payments, 5));
  };
  const section = h(
    "section",
    {},
    h("h1", { text: t("home.title", { handle: app.me.handle }) }),
    h(
      "div",
      { class: "card" },
      h("h2", { class: "label", text: t("home.balance") }),
      balance,
      status,
      details,
      h(
        "div",
        { class: "actions" },
        h("a", { class: "button primary", href: "#/pay", text: t("nav.pay") }),
        h("a", { class: "button", href: "#/request", text: t("nav.request") }),
      ),
    ),
    h("div", { class: "card" }, h("h2", { text: t("home.recent") }), activity),
    h("p", { class: "muted", text: t("join.key_fingerprint", { fingerprint: fingerprint(app.identity.publicKey) }) }),
  );
  const onMe = () => {
    if (!section.isConnected) {
      app.events.removeEventListener("me", onMe);
      return;
    }
    draw();
  };
  app.events.addEventListener("me", onMe);
  await draw();
  return section;
}
