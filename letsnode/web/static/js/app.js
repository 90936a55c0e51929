// Shared state of the running wallet: the community, the signed-in member, live events.

import { api } from "./api.js";
import { currentLanguage, formatAmount, t } from "./i18n.js";

export const app = {
  community: null,
  me: null,
  identity: null,
  events: new EventTarget(),
  source: null,
};

// An amount of this community's unit, in the member's words: "2.5 hours", "2,5 horas".
export function money(decimal) {
  const c = app.community;
  const forms = (c.unit_names || {})[currentLanguage()];
  return formatAmount(decimal, c.scale, c.unit, forms);
}

// The unit's name in the member's language, as a heading says it ("hours", "horas").
export function unitName() {
  const forms = (app.community.unit_names || {})[currentLanguage()];
  return forms ? forms.other : app.community.unit;
}

// An amount of another community's unit (its own code: the names are this community's).
export function foreignMoney(decimal, scale, unit) {
  if (unit === app.community.unit) return money(decimal);
  return formatAmount(decimal, scale, unit, null);
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

// Whether the browser thinks it has a connection (payments and balances need one).
export function isOnline() {
  return navigator.onLine !== false;
}
