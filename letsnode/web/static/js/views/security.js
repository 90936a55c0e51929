// Security: what the member's key is, where it lives, and the code a steward may ask for.

import { app } from "../app.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";
import { fingerprint } from "../keys.js";

export function render() {
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("security.title") }),
    icon("shield", "icon big"),
    h("p", { text: t("security.key_text") }),
    h("h2", { text: t("security.code_title") }),
    h("p", { class: "code", text: fingerprint(app.identity.publicKey) }),
    h("p", { text: t("security.code_text") }),
    h("h2", { text: t("security.device_title") }),
    h("p", { text: t("security.device_text") }),
    h("details", { class: "technical" }, h("summary", { text: t("security.full_key") }), h("code", { class: "hex", text: app.identity.publicKey })),
  );
}
