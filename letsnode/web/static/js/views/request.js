// Requesting a payment: a link and a QR code (made by the node as SVG) that open the
// payer's wallet with payee, amount and memo filled in.

import { app, unitName } from "../app.js";
import { AmountError, parseAmount, toDecimal } from "../amounts.js";
import { clear, field, h } from "../dom.js";
import { t } from "../i18n.js";
import { query } from "../api.js";

export function render() {
  const amount = h("input", { name: "amount", inputmode: "decimal", autocomplete: "off", dir: "auto" });
  const memo = h("input", { name: "memo", maxlength: "200" });
  const message = h("p", { class: "error", role: "alert" });
  const out = h("div", { class: "request-out" });
  const form = h(
    "form",
    { novalidate: true },
    field(t("request.amount", { unit: unitName() }), amount, t("request.amount_hint")),
    field(t("pay.memo"), memo),
    message,
    h("button", { type: "submit", class: "primary", text: t("request.create") }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.textContent = "";
    let text = amount.value.trim();
    if (text) {
      try {
        text = toDecimal(parseAmount(text, app.community.scale), app.community.scale);
      } catch (error) {
        if (!(error instanceof AmountError)) throw error;
        message.textContent = t(`error.${error.code}`, { scale: app.community.scale });
        return;
      }
    }
    const params = { to: app.me.handle, amount: text, memo: memo.value.trim() };
    const link = `${location.origin}/#/pay${query(params)}`;
    const linkBox = h("input", { readonly: true, value: link, class: "link" });
    const copy = h("button", {
      type: "button",
      text: t("request.copy"),
      on: {
        click: async () => {
          linkBox.select();
          try {
            await navigator.clipboard.writeText(link);
            copy.textContent = t("request.copied");
          } catch {
            /* the link is selected: the member can copy it by hand */
          }
        },
      },
    });
    clear(out).append(
      h("h2", { text: t("request.ready") }),
      h("img", {
        class: "qr",
        src: `/api/payment-requests/qr.svg${query(params)}`,
        alt: t("request.qr_alt", { handle: app.me.handle }),
        width: "240",
        height: "240",
      }),
      field(t("request.link"), linkBox),
      copy,
    );
  });
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("request.title") }),
    h("p", { text: t("request.intro") }),
    form,
    out,
  );
}
