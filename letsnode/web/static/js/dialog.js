// Asking before doing something that cannot be taken back with one tap (freezing,
// closing an account): a modal <dialog>, which keeps the keyboard inside it, closes with
// Escape and gives the focus back to the button that opened it.

import { h } from "./dom.js";
import { t } from "./i18n.js";

let count = 0;

// confirmDialog({ title, text, confirm, danger, typeToConfirm }) -> Promise<boolean>
export function confirmDialog({ title, text, confirm, danger = false, typeToConfirm = "" }) {
  count += 1;
  const titleId = `dialog-title-${count}`;
  const textId = `dialog-text-${count}`;
  const opener = document.activeElement;
  const typed = typeToConfirm
    ? h("input", {
        id: `dialog-input-${count}`,
        autocomplete: "off",
        autocapitalize: "none",
        spellcheck: "false",
      })
    : null;
  const ok = h("button", {
    type: "submit",
    class: danger ? "primary danger" : "primary",
    text: confirm,
    disabled: Boolean(typeToConfirm),
  });
  const cancel = h("button", { type: "button", value: "cancel", text: t("common.cancel") });
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: titleId, text: title }),
    h("p", { id: textId, text }),
    typed
      ? h(
          "div",
          { class: "field" },
          h("label", { for: typed.id, text: t("common.type_to_confirm", { word: typeToConfirm }) }),
          typed,
        )
      : null,
    h("div", { class: "actions" }, ok, cancel),
  );
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": titleId, "aria-describedby": textId },
    form,
  );
  if (typed) {
    typed.addEventListener("input", () => {
      ok.disabled = typed.value.trim().toLowerCase() !== typeToConfirm;
    });
  }
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    form.addEventListener("submit", () => {
      answer = !ok.disabled;
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    });
    dialog.showModal();
    (typed || cancel).focus();
  });
}
