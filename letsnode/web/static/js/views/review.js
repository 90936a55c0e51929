// Paying, step two: the review says in plain words who gets what and what it leaves the
// payer; the member signs here, in the browser, and the node records it. The signed
// order itself is under "Technical details" for those who want to see it.
//
// The address holds the payment (#/pay/review?to=bruno&amount=2.5&memo=...), so a reload
// shows the same review; once paid, the address is replaced by the payment's own
// (#/payment/12), so back never offers to pay a second time.

import { api, query } from "../api.js";
import { app, errorText, foreignMoney, isOnline, money, refreshMe } from "../app.js";
import { AmountError, parseAmount, toDecimal } from "../amounts.js";
import { clear, h } from "../dom.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";
import { DOMAIN_ORDER, DOMAIN_REMOTE_ORDER, orderBytes, remoteOrderBytes, sign, toHex } from "../keys.js";
import { offlineNotice } from "./pay.js";

function formAddress(params) {
  return `#/pay${query({ to: params.get("to"), amount: params.get("amount"), memo: params.get("memo") })}`;
}

function communityLabel(payee) {
  if (!payee.name) return payee.short || payee.community_id;
  return t("pay.community_named", { name: payee.name, short: payee.short });
}

function technical(bytes, nonce) {
  return h(
    "details",
    { class: "technical" },
    h("summary", { text: t("pay.technical") }),
    h("p", { class: "muted", text: t("pay.technical_hint") }),
    h("dl", { class: "figures" }, h("dt", { text: t("pay.nonce") }), h("dd", { text: String(nonce) })),
    h("code", { class: "hex", text: toHex(bytes) }),
  );
}

export async function render(params, ctx) {
  if (!isOnline()) return offlineNotice();
  const to = params.get("to") || "";
  const memo = params.get("memo") || "";
  let minor;
  try {
    minor = parseAmount(params.get("amount") || "", app.community.scale);
  } catch (error) {
    if (!(error instanceof AmountError)) throw error;
    ctx.replace(formAddress(params));
    return h("section");
  }
  const decimal = toDecimal(minor, app.community.scale);
  const change = h("a", {
    class: "button",
    href: formAddress(params),
    text: t("pay.back"),
    on: {
      click: (event) => {
        event.preventDefault();
        ctx.replace(formAddress(params));
      },
    },
  });
  const [verdict, next] = await Promise.all([
    api("GET", `/api/payments/check${query({ to, amount: decimal })}`),
    api("GET", "/api/orders/next"),
  ]);
  if (!verdict.ok) {
    return h(
      "section",
      { class: "card" },
      h("h1", { text: t("pay.check_title") }),
      h("p", { class: "error", role: "alert", text: errorText({ code: verdict.code, detail: verdict.code }) }),
      h("div", { class: "actions" }, change),
    );
  }
  const payee = verdict.payee;
  const remote = !payee.local;
  const order = {
    communityId: next.community_id,
    payer: app.me.handle,
    payee: payee.handle,
    amountMinor: minor,
    nonce: next.nonce,
    memo,
  };
  const bytes = remote
    ? remoteOrderBytes({ ...order, payeeCommunity: payee.community_id, payeeHandle: payee.handle })
    : orderBytes(order);
  const who = remote ? payee.address : payee.handle;
  const message = h("p", { class: "error", role: "alert" });
  const progress = h("p", { class: "progress", hidden: true, text: t("transfer.sending") });
  const result = h("div", { role: "status" }, progress);
  const confirm = h("button", { type: "button", class: "primary big", text: t("pay.confirm") });
  const actions = h("div", { class: "actions" }, confirm, change);
  const summary = h(
    "div",
    { class: "summary" },
    h("p", { class: "summary-amount", text: money(decimal) }),
    h("p", { class: "summary-who", text: t("pay.summary_to", { payee: who }) }),
    memo ? h("p", { class: "summary-memo" }, t("pay.summary_for"), " ", h("span", { class: "memo", text: memo })) : null,
  );
  const rows = (pairs) =>
    h("dl", { class: "figures" }, pairs.map(([label, value]) => [h("dt", { text: label }), h("dd", { text: value })]));
  const section = h(
    "section",
    { class: "card" },
    h("h1", { text: t("pay.check_title") }),
    summary,
    rows([
      [t("pay.from"), app.me.handle],
      ...(remote ? [[t("pay.community"), communityLabel(payee)]] : []),
      [t("pay.balance_after"), money(verdict.balance_after)],
      [t("pay.available_after"), money(verdict.available_after)],
    ]),
    remote ? h("p", { class: "muted", text: t("pay.remote_note") }) : null,
    message,
    actions,
    result,
    technical(bytes, next.nonce),
  );
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    message.textContent = "";
    try {
      const signature = await sign(app.identity, remote ? DOMAIN_REMOTE_ORDER : DOMAIN_ORDER, bytes);
      if (!remote) {
        const done = await api("POST", "/api/payments", { order: toHex(bytes), signature });
        await refreshMe();
        ctx.replace(`#/payment/${done.payment.seq}?done=1`);
        return;
      }
      progress.hidden = false;
      section.setAttribute("aria-busy", "true");
      const outcome = await api("POST", "/api/transfers", { order: toHex(bytes), signature });
      progress.hidden = true;
      section.removeAttribute("aria-busy");
      await refreshMe();
      if (outcome.state === "fulfilled") {
        history.replaceState(null, "", `#/pay/sent${query({ to: who, amount: decimal })}`);
        actions.hidden = true;
        clear(result).append(...sentLines(who, decimal, outcome, payee));
        result.querySelector("h2").focus();
      } else {
        const reason = errorText({ code: outcome.code, detail: outcome.message });
        message.textContent =
          outcome.state === "expired" ? t("transfer.expired") : t("transfer.rejected", { reason });
      }
    } catch (error) {
      progress.hidden = true;
      section.removeAttribute("aria-busy");
      message.textContent = t("pay.refused", { reason: errorText(error) });
    }
    confirm.disabled = false;
  });
  return section;
}

function sentLines(who, decimal, outcome, payee) {
  const lines = [
    h("h2", { class: "success", tabindex: "-1" }, icon("check"), h("span", { text: t("pay.done", { amount: money(decimal), payee: who }) })),
  ];
  if (outcome && outcome.delivered !== null && payee && payee.unit) {
    const delivered = foreignMoney(outcome.delivered, payee.scale, payee.unit);
    lines.push(h("p", { text: t("transfer.delivered", { payee: who, amount: delivered }) }));
  }
  lines.push(
    h("p", { text: t("pay.new_balance", { amount: money(app.me.balance) }) }),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button primary", href: "#/pay", text: t("pay.pay_again") }),
      h("a", { class: "button", href: "#/history", text: t("nav.history") }),
    ),
  );
  return lines;
}

// #/pay/sent: a payment to another community that went through (after a reload too).
export const sent = {
  render(params) {
    return h(
      "section",
      { class: "card" },
      h("h1", { text: t("pay.sent_title") }),
      ...sentLines(params.get("to") || "", params.get("amount") || "0", null, null).slice(1),
    );
  },
};
