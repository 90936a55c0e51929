// History: my payments, filtered by member and by period (or days written the member's
// way: 31/12/2026 in Spanish, 12/31/2026 in English), each opening its details, and the
// CSV for a spreadsheet; then my payments with other communities, filtered the same way.
// The filters are part of the address, so a reload or a shared link keeps them.

import { api, query } from "../api.js";
import { app, errorText, money } from "../app.js";
import { clear, field, h, select } from "../dom.js";
import { formatDate, readDay, t, writeDay } from "../i18n.js";
import { loadTransfers, signed } from "./home.js";

const PERIODS = ["all", "month", "last_month", "quarter", "year", "days"];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

// The first and last day of a period, as the node filters them (UTC days).
export function periodDays(period, today = new Date()) {
  const y = today.getUTCFullYear();
  const m = today.getUTCMonth();
  const day = (year, month, d) => isoDay(new Date(Date.UTC(year, month, d)));
  switch (period) {
    case "month":
      return [day(y, m, 1), ""];
    case "last_month":
      return [day(y, m - 1, 1), day(y, m, 0)];
    case "quarter":
      return [day(y, m - 2, 1), ""];
    case "year":
      return [day(y, 0, 1), ""];
    default:
      return ["", ""];
  }
}

function dayField(label, value) {
  const example = writeDay("2026-12-31");
  const input = h("input", {
    inputmode: "numeric",
    autocomplete: "off",
    dir: "auto",
    placeholder: example,
    value: writeDay(value),
  });
  return { input, wrap: field(label, input, t("history.day_hint", { example })) };
}

export function render(params, ctx) {
  const counterparty = h("input", {
    name: "counterparty",
    autocapitalize: "none",
    autocomplete: "off",
    value: params.get("counterparty") || "",
  });
  const from = params.get("from") || "";
  const to = params.get("to") || "";
  const chosen = params.get("period") || (from || to ? "days" : "all");
  const period = select(
    PERIODS.map((p) => [p, t(`history.period_${p}`)]),
    PERIODS.includes(chosen) ? chosen : "all",
    { name: "period" },
  );
  const fromField = dayField(t("history.from"), from);
  const toField = dayField(t("history.to"), to);
  const days = h("div", { class: "days" }, fromField.wrap, toField.wrap);
  const message = h("p", { class: "error", role: "alert" });
  const showDays = () => {
    days.hidden = period.value !== "days";
  };
  period.addEventListener("change", showDays);
  showDays();
  const results = h("div", { "aria-live": "polite" });
  const across = h("div", { "aria-live": "polite" });
  const csv = h("a", { class: "button", download: "", text: t("history.csv") });

  const filters = () => {
    if (period.value !== "days") {
      const [start, end] = periodDays(period.value);
      return { counterparty: counterparty.value.trim().toLowerCase(), from: start, to: end };
    }
    const start = readDay(fromField.input.value);
    const end = readDay(toField.input.value);
    return { counterparty: counterparty.value.trim().toLowerCase(), from: start, to: end };
  };

  const load = async () => {
    message.textContent = "";
    const f = filters();
    if (f.from === null || f.to === null) {
      message.textContent = t("history.bad_day", { example: writeDay("2026-12-31") });
      (f.from === null ? fromField.input : toField.input).focus();
      return;
    }
    const address = { counterparty: f.counterparty, period: period.value === "all" ? "" : period.value };
    if (period.value === "days") Object.assign(address, { from: f.from, to: f.to });
    history.replaceState(null, "", `#/history${query(address)}`);
    csv.href = `/api/history.csv${query(f)}`;
    try {
      const [{ payments }, transfers] = await Promise.all([
        api("GET", `/api/history${query(f)}`),
        loadTransfers(),
      ]);
      clear(results).append(table(payments));
      clear(across).append(transferTable(transfers.filter((x) => matches(x, f))));
    } catch (error) {
      clear(results).append(h("p", { class: "error", role: "alert", text: errorText(error) }));
    }
  };
  const form = h(
    "form",
    { class: "filters", novalidate: true },
    field(t("history.counterparty"), counterparty),
    field(t("history.period"), period),
    days,
    message,
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
            h("td", { class: "memo", text: x.memo }),
            h("td", { class: `amount ${incoming ? "in" : "out"}`, text: money(signed(x.amount, incoming)) }),
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
          const other = incoming ? p.payer : p.payee;
          return h(
            "tr",
            {},
            h(
              "td",
              {},
              h("a", {
                class: "who",
                href: `#/payment/${p.seq}`,
                text: other,
                "aria-label": t(incoming ? "history.open_from" : "history.open_to", { handle: other, date: formatDate(p.time) }),
              }),
              h("time", { datetime: p.time, text: formatDate(p.time) }),
            ),
            h("td", { class: "memo", text: p.memo }),
            h("td", { class: `amount ${incoming ? "in" : "out"}`, text: money(signed(p.amount, incoming)) }),
          );
        }),
      ),
    ),
  );
}
