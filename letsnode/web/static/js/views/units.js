// Stewards: what members see the unit called in each language ("1 hour", "2.5 hours"),
// with a preview; or back to the default name of the unit code.

import { api } from "../api.js";
import { app, errorText } from "../app.js";
import { clear, field, h, select } from "../dom.js";
import { currentLanguage, LANGUAGES, t } from "../i18n.js";
import { icon } from "../icons.js";

const FORMS = ["one", "two", "few", "many", "other"];
const SAMPLES = ["1", "2", "3", "2.5", "11", "100"];

// Which plural forms a language uses (English: one, other; Arabic: all of them).
function formsOf(lang) {
  const rules = new Intl.PluralRules(lang, { maximumFractionDigits: 2 });
  const used = new Set(rules.resolvedOptions().pluralCategories);
  return FORMS.filter((f) => used.has(f) || f === "one" || f === "other");
}

function preview(lang, scale, forms) {
  const rules = new Intl.PluralRules(lang, { minimumFractionDigits: 0, maximumFractionDigits: scale });
  const nf = new Intl.NumberFormat(lang, { maximumFractionDigits: scale });
  return SAMPLES.map((n) => `${nf.format(n)} ${forms[rules.select(Number(n))] || forms.other || ""}`).join(" · ");
}

export async function render(params, ctx) {
  const message = h("p", { class: "error", role: "alert" });
  const box = h("div");
  const langSelect = select(
    Object.keys(LANGUAGES).map((code) => [code, t(`language.${code}`)]),
    params.get("lang") || currentLanguage(),
    { name: "lang" },
  );
  const section = h(
    "section",
    {},
    h("a", { class: "back-link", href: "#/more" }, icon("back"), h("span", { text: t("more.title") })),
    h("h1", { text: t("units.title") }),
    h("p", { text: t("units.intro", { unit: app.community.unit }) }),
    message,
    h("div", { class: "card" }, field(t("units.language"), langSelect), box),
  );
  let names = null;

  const draw = () => {
    const lang = langSelect.value;
    const entry = names.languages[lang];
    const current = entry.forms || {};
    const inputs = {};
    const fields = formsOf(lang).map((form) => {
      inputs[form] = h("input", { name: form, value: current[form] || "", autocomplete: "off", maxlength: "32", lang });
      return field(t(`units.form_${form}`), inputs[form], t(`units.form_${form}_hint`));
    });
    const shown = h("p", { class: "preview", lang, "aria-live": "polite" });
    const update = () => {
      const forms = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value.trim()]));
      shown.textContent = forms.other ? preview(lang, app.community.scale, forms) : "";
    };
    for (const input of Object.values(inputs)) input.addEventListener("input", update);
    update();
    const form = h(
      "form",
      { novalidate: true },
      ...fields,
      h("p", { class: "label", text: t("units.preview") }),
      shown,
      h("p", { class: "muted", text: entry.custom ? t("units.custom") : t("units.is_default") }),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary", text: t("units.save") }),
        entry.custom
          ? h("button", {
              type: "button",
              text: t("units.use_default"),
              on: {
                click: async () => {
                  try {
                    names = await api("DELETE", `/api/admin/unit-names/${lang}`);
                    await refreshCommunity();
                    ctx.toast(t("units.saved"));
                    draw();
                  } catch (error) {
                    message.textContent = errorText(error);
                  }
                },
              },
            })
          : null,
      ),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      const body = {};
      for (const [k, v] of Object.entries(inputs)) if (v.value.trim()) body[k] = v.value.trim();
      try {
        names = await api("PUT", `/api/admin/unit-names/${lang}`, body);
        await refreshCommunity();
        ctx.toast(t("units.saved"));
        draw();
      } catch (error) {
        message.textContent = errorText(error);
      }
    });
    clear(box).append(form);
  };
  const refreshCommunity = async () => {
    app.community = await api("GET", "/api/community");
  };
  langSelect.addEventListener("change", draw);
  try {
    names = await api("GET", "/api/admin/unit-names");
    draw();
  } catch (error) {
    message.textContent = errorText(error);
  }
  return section;
}
