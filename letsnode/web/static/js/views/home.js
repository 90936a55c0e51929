// Home: the balance, what can still be spent and received, and recent activity (each
// payment opens its details); kept up to date live when a payment arrives.

import { api } from "../api.js";
import { app, money } from "../app.js";
import { clear, h } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { icon } from "../icons.js";

// Local payments and payments with other communities, newest first. A payment with
// another community says where it stands: on its way, done, refused or timed out (the last
// two took nothing).
export function activityList(payments, transfers, limit) {
  const items = [
    ...payments.map((p) => ({ at: p.timestamp_ms, node: () => paymentItem(p) })),
    ...transfers.map((x) => ({ at: x.timestamp_ms, node: () => transferItem(x) })),
  ].sort((a, b) => b.at - a.at);
  if (!items.length) return h("p", { class: "muted", text: t("home.no_activity") });
  return h(
    "ul",
    { class: "activity" },
    items.slice(0, limit).map((item) => item.node()),
  );
}

// "-2.50" for what left the account, "2.50" for what came in.
export function signed(amount, incoming) {
  return incoming ? amount : `-${amount}`;
}

function paymentItem(p) {
  const incoming = p.payee === app.me.handle;
  const other = incoming ? p.payer : p.payee;
  return h(
    "li",
    { class: incoming ? "in" : "out" },
    h(
      "a",
      { href: `#/payment/${p.seq}`, class: "row-link" },
      h(
        "span",
        { class: "who" },
        t(incoming ? "home.from" : "home.to", { handle: other }),
        p.memo ? h("span", { class: "memo", text: p.memo }) : null,
      ),
      h("span", { class: "amount", text: money(signed(p.amount, incoming)) }),
      h("time", { datetime: p.time, text: formatDate(p.time) }),
    ),
  );
}

export function transferItem(x) {
  const incoming = x.direction === "in";
  return h(
    "li",
    { class: `${incoming ? "in" : "out"} transfer ${x.state}` },
    h(
      "div",
      { class: "row-link" },
      h(
        "span",
        { class: "who" },
        t(incoming ? "home.from" : "home.to", { handle: x.counterparty }),
        " ",
        h("span", { class: `state ${x.state}`, text: t(`transfer.state_${x.state}`) }),
        x.memo ? h("span", { class: "memo", text: x.memo }) : null,
      ),
      h("span", { class: "amount", text: money(signed(x.amount, incoming)) }),
      h("time", { datetime: x.time, text: formatDate(x.time) }),
    ),
  );
}

// The member's payments with other communities; none when the node cannot tell.
export async function loadTransfers() {
  try {
    return (await api("GET", "/api/transfers")).transfers;
  } catch {
    return [];
  }
}

function figures(me) {
  const row = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
  return h(
    "dl",
    { class: "figures" },
    row(t("home.available_to_spend"), money(me.available_to_spend)),
    row(
      t("home.available_to_receive"),
      me.available_to_receive === null ? t("common.unlimited") : money(me.available_to_receive),
    ),
  );
}

function limits(me) {
  const row = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
  return h(
    "details",
    {},
    h("summary", { text: t("home.limits") }),
    h("p", { class: "muted", text: t("home.limits_hint") }),
    h(
      "dl",
      { class: "figures" },
      row(t("home.floor"), money(me.floor)),
      row(t("home.ceiling"), me.ceiling === null ? t("common.none") : money(me.ceiling)),
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
    clear(details).append(figures(me), limits(me));
    const [{ payments }, transfers] = await Promise.all([
      api("GET", "/api/history"),
      loadTransfers(),
    ]);
    clear(activity).append(activityList(payments, transfers, 5));
  };
  const section = h(
    "section",
    {},
    h("h1", { text: t("home.title", { handle: app.me.handle }) }),
    h(
      "div",
      { class: "card balance-card" },
      h("h2", { class: "label", text: t("home.balance") }),
      balance,
      status,
      details,
      h(
        "div",
        { class: "actions wide" },
        h("a", { class: "button primary", href: "#/pay" }, icon("pay"), h("span", { text: t("nav.pay") })),
        h("a", { class: "button", href: "#/request" }, icon("request"), h("span", { text: t("nav.request") })),
      ),
    ),
    h(
      "div",
      { class: "card" },
      h("h2", { text: t("home.recent") }),
      activity,
      h("a", { class: "more-link", href: "#/history", text: t("home.all_history") }),
    ),
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
