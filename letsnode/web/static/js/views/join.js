// Joining: the browser makes the member's key, then asks to join with a name. With an
// invite the account opens at once; otherwise a steward decides, and the waiting page
// hears the decision live from the node (no asking again and again).

import { api } from "../api.js";
import { app, errorText } from "../app.js";
import { field, h } from "../dom.js";
import { t } from "../i18n.js";
import { newIdentity, saveIdentity } from "../keys.js";
import { askToJoin } from "../session.js";

export function render(params, ctx) {
  if (ctx.status === "pending") return pending(ctx);
  if (ctx.status === "rejected") return rejected();
  return joinForm(params, ctx);
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
  const button = h("button", { type: "submit", class: "primary big", text: t("join.submit") });
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
  let source = null;
  const decided = async (status) => {
    if (source) source.close();
    source = null;
    if (status === "approved") {
      try {
        await ctx.becameMember();
      } catch (error) {
        message.textContent = errorText(error);
      }
    } else if (status === "rejected") {
      ctx.markPending("rejected");
    }
  };
  const checkNow = async () => {
    message.textContent = "";
    try {
      const known = await api("GET", "/api/session");
      if (known.join && known.join.status !== "pending") await decided(known.join.status);
      else message.textContent = t("join.still_waiting");
    } catch (error) {
      message.textContent = errorText(error);
    }
  };
  const section = h(
    "section",
    { class: "card" },
    h("h1", { text: t("join.pending_title") }),
    h("p", { text: t("join.pending_text", { handle: app.identity.handle }) }),
    h("p", { class: "muted", text: t("join.pending_security") }),
    message,
    h("button", { type: "button", text: t("join.check_again"), on: { click: checkNow } }),
  );
  source = new EventSource("/api/join/events");
  source.addEventListener("join", (event) => {
    if (!section.isConnected) {
      source.close();
      return;
    }
    const { status } = JSON.parse(event.data);
    if (status !== "pending") decided(status);
  });
  return section;
}

function rejected() {
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("join.rejected_title") }),
    h("p", { text: t("join.rejected_text", { handle: app.identity.handle }) }),
  );
}
