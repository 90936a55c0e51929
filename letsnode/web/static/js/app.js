// Shared state of the running wallet: the community, the signed-in member, live events.

import { api } from "./api.js";
import { formatAmount, t } from "./i18n.js";

export const app = {
  community: null,
  me: null,
  identity: null,
  events: new EventTarget(),
  source: null,
};

export function money(decimal) {
  return formatAmount(decimal, app.community.scale, app.community.unit);
}

export async function refreshMe() {
  app.me = await api("GET", "/api/me");
  app.events.dispatchEvent(new CustomEvent("me"));
  return app.me;
}

// Live updates: the node pushes an event for every entry that touches this member.
export function listen(onEntry) {
  if (app.source) app.source.close();
  app.source = new EventSource("/api/events");
  app.source.addEventListener("entry", (message) => onEntry(JSON.parse(message.data)));
}

export function stopListening() {
  if (app.source) app.source.close();
  app.source = null;
}

export function errorText(error) {
  const key = `error.${error.code}`;
  const text = t(key);
  return text === key ? t("error.generic", { detail: error.detail || error.code }) : text;
}
