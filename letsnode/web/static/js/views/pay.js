// Paying: fill in payee, amount and memo; check exactly what will be signed; sign it here
// in the browser; the node verifies and records it (or says plainly why it refuses).
// A payee written handle@community is a member of another community: see pay_remote.js.

import { api, query } from "../api.js";
import { app, errorText, money, refreshMe } from "../app.js";
import { AmountError, parseAmount, toDecimal } from "../amounts.js";
import { clear, field, h, uid } from "../dom.js";
import { t } from "../i18n.js";
import { DOMAIN_ORDER, orderBytes, sign, toHex } from "../keys.js";
import { remoteConfirmStep } from "./pay_remote.js";

const HANDLE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
// handle@community: the community by short name, community id (hex) or libp2p peer id.
const ADDRESS = /^([a-zA-Z0-9-]{1,32})@([a-zA-Z0-9-]{1,64})$/;

export function memberList(input) {
  const listId = uid("members");
  const list = h("datalist", { id: listId });
  input.setAttribute("list", listId);
  const fill = async () => {
    try {
      const { members } = await api("GET", `/api/members${query({ q: input.value.trim() })}`);
      list.replaceChildren(
        ...members
          .filter((m) => m.handle !== app.me.handle)
          .map((m) => h("option", { value: m.handle })),
      );
    } catch {
      /* autocomplete is a convenience only */
    }
  };
  input.addEventListener("input", fill);
  fill();
  return list;
}

export function render(params) {
  const to = h("input", {
    name: "to",
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    value: params.get("to") || "",
  });
  const amount = h("input", {
    name: "amount",
    inputmode: "decimal",
    autocomplete: "off",
    required: true,
    value: params.get("amount") || "",
  });
  const memo = h("input", { name: "memo", maxlength: "200", value: params.get("memo") || "" });
  const message = h("p", { class: "error", role: "alert" });
  const area = h("div");
  const form = h(
    "form",
    { novalidate: true },
    field(t("pay.to"), to, t("pay.to_hint")),
    memberList(to),
    field(t("pay.amount", { unit: app.community.unit }), amount, t("pay.available", {
      amount: money(app.me.available_to_spend),
    })),
    field(t("pay.memo"), memo),
    message,
    h("button", { type: "submit", class: "primary", text: t("pay.review") }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    let payee = to.value.trim();
    const address = ADDRESS.exec(payee);
    if (payee.includes("@") && !address) {
      message.textContent = t("error.invalid_address");
      to.focus();
      return;
    }
    payee = address ? address[1].toLowerCase() : payee.toLowerCase();
    if (!HANDLE.test(payee) || (!address && payee === app.me.handle)) {
      message.textContent = t(payee === app.me.handle ? "error.pay_self" : "error.invalid_handle");
      to.focus();
      return;
    }
    let minor;
    try {
      minor = parseAmount(amount.value, app.community.scale);
    } catch (error) {
      if (!(error instanceof AmountError)) throw error;
      message.textContent = t(`error.${error.code}`, { scale: app.community.scale });
      amount.focus();
      return;
    }
    const back = () => {
      form.hidden = false;
      clear(area);
      amount.focus();
    };
    try {
      const target = address
        ? await api("GET", `/api/resolve${query({ address: to.value.trim() })}`)
        : null;
      if (target && target.local && target.handle === app.me.handle) {
        message.textContent = t("error.pay_self");
        to.focus();
        return;
      }
      const next = await api("GET", "/api/orders/next");
      const order = {
        communityId: next.community_id,
        payer: app.me.handle,
        payee,
        amountMinor: minor,
        nonce: next.nonce,
        memo: memo.value,
      };
      form.hidden = true;
      if (target && !target.local) {
        const remote = { ...order, payeeCommunity: target.community_id, payeeHandle: payee };
        clear(area).append(remoteConfirmStep(remote, target, back));
      } else {
        clear(area).append(confirmStep(order, back));
      }
      const heading = area.querySelector("h2");
      heading.tabIndex = -1;
      heading.focus();
    } catch (error) {
      message.textContent = errorText(error);
    }
  });
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("pay.title") }),
    form,
    area,
  );
}

function confirmStep(order, back) {
  const bytes = orderBytes(order);
  const decimal = toDecimal(order.amountMinor, app.community.scale);
  const row = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
  const message = h("p", { class: "error", role: "alert" });
  const result = h("div", { role: "status" });
  const confirm = h("button", { type: "button", class: "primary", text: t("pay.confirm") });
  const backButton = h("button", { type: "button", text: t("pay.back"), on: { click: back } });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    backButton.disabled = true;
    message.textContent = "";
    try {
      const signature = await sign(app.identity, DOMAIN_ORDER, bytes);
      await api("POST", "/api/payments", { order: toHex(bytes), signature });
      await refreshMe();
      confirm.hidden = true;
      backButton.hidden = true;
      result.append(
        h("p", { class: "success", text: t("pay.done", { amount: money(decimal), payee: order.payee }) }),
        h("p", { text: t("pay.new_balance", { amount: money(app.me.balance) }) }),
        h("a", { class: "button", href: "#/home", text: t("nav.home") }),
      );
    } catch (error) {
      message.textContent = t("pay.refused", { reason: errorText(error) });
      backButton.disabled = false;
    }
  });
  return h(
    "div",
    { class: "confirm" },
    h("h2", { text: t("pay.check_title") }),
    h(
      "dl",
      { class: "figures" },
      row(t("pay.from"), order.payer),
      row(t("pay.to"), order.payee),
      row(t("pay.amount", { unit: app.community.unit }), money(decimal)),
      row(t("pay.memo"), order.memo || t("common.none")),
      row(t("pay.nonce"), String(order.nonce)),
    ),
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
}
