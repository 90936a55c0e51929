// Paying, step one: whom (a member found by name, a recent payee, a scanned payment
// request, or name@community for a member of another community), how much and what for.
// Everything the node would refuse is said here, as the member types (the amount's
// format, the room left above their floor, a payee who does not exist, is frozen or is at
// their ceiling), before the review screen (review.js) where the member signs.

import { api, query } from "../api.js";
import { app, errorText, isOnline, money, unitName } from "../app.js";
import { AmountError, parseAmount, toDecimal } from "../amounts.js";
import { clear, h, uid } from "../dom.js";
import { t } from "../i18n.js";
import { icon } from "../icons.js";

const HANDLE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const PICKER_SIZE = 6;
const CHECK_DELAY_MS = 300;

// A labelled field with a hint and a line for what is wrong (announced as it changes).
export function checkedField(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const note = h("p", { class: "field-note", id: `${id}-note`, "aria-live": "polite" });
  control.setAttribute("aria-describedby", [hintEl ? hintEl.id : null, note.id].filter(Boolean).join(" "));
  const wrap = h("div", { class: "field" }, h("label", { for: id, text: label }), control, hintEl, note);
  return {
    wrap,
    note,
    hintEl,
    error(text) {
      note.textContent = text;
      note.className = "field-note error";
      control.setAttribute("aria-invalid", "true");
    },
    ok(text) {
      note.textContent = text || "";
      note.className = text ? "field-note good" : "field-note";
      control.removeAttribute("aria-invalid");
    },
    clear() {
      note.textContent = "";
      note.className = "field-note";
      control.removeAttribute("aria-invalid");
    },
    get invalid() {
      return control.getAttribute("aria-invalid") === "true";
    },
  };
}

// The payee as the member typed it: a handle here, or handle@community.
export function payeeOf(text) {
  return text.trim();
}

export function offlineNotice() {
  return h(
    "section",
    { class: "card" },
    h("h1", { text: t("pay.title") }),
    h("p", { class: "warning", text: t("offline.pay") }),
  );
}

function payeeLabel(payee) {
  if (!payee) return "";
  if (payee.local) return t("pay.payee_here", { handle: payee.handle, community: app.community.name });
  return t("pay.payee_there", { handle: payee.handle, community: payee.name || payee.short || payee.address });
}

export function render(params, ctx) {
  if (!isOnline()) return offlineNotice();
  const to = h("input", {
    name: "to",
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    enterkeyhint: "next",
    value: params.get("to") || "",
  });
  const amount = h("input", {
    name: "amount",
    inputmode: "decimal",
    autocomplete: "off",
    enterkeyhint: "next",
    dir: "auto", // "-2.5" keeps its sign on the left in Arabic too
    value: params.get("amount") || "",
  });
  const memo = h("input", { name: "memo", maxlength: "200", enterkeyhint: "go", value: params.get("memo") || "" });
  const toField = checkedField(t("pay.to"), to, t("pay.to_hint"));
  const amountField = checkedField(
    t("pay.amount", { unit: unitName() }),
    amount,
    t("pay.available", { amount: money(app.me.available_to_spend) }),
  );
  const memoField = checkedField(t("pay.memo"), memo);
  const pickerTitle = h("p", { class: "label", id: uid("picker"), text: t("pay.members") });
  const picker = h("ul", { class: "picker", "aria-labelledby": pickerTitle.id });
  const pickerBox = h("div", { class: "picker-box" }, pickerTitle, picker);

  let verdict = null; // the node's answer for the current payee and amount
  let asked = 0;
  let timer = null;

  const amountMinor = () => {
    if (!amount.value.trim()) return { minor: null, code: null };
    try {
      return { minor: parseAmount(amount.value, app.community.scale), code: null };
    } catch (error) {
      if (!(error instanceof AmountError)) throw error;
      return { minor: null, code: error.code };
    }
  };

  // What can be said without asking the node: the format, and the room above the floor.
  const checkAmountHere = () => {
    const { minor, code } = amountMinor();
    if (code) {
      amountField.error(t(`error.${code}`, { scale: app.community.scale }));
      return null;
    }
    if (minor !== null && minor > BigInt(app.me.available_to_spend_minor)) {
      amountField.error(t("pay.too_much", { amount: money(app.me.available_to_spend) }));
      return null;
    }
    amountField.clear();
    return minor;
  };

  const checkPayeeHere = () => {
    const payee = payeeOf(to.value);
    if (!payee) {
      toField.clear();
      return null;
    }
    if (payee.includes("@")) {
      if (!/^[A-Za-z0-9-]{1,32}@[A-Za-z0-9-]{1,64}$/.test(payee)) {
        toField.error(t("error.invalid_address"));
        return null;
      }
      return payee;
    }
    const handle = payee.toLowerCase();
    if (!HANDLE.test(handle)) {
      toField.error(t("error.invalid_handle"));
      return null;
    }
    if (handle === app.me.handle) {
      toField.error(t("error.pay_self"));
      return null;
    }
    return handle;
  };

  // The node's verdict on the payee (and the amount, when one is typed). While the member
  // is still typing a name that members' names begin with, an unknown name is no error yet.
  const askNode = async (final = true) => {
    const payee = checkPayeeHere();
    const minor = checkAmountHere();
    verdict = null;
    if (!payee) return;
    const ticket = ++asked;
    const amountText = minor === null ? "" : toDecimal(minor, app.community.scale);
    let answer;
    try {
      answer = await api("GET", `/api/payments/check${query({ to: payee, amount: amountText })}`);
    } catch (error) {
      if (ticket === asked) toField.error(errorText(error));
      return;
    }
    if (ticket !== asked) return; // the member typed on meanwhile
    verdict = { ...answer, to: payee, amount: amountText };
    if (answer.ok) {
      toField.ok(payeeLabel(answer.payee));
      if (minor !== null) amountField.ok(t("pay.leaves", { amount: money(answer.available_after) }));
      return;
    }
    const text = errorText({ code: answer.code, detail: answer.code });
    if (answer.code === "unknown_account" && !final && !pickerBox.hidden) {
      toField.clear();
      return;
    }
    if (["below_floor", "above_ceiling"].includes(answer.code)) {
      toField.ok(payeeLabel(answer.payee));
      amountField.error(text);
    } else {
      toField.error(text);
    }
  };

  const soon = () => {
    clearTimeout(timer);
    verdict = null;
    timer = setTimeout(() => {
      if (to.isConnected) askNode(false);
    }, CHECK_DELAY_MS);
  };

  const fillPicker = async () => {
    const text = to.value.trim().toLowerCase();
    if (text.includes("@")) {
      pickerBox.hidden = true;
      return;
    }
    let members = [];
    try {
      ({ members } = await api("GET", `/api/members${query({ q: text })}`));
    } catch {
      members = []; // the list is a help only: the name can be typed
    }
    const exact = members.some((m) => m.handle === text);
    const shown = exact ? [] : members.slice(0, PICKER_SIZE);
    pickerBox.hidden = shown.length === 0;
    clear(picker).append(
      ...shown.map((m) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "pick",
              // The visible words (name, "recent") are part of the name screen readers say.
              "aria-label": [t("pay.pick", { handle: m.handle }), m.recent ? t("pay.recent") : ""].join(" ").trim(),
              on: {
                click: () => {
                  to.value = m.handle;
                  pickerBox.hidden = true;
                  askNode();
                  amount.focus();
                },
              },
            },
            h("span", { class: "avatar" }, icon("person")),
            h("span", { class: "who", text: m.handle }),
            m.recent ? " " : null,
            m.recent ? h("span", { class: "tag", text: t("pay.recent") }) : null,
          ),
        ),
      ),
    );
  };

  let pickTimer = null;
  to.addEventListener("input", () => {
    soon();
    clearTimeout(pickTimer);
    pickTimer = setTimeout(fillPicker, 150);
  });
  amount.addEventListener("input", soon);
  to.addEventListener("change", () => {
    clearTimeout(timer);
    askNode();
  });

  const continueButton = h("button", { type: "submit", class: "primary big", text: t("pay.review") });
  const form = h(
    "form",
    { novalidate: true },
    toField.wrap,
    pickerBox,
    h("a", { class: "button scan-link", href: "#/scan" }, icon("scan"), h("span", { text: t("pay.scan") })),
    amountField.wrap,
    memoField.wrap,
    continueButton,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    if (!payeeOf(to.value)) toField.error(t("pay.to_missing"));
    if (!amount.value.trim()) amountField.error(t("pay.amount_missing"));
    await askNode(); // the node's word on exactly what is typed now
    if (!payeeOf(to.value)) toField.error(t("pay.to_missing"));
    if (!amount.value.trim()) amountField.error(t("pay.amount_missing"));
    if (toField.invalid) {
      to.focus();
      return;
    }
    if (amountField.invalid) {
      amount.focus();
      return;
    }
    if (!verdict || !verdict.ok) return;
    ctx.go(`#/pay/review${query({ to: verdict.to, amount: verdict.amount, memo: memo.value.trim() })}`);
  });

  fillPicker();
  if (to.value || amount.value) askNode();
  return h("section", { class: "card" }, h("h1", { text: t("pay.title") }), form);
}
