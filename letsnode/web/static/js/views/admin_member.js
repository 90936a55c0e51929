// Stewards: one member — balance, limits and room, status; set the limits; freeze,
// unfreeze or close the account, each only after saying what it does and asking.

import { api } from "../api.js";
import { app, errorText, money, unitName } from "../app.js";
import { confirmDialog } from "../dialog.js";
import { clear, field, h } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { icon } from "../icons.js";
import { signed } from "./home.js";

export async function render(params, ctx) {
  const handle = ctx.args.handle;
  const message = h("p", { class: "error", role: "alert" });
  const body = h("div");
  const back = h("a", { class: "back-link", href: "#/admin" }, icon("back"), h("span", { text: t("admin.back") }));
  const section = h("section", {}, back, h("h1", { text: handle }), message, body);

  const draw = (a) => {
    const row = (label, value) => [h("dt", { text: label }), h("dd", { text: value })];
    const floor = h("input", { inputmode: "decimal", value: a.floor, autocomplete: "off", dir: "auto" });
    const ceiling = h("input", { inputmode: "decimal", value: a.ceiling || "", autocomplete: "off", dir: "auto" });
    const limits = h(
      "form",
      { class: "inline", novalidate: true },
      field(t("admin.floor", { unit: unitName() }), floor, t("admin.floor_hint")),
      field(t("admin.ceiling", { unit: unitName() }), ceiling, t("admin.ceiling_hint")),
      h("button", { type: "submit", class: "primary", text: t("admin.save_limits") }),
    );
    limits.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      try {
        const r = await api("POST", `/api/admin/accounts/${encodeURIComponent(handle)}/limits`, {
          floor: floor.value.trim().replace(",", "."),
          ceiling: ceiling.value.trim().replace(",", "."),
        });
        ctx.toast(t("admin.limits_saved", { handle }));
        await reload(r.account);
      } catch (error) {
        message.textContent = errorText(error);
      }
    });
    const setStatus = async (status, question) => {
      const sure = await confirmDialog(question);
      if (!sure) return;
      message.textContent = "";
      try {
        const r = await api("POST", `/api/admin/accounts/${encodeURIComponent(handle)}/status`, { status });
        ctx.toast(t(`admin.now_${status}`, { handle }));
        await reload(r.account);
      } catch (error) {
        message.textContent = errorText(error);
      }
    };
    const frozen = a.status === "frozen";
    const statusActions =
      a.status === "closed"
        ? h("p", { class: "muted", text: t("admin.closed_for_good") })
        : h(
            "div",
            { class: "actions" },
            h("button", {
              type: "button",
              text: t(frozen ? "admin.unfreeze" : "admin.freeze"),
              class: frozen ? "" : "danger-outline",
              on: {
                click: () =>
                  setStatus(frozen ? "active" : "frozen", {
                    title: t(frozen ? "admin.unfreeze_title" : "admin.freeze_title", { handle }),
                    text: t(frozen ? "admin.unfreeze_text" : "admin.freeze_text", { handle }),
                    confirm: t(frozen ? "admin.unfreeze" : "admin.freeze"),
                    danger: !frozen,
                  }),
              },
            }),
            h("button", {
              type: "button",
              class: "danger-outline",
              text: t("admin.close"),
              on: {
                click: () => {
                  if (a.balance_minor !== 0) {
                    message.textContent = t("admin.close_needs_zero", { handle, balance: money(a.balance) });
                    return;
                  }
                  setStatus("closed", {
                    title: t("admin.close_title", { handle }),
                    text: t("admin.close_text", { handle }),
                    confirm: t("admin.close"),
                    danger: true,
                    typeToConfirm: handle,
                  });
                },
              },
            }),
          );
    const recent = a.recent.length
      ? h(
          "ul",
          { class: "activity" },
          a.recent.map((p) => {
            const incoming = p.payee === handle;
            return h(
              "li",
              { class: incoming ? "in" : "out" },
              h(
                "a",
                { class: "row-link", href: `#/payment/${p.seq}` },
                h("span", { class: "who", text: t(incoming ? "home.from" : "home.to", { handle: incoming ? p.payer : p.payee }) }),
                h("span", { class: "amount", text: money(signed(p.amount, incoming)) }),
                h("time", { datetime: p.time, text: formatDate(p.time) }),
              ),
            );
          }),
        )
      : h("p", { class: "muted", text: t("home.no_activity") });
    clear(body).append(
      h(
        "div",
        { class: "card" },
        h("dl", { class: "figures" }, [
          row(t("home.balance"), money(a.balance)),
          row(t("admin.status"), t(`status.${a.status}`)),
          row(t("admin.can_spend"), money(a.available_to_spend)),
          row(t("admin.can_receive"), a.available_to_receive === null ? t("common.unlimited") : money(a.available_to_receive)),
          row(t("admin.steward"), t(a.steward ? "common.yes" : "common.no")),
          row(t("settings.language"), a.language ? t(`language.${a.language}`) : t("common.none")),
        ]),
      ),
      h("div", { class: "card" }, h("h2", { text: t("admin.limits") }), limits),
      h("div", { class: "card" }, h("h2", { text: t("admin.account_status") }), statusActions),
      h("div", { class: "card" }, h("h2", { text: t("home.recent") }), recent),
    );
  };

  const reload = async () => {
    const a = await api("GET", `/api/admin/accounts/${encodeURIComponent(handle)}`);
    draw(a);
  };
  try {
    await reload();
  } catch (error) {
    message.textContent = errorText(error);
  }
  return section;
}
