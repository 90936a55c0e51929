// A payment in detail: who paid whom, how much, when, what for; the order its payer signed
// for those who want to check it; a receipt to print or share. Right after paying, the
// same screen says it is done (#/payment/12?done=1).

import { api } from "../api.js";
import { app, errorText, money } from "../app.js";
import { h } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { icon } from "../icons.js";

async function load(seq) {
  return api("GET", `/api/payments/${encodeURIComponent(seq)}`);
}

function rows(pairs) {
  return h(
    "dl",
    { class: "figures" },
    pairs.map(([label, value, cls]) => [h("dt", { text: label }), h("dd", { class: cls, text: value })]),
  );
}

function notFound(error) {
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("payment.title") }),
    h("p", { class: "error", role: "alert", text: errorText(error) }),
    h("a", { class: "button", href: "#/history", text: t("nav.history") }),
  );
}

export async function render(params, ctx) {
  let detail;
  try {
    detail = await load(ctx.args.seq);
  } catch (error) {
    return notFound(error);
  }
  const p = detail.payment;
  const mine = p.payer === app.me.handle;
  const received = p.payee === app.me.handle;
  const done = params.get("done") === "1" && mine;
  const other = mine ? p.payee : p.payer;
  const banner = done
    ? h(
        "div",
        { class: "done", role: "status" },
        icon("check", "icon big"),
        h("p", { class: "success", text: t("pay.done", { amount: money(p.amount), payee: p.payee }) }),
        h("p", { text: t("pay.new_balance", { amount: money(app.me.balance) }) }),
      )
    : null;
  let title = t("payment.title");
  if (mine) title = t("payment.paid_to", { handle: p.payee });
  else if (received) title = t("payment.received_from", { handle: p.payer });
  return h(
    "section",
    { class: "card" },
    h("h1", { text: title }),
    banner,
    rows([
      [t("payment.from"), p.payer],
      [t("payment.to"), p.payee],
      [t("payment.amount"), money(p.amount), "amount"],
      [t("payment.when"), formatDate(p.time)],
      [t("payment.memo"), p.memo || t("common.none"), "memo"],
      [t("payment.number"), String(p.seq)],
    ]),
    h(
      "div",
      { class: "actions" },
      mine || received
        ? h("a", { class: "button primary", href: `#/pay?to=${encodeURIComponent(other)}` }, icon("pay"), h("span", { text: t(mine ? "payment.pay_again" : "payment.pay_back", { handle: other }) }))
        : null,
      h("a", { class: "button", href: `#/receipt/${p.seq}` }, icon("receipt"), h("span", { text: t("payment.receipt") })),
      h("a", { class: "button", href: "#/history", text: t("nav.history") }),
    ),
    h(
      "details",
      { class: "technical" },
      h("summary", { text: t("payment.signed_order") }),
      h("p", { class: "muted", text: t("payment.signed_order_hint", { payer: p.payer }) }),
      rows([[t("pay.nonce"), String(detail.nonce)]]),
      h("p", { class: "label", text: t("payment.order_bytes") }),
      h("code", { class: "hex", text: detail.order }),
      h("p", { class: "label", text: t("payment.signature") }),
      h("code", { class: "hex", text: detail.signature }),
      h("p", { class: "label", text: t("payment.entry_hash") }),
      h("code", { class: "hex", text: detail.entry.hash }),
    ),
  );
}

// #/receipt/12: a plain receipt, to print (or save as PDF) or to share.
export const receipt = {
  async render(params, ctx) {
    let detail;
    try {
      detail = await load(ctx.args.seq);
    } catch (error) {
      return notFound(error);
    }
    const p = detail.payment;
    const text = t("receipt.share_text", {
      community: app.community.name,
      number: p.seq,
      payer: p.payer,
      payee: p.payee,
      amount: money(p.amount),
      date: formatDate(p.time),
    });
    const print = h("button", { type: "button", class: "primary", text: t("receipt.print"), on: { click: () => window.print() } });
    const share = navigator.share
      ? h("button", {
          type: "button",
          text: t("receipt.share"),
          on: {
            click: () => navigator.share({ title: t("receipt.title"), text }).catch(() => {}),
          },
        })
      : null;
    return h(
      "section",
      { class: "card receipt" },
      h("p", { class: "receipt-community", text: app.community.name }),
      h("h1", { text: t("receipt.title_number", { number: p.seq }) }),
      rows([
        [t("payment.when"), formatDate(p.time)],
        [t("payment.from"), p.payer],
        [t("payment.to"), p.payee],
        [t("payment.amount"), money(p.amount), "amount"],
        [t("payment.memo"), p.memo || t("common.none"), "memo"],
      ]),
      h("p", { class: "muted", text: t("receipt.check", { code: detail.entry.hash.slice(0, 16) }) }),
      h(
        "div",
        { class: "actions no-print" },
        print,
        share,
        h("a", { class: "button", href: `#/payment/${p.seq}`, text: t("receipt.back") }),
      ),
    );
  },
};
