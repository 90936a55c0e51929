// Stewards: approve or reject join requests, make invites, set limits, freeze and
// unfreeze accounts, and audit the ledger.

import { api } from "../api.js";
import { app, errorText, money } from "../app.js";
import { clear, field, h } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { fingerprint } from "../keys.js";

export function render(params, ctx) {
  const requests = h("div", { "aria-live": "polite" });
  const accounts = h("div");
  const invite = h("div");
  const audit = h("div", { "aria-live": "polite" });
  const message = h("p", { class: "error", role: "alert" });

  const act = async (fn) => {
    message.textContent = "";
    try {
      await fn();
    } catch (error) {
      message.textContent = errorText(error);
    }
    await load();
  };

  const load = async () => {
    const [{ requests: pending }, { accounts: all }] = await Promise.all([
      api("GET", "/api/admin/join-requests"),
      api("GET", "/api/admin/accounts"),
    ]);
    clear(requests).append(
      pending.length
        ? h("ul", { class: "rows" }, pending.map((r) =>
            h(
              "li",
              {},
              h("span", { text: t("admin.request_line", { handle: r.handle, fingerprint: fingerprint(r.key), date: formatDate(r.time) }) }),
              h("span", { class: "actions" },
                h("button", {
                  type: "button", class: "primary", text: t("admin.approve"),
                  "aria-label": t("admin.approve_named", { handle: r.handle }),
                  on: { click: () => act(async () => {
                    await api("POST", `/api/admin/join-requests/${r.id}/approve`);
                    ctx.toast(t("admin.approved", { handle: r.handle }));
                  }) },
                }),
                h("button", {
                  type: "button", text: t("admin.reject"),
                  "aria-label": t("admin.reject_named", { handle: r.handle }),
                  on: { click: () => act(() => api("POST", `/api/admin/join-requests/${r.id}/reject`)) },
                })),
            )))
        : h("p", { class: "muted", text: t("admin.no_requests") }),
    );
    clear(accounts).append(h("ul", { class: "rows" }, all.map(accountRow)));
  };

  const accountRow = (a) => {
    const floor = h("input", { inputmode: "decimal", value: a.floor, size: "8" });
    const ceiling = h("input", { inputmode: "decimal", value: a.ceiling || "", size: "8" });
    const frozen = a.status === "frozen";
    return h(
      "li",
      { class: "account" },
      h("h3", { text: a.handle }),
      h("p", { text: t("admin.account_line", { status: t(`status.${a.status}`), balance: money(a.balance) }) }),
      h(
        "form",
        { class: "inline", on: { submit: (event) => {
          event.preventDefault();
          act(() => api("POST", `/api/admin/accounts/${a.handle}/limits`, {
            floor: floor.value.trim().replace(",", "."),
            ceiling: ceiling.value.trim().replace(",", "."),
          }));
        } } },
        field(t("admin.floor_of", { handle: a.handle }), floor),
        field(t("admin.ceiling_of", { handle: a.handle }), ceiling),
        h("button", { type: "submit", text: t("admin.save_limits"), "aria-label": t("admin.save_limits_named", { handle: a.handle }) }),
      ),
      a.status === "closed"
        ? null
        : h("button", {
            type: "button",
            text: t(frozen ? "admin.unfreeze" : "admin.freeze"),
            "aria-label": t(frozen ? "admin.unfreeze_named" : "admin.freeze_named", { handle: a.handle }),
            on: { click: () => act(() => api("POST", `/api/admin/accounts/${a.handle}/status`, { status: frozen ? "active" : "frozen" })) },
          }),
    );
  };

  const uses = h("input", { type: "number", min: "1", max: "1000", value: "1" });
  const inviteForm = h(
    "form",
    { class: "inline" },
    field(t("admin.invite_uses"), uses),
    h("button", { type: "submit", text: t("admin.invite_create") }),
  );
  inviteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const made = await api("POST", "/api/admin/invites", { uses: Number(uses.value) || 1, hours: 72 });
      clear(invite).append(field(t("admin.invite_link"), h("input", { readonly: true, value: made.link, class: "link" })));
    });
  });

  const runAudit = h("button", {
    type: "button",
    text: t("admin.audit_run"),
    on: {
      click: async () => {
        runAudit.disabled = true;
        clear(audit).append(h("p", { text: t("admin.audit_running") }));
        try {
          const r = await api("GET", "/api/admin/audit");
          clear(audit).append(
            h("p", { class: r.ok ? "success" : "error", text: r.ok ? t("admin.audit_ok", { entries: r.entries, accounts: r.accounts }) : t("admin.audit_failed", { seq: r.fault.seq, reason: r.fault.reason }) }),
            h("p", { class: "muted" }, t("admin.audit_head"), " ", h("code", { class: "hex", text: r.head })),
          );
        } catch (error) {
          clear(audit).append(h("p", { class: "error", text: errorText(error) }));
        }
        runAudit.disabled = false;
      },
    },
  });

  load().catch((error) => {
    message.textContent = errorText(error);
  });
  return h(
    "section",
    {},
    h("h1", { text: t("admin.title") }),
    message,
    h("div", { class: "card" }, h("h2", { text: t("admin.requests") }), requests),
    h("div", { class: "card" }, h("h2", { text: t("admin.invites") }), inviteForm, invite),
    h("div", { class: "card" }, h("h2", { text: t("admin.audit") }), runAudit, audit),
    h("div", { class: "card" }, h("h2", { text: t("admin.accounts") }), accounts),
  );
}
