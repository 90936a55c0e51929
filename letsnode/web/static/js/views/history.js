// History: my payments, filtered by counterparty and dates, and exported as CSV; then my
// payments with other communities (in flight and ended), filtered the same way.

import { api, query } from "../api.js";
import { app, errorText, money } from "../app.js";
import { clear, field, h } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { loadTransfers } from "./home.js";
import { memberList } from "./pay.js";

export function render(params) {
  const counterparty = h("input", {
    name: "counterparty",
    autocapitalize: "none",
    value: params.get("counterparty") || "",
  });
  const from = h("input", { name: "from", type: "date", value: params.get("from") || "" });
  const to = h("input", { name: "to", type: "date", value: params.get("to") || "" });
  const results = h("div", { "aria-live": "polite" });
  const across = h("div", { "aria-live": "polite" });
  const csv = h("a", { class: "button", download: "", text: t("history.csv") });
  const load = async () => {
    const filters = { counterparty: counterparty.value.trim(), from: from.value, to: to.value };
    csv.href = `/api/history.csv${query(filters)}`;
    try {
      const [{ payments }, transfers] = await Promise.all([
        api("GET", `/api/history${query(filters)}`),
        loadTransfers(),
      ]);
      clear(results).append(table(payments));
      clear(across).append(transferTable(transfers.filter((x) => matches(x, filters))));
    } catch (error) {
      clear(results).append(h("p", { class: "error", role: "alert", text: errorText(error) }));
    }
  };
  const form = h(
    "form",
    { class: "filters" },
    field(t("history.counterparty"), counterparty),
    memberList(counterparty),
    field(t("history.from"), from),
    field(t("history.to"), to),
    h("button", { type: "submit", class: "primary", text: t("history.filter") }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  load();
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("history.title") }),
    form,
    h("div", { class: "actions" }, csv),
    results,
    h("h2", { class: "across", text: t("history.transfers_title") }),
    across,
  );
}

// The same filters the node applies to local payments: counterparty, and dates (UTC days).
function matches(x, { counterparty, from, to }) {
  if (counterparty && !x.counterparty.includes(counterparty.toLowerCase())) return false;
  const day = x.time.slice(0, 10);
  return (!from || day >= from) && (!to || day <= to);
}

function transferTable(transfers) {
  if (!transfers.length) return h("p", { class: "muted", text: t("history.transfers_empty") });
  const head = ["history.counterparty", "history.memo", "history.amount"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "sr-only", text: t("history.transfers_title") }),
      h("thead", {}, h("tr", {}, head.map((key) => h("th", { scope: "col", text: t(key) })))),
      h(
        "tbody",
        {},
        transfers.map((x) => {
          const incoming = x.direction === "in";
          const state = x.state === "rejected" && x.code
            ? `${t("transfer.state_rejected")}: ${errorText({ code: x.code, detail: x.code })}`
            : t(`transfer.state_${x.state}`);
          return h(
            "tr",
            { class: `transfer ${x.state}` },
            h(
              "td",
              {},
              h("span", { class: "who", text: x.counterparty }),
              " ",
              h("span", { class: `state ${x.state}`, text: state }),
              h("time", { datetime: x.time, text: formatDate(x.time) }),
            ),
            h("td", { text: x.memo }),
            h("td", {
              class: `amount ${incoming ? "in" : "out"}`,
              text: money(incoming ? x.amount : `-${x.amount}`),
            }),
          );
        }),
      ),
    ),
  );
}

function table(payments) {
  if (!payments.length) return h("p", { class: "muted", text: t("history.empty") });
  const head = ["history.counterparty", "history.memo", "history.amount"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "sr-only", text: t("history.title") }),
      h("thead", {}, h("tr", {}, head.map((key) => h("th", { scope: "col", text: t(key) })))),
      h(
        "tbody",
        {},
        payments.map((p) => {
          const incoming = p.payee === app.me.handle;
          return h(
            "tr",
            {},
            h(
              "td",
              {},
              h("span", { class: "who", text: incoming ? p.payer : p.payee }),
              h("time", { datetime: p.time, text: formatDate(p.time) }),
            ),
            h("td", { text: p.memo }),
            h("td", {
              class: `amount ${incoming ? "in" : "out"}`,
              text: money(incoming ? p.amount : `-${p.amount}`),
            }),
          );
        }),
      ),
    ),
  );
}
