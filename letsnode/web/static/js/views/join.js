// Joining: the browser makes the member's key, then asks to join with a handle. With an
// invite the account opens at once; otherwise a steward approves it.

import { app, errorText } from "../app.js";
import { field, h } from "../dom.js";
import { t } from "../i18n.js";
import { fingerprint, newIdentity, saveIdentity } from "../keys.js";
import { askToJoin } from "../session.js";

const POLL_MS = 4000;

export function render(params, ctx) {
  return ctx.status === "pending" ? pending(ctx) : joinForm(params, ctx);
}

function joinForm(params, ctx) {
  const handle = h("input", {
    name: "handle",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    maxlength: "32",
    pattern: "[a-z0-9]([a-z0-9\\-]{0,30}[a-z0-9])?",
  });
  handle.addEventListener("input", () => {
    const lower = handle.value.toLowerCase();
    if (lower !== handle.value) handle.value = lower;
  });
  const invite = h("input", {
    name: "invite",
    autocomplete: "off",
    value: params.get("invite") || "",
  });
  const message = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary", text: t("join.submit") });
  const form = h(
    "form",
    { novalidate: true },
    field(t("join.handle"), handle, t("join.handle_hint")),
    field(t("join.invite"), invite, t("join.invite_hint")),
    message,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const wanted = handle.value.trim().toLowerCase();
    if (!handle.checkValidity() || !wanted) {
      message.textContent = t("error.invalid_handle");
      handle.focus();
      return;
    }
    button.disabled = true;
    try {
      app.identity = app.identity || (await newIdentity());
      const result = await askToJoin(app.identity, wanted, invite.value.trim());
      app.identity.handle = wanted;
      await saveIdentity(app.identity);
      if (result.status === "admitted") await ctx.becameMember();
      else ctx.markPending();
    } catch (error) {
      message.textContent = errorText(error);
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("join.title", { community: app.community.name }) }),
    h("p", { text: t("join.intro") }),
    form,
  );
}

function pending(ctx) {
  const message = h("p", { role: "status" });
  const check = async () => {
    try {
      await ctx.becameMember();
      return true;
    } catch (error) {
      if (error.code !== "join_pending") message.textContent = errorText(error);
      return false;
    }
  };
  const section = h(
    "section",
    { class: "card" },
    h("h1", { text: t("join.pending_title") }),
    h("p", { text: t("join.pending_text", { handle: app.identity.handle }) }),
    h("p", { class: "muted", text: t("join.key_fingerprint", { fingerprint: fingerprint(app.identity.publicKey) }) }),
    message,
    h("button", { type: "button", text: t("join.check_again"), on: { click: check } }),
  );
  const timer = setInterval(async () => {
    if (!section.isConnected) {
      clearInterval(timer);
      return;
    }
    if (await check()) clearInterval(timer);
  }, POLL_MS);
  return section;
}
