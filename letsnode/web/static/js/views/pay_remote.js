// Paying a member of another community (handle@community): the confirm step shows the
// community, the payee, the amount and the memo; the browser builds the remote order
// (letsnode/core/wire/transfers.py), signs it here and sends it; the payment then travels along
// the partner communities' credit lines, which takes a few seconds, and ends fulfilled,
// rejected or expired. Only a fulfilled payment takes anything from the payer's account.

import { api } from "../api.js";
import { app, errorText, money, refreshMe } from "../app.js";
import { toDecimal } from "../amounts.js";
import { h } from "../dom.js";
import { formatAmount, t } from "../i18n.js";
import { DOMAIN_REMOTE_ORDER, remoteOrderBytes, sign, toHex } from "../keys.js";

export function addressOf(target) {
  return `${target.handle}@${target.short || target.community_id.slice(0, 8)}`;
}

function communityLabel(target) {
  if (!target.name) return target.short || target.community_id;
  return t("pay.community_named", { name: target.name, short: target.short });
}

export function remoteConfirmStep(order, target, back) {
  const bytes = remoteOrderBytes(order);
  const decimal = toDecimal(order.amountMinor, app.community.scale);
  const address = addressOf(target);
  const row = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
  const message = h("p", { class: "error", role: "alert" });
  const progress = h("p", { class: "progress", hidden: true, text: t("transfer.sending") });
  const result = h("div", { role: "status" }, progress);
  const confirm = h("button", { type: "button", class: "primary", text: t("pay.confirm") });
  const backButton = h("button", { type: "button", text: t("pay.back"), on: { click: back } });
  const step = h(
    "div",
    { class: "confirm" },
    h("h2", { text: t("pay.check_title") }),
    h(
      "dl",
      { class: "figures" },
      row(t("pay.from"), order.payer),
      row(t("pay.community"), communityLabel(target)),
      row(t("pay.to"), address),
      row(t("pay.amount", { unit: app.community.unit }), money(decimal)),
      row(t("pay.memo"), order.memo || t("common.none")),
      row(t("pay.nonce"), String(order.nonce)),
    ),
    h("p", { class: "muted", text: t("pay.remote_note") }),
    h(
      "details",
      {},
      h("summary", { text: t("pay.signed_bytes") }),
      h("p", { class: "muted", text: t("pay.signed_bytes_hint") }),
      h("code", { class: "hex", text: toHex(bytes) }),
    ),
    message,
    h("div", { class: "actions" }, confirm, backButton),
    result,
  );
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    backButton.disabled = true;
    message.textContent = "";
    try {
      const signature = await sign(app.identity, DOMAIN_REMOTE_ORDER, bytes);
      progress.hidden = false;
      step.setAttribute("aria-busy", "true");
      const outcome = await api("POST", "/api/transfers", { order: toHex(bytes), signature });
      progress.hidden = true;
      await refreshMe();
      if (outcome.state === "fulfilled") {
        confirm.hidden = true;
        backButton.hidden = true;
        result.append(...fulfilled(outcome, target, address, decimal));
      } else {
        const reason = errorText({ code: outcome.code, detail: outcome.message });
        message.textContent =
          outcome.state === "expired" ? t("transfer.expired") : t("transfer.rejected", { reason });
        backButton.disabled = false;
      }
    } catch (error) {
      progress.hidden = true;
      message.textContent = t("pay.refused", { reason: errorText(error) });
      backButton.disabled = false;
    } finally {
      step.removeAttribute("aria-busy");
    }
  });
  return step;
}

function fulfilled(outcome, target, address, decimal) {
  const parts = [
    h("p", { class: "success", text: t("pay.done", { amount: money(decimal), payee: address }) }),
  ];
  if (outcome.delivered !== null && target.unit) {
    const delivered = formatAmount(outcome.delivered, target.scale, target.unit);
    parts.push(h("p", { text: t("transfer.delivered", { payee: address, amount: delivered }) }));
  }
  parts.push(
    h("p", { text: t("pay.new_balance", { amount: money(app.me.balance) }) }),
    h("a", { class: "button", href: "#/home", text: t("nav.home") }),
  );
  return parts;
}
