// More: the screens that do not need a tab of their own — offers and wants, security (the
// member's key), installing the wallet as an app, and the stewards' screens.

import { app } from "../app.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";

function item(href, name, label, hint) {
  return h(
    "li",
    {},
    h(
      "a",
      { href, class: "menu-item" },
      icon(name),
      h("span", { class: "menu-text" }, h("span", { class: "menu-label", text: label }), hint ? h("span", { class: "hint", text: hint }) : null),
      icon("forward", "icon chevron"),
    ),
  );
}

export function render(params, ctx) {
  const items = [
    item("#/offers", "offers", t("nav.offers"), t("more.offers_hint")),
    item("#/security", "shield", t("nav.security"), t("more.security_hint")),
  ];
  const stewardItems = app.me.steward
    ? [
        item("#/admin", "stewards", t("nav.admin"), t("more.admin_hint")),
        item("#/admin/units", "units", t("nav.units"), t("more.units_hint")),
        item("#/clearing", "clearing", t("nav.clearing"), t("more.clearing_hint")),
      ]
    : [];
  const prompt = ctx.installPrompt();
  const install = prompt
    ? h(
        "button",
        {
          type: "button",
          class: "menu-item",
          on: {
            click: async () => {
              prompt.prompt();
              await prompt.userChoice.catch(() => null);
              ctx.installed();
              install.remove();
            },
          },
        },
        icon("install"),
        h("span", { class: "menu-text" }, h("span", { class: "menu-label", text: t("more.install") }), h("span", { class: "hint", text: t("more.install_hint") })),
      )
    : null;
  return h(
    "section",
    {},
    h("h1", { text: t("more.title") }),
    h("nav", { "aria-label": t("more.title") }, h("ul", { class: "menu card" }, items)),
    stewardItems.length
      ? h("nav", { "aria-label": t("more.stewards") }, h("h2", { text: t("more.stewards") }), h("ul", { class: "menu card" }, stewardItems))
      : null,
    install ? h("div", { class: "menu card" }, install) : null,
  );
}
