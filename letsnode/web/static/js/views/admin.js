// Stewards: the requests to join first, then the members — searched by name, filtered by
// status, a page at a time, each opening its detail (limits, freezing, closing) — then
// invites and the audit of the ledger. Search, filter and page are in the address.

import { api, query } from "../api.js";
import { errorText, money } from "../app.js";
import { confirmDialog } from "../dialog.js";
import { clear, field, h, select } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { icon } from "../icons.js";
import { fingerprint } from "../keys.js";

const STATUSES = ["", "active", "frozen", "closed"];

export function address(q, status, page) {
  return `#/admin${query({ q, status, page: page > 1 ? String(page) : "" })}`;
}

export function render(params, ctx) {
  const q = params.get("q") || "";
  const status = params.get("status") || "";
  const page = Number(params.get("page")) || 1;
  const requests = h("div", { "aria-live": "polite" });
  const members = h("div");
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
    await loadRequests();
  };

  const requestItem = (r) =>
    h(
      "li",
      { class: "request" },
      h("p", { class: "who" }, h("strong", { text: r.handle })),
      h("p", { class: "muted", text: t("admin.asked_on", { date: formatDate(r.time) }) }),
      h(
        "details",
        {},
        h("summary", { text: t("admin.is_it_them") }),
        h("p", { text: t("admin.is_it_them_text", { handle: r.handle, code: fingerprint(r.key) }) }),
      ),
      h(
        "div",
        { class: "actions" },
        h("button", {
          type: "button",
          class: "primary",
          text: t("admin.approve"),
          "aria-label": t("admin.approve_named", { handle: r.handle }),
          on: {
            click: () =>
              act(async () => {
                await api("POST", `/api/admin/join-requests/${r.id}/approve`);
                ctx.toast(t("admin.approved", { handle: r.handle }));
                await loadMembers();
              }),
          },
        }),
        h("button", {
          type: "button",
          text: t("admin.reject"),
          "aria-label": t("admin.reject_named", { handle: r.handle }),
          on: {
            click: async () => {
              const sure = await confirmDialog({
                title: t("admin.reject_title", { handle: r.handle }),
                text: t("admin.reject_text", { handle: r.handle }),
                confirm: t("admin.reject"),
                danger: true,
              });
              if (sure) act(() => api("POST", `/api/admin/join-requests/${r.id}/reject`));
            },
          },
        }),
      ),
    );

  const loadRequests = async () => {
    const { requests: pending } = await api("GET", "/api/admin/join-requests");
    clear(requests).append(
      pending.length
        ? h("ul", { class: "rows" }, pending.map(requestItem))
        : h("p", { class: "muted", text: t("admin.no_requests") }),
    );
  };

  const search = h("input", { type: "search", name: "q", value: q, autocomplete: "off", autocapitalize: "none" });
  const statusSelect = select(
    STATUSES.map((s) => [s, s ? t(`status.${s}`) : t("admin.any_status")]),
    status,
    { name: "status" },
  );
  const searchForm = h(
    "form",
    { role: "search", class: "filters" },
    field(t("admin.search"), search),
    field(t("admin.status_filter"), statusSelect),
    h("button", { type: "submit", class: "primary", text: t("admin.search_button") }),
  );
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.go(address(search.value.trim().toLowerCase(), statusSelect.value, 1));
  });

  const loadMembers = async () => {
    const found = await api(
      "GET",
      `/api/admin/accounts${query({ q, status, page: String(page) })}`,
    );
    const table = found.accounts.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "members" },
            h("caption", { class: "sr-only", text: t("admin.members") }),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["admin.member", "admin.balance", "admin.status"].map((key) => h("th", { scope: "col", text: t(key) })),
              ),
            ),
            h(
              "tbody",
              {},
              found.accounts.map((a) =>
                h(
                  "tr",
                  {},
                  h(
                    "td",
                    {},
                    h("a", { href: `#/admin/member/${encodeURIComponent(a.handle)}`, class: "who", text: a.handle }),
                    a.steward ? h("span", { class: "tag", text: t("admin.is_steward") }) : null,
                  ),
                  h("td", { class: "amount", text: money(a.balance) }),
                  h("td", {}, h("span", { class: `state ${a.status}`, text: t(`status.${a.status}`) })),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "muted", text: t("admin.no_members") });
    const pager = h(
      "nav",
      { class: "pager", "aria-label": t("admin.pages") },
      found.page > 1
        ? h("a", { class: "button", href: address(q, status, found.page - 1), rel: "prev" }, icon("back"), h("span", { text: t("admin.previous") }))
        : null,
      h("span", { class: "muted", text: t("admin.page_of", { page: found.page, pages: found.pages, total: found.total }) }),
      found.page < found.pages
        ? h("a", { class: "button", href: address(q, status, found.page + 1), rel: "next" }, h("span", { text: t("admin.next") }), icon("forward"))
        : null,
    );
    clear(members).append(table, pager);
  };

  const uses = h("input", { type: "number", min: "1", max: "1000", value: "1", inputmode: "numeric" });
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
            h("p", {
              class: r.ok ? "success" : "error",
              text: r.ok
                ? t("admin.audit_ok", { entries: r.entries, accounts: r.accounts })
                : t("admin.audit_failed", { seq: r.fault.seq, reason: r.fault.reason }),
            }),
            h("details", {}, h("summary", { text: t("admin.audit_head") }), h("code", { class: "hex", text: r.head })),
          );
        } catch (error) {
          clear(audit).append(h("p", { class: "error", text: errorText(error) }));
        }
        runAudit.disabled = false;
      },
    },
  });

  const loading = Promise.all([loadRequests(), loadMembers()]).catch((error) => {
    message.textContent = errorText(error);
  });
  const section = h(
    "section",
    {},
    h("h1", { text: t("admin.title") }),
    message,
    h("div", { class: "card" }, h("h2", { text: t("admin.requests") }), requests),
    h("div", { class: "card" }, h("h2", { text: t("admin.members") }), searchForm, members),
    h("div", { class: "card" }, h("h2", { text: t("admin.invites") }), inviteForm, invite),
    h("div", { class: "card" }, h("h2", { text: t("admin.audit") }), runAudit, audit),
  );
  return loading.then(() => section);
}
