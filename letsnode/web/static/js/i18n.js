// Catalogs, language switching and locale formatting. Every string the wallet shows comes
// from /locales/<lang>.json; amounts and dates are formatted with Intl for that language.

export const LANGUAGES = {
  en: { dir: "ltr" },
  es: { dir: "ltr" },
  el: { dir: "ltr" },
  pt: { dir: "ltr" },
  fr: { dir: "ltr" },
  ar: { dir: "rtl" },
};

let lang = "en";
let catalog = {};
let fallback = {};

async function fetchCatalog(code) {
  const response = await fetch(`/locales/${code}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`no catalog for ${code}`);
  return response.json();
}

export function pickLanguage() {
  const saved = localStorage.getItem("letsnode.lang");
  if (saved && LANGUAGES[saved]) return saved;
  for (const wanted of navigator.languages || []) {
    const code = wanted.slice(0, 2).toLowerCase();
    if (LANGUAGES[code]) return code;
  }
  return "en";
}

export async function setLanguage(code) {
  if (!LANGUAGES[code]) code = "en";
  if (!Object.keys(fallback).length) fallback = await fetchCatalog("en");
  catalog = code === "en" ? fallback : await fetchCatalog(code);
  lang = code;
  localStorage.setItem("letsnode.lang", code);
  document.documentElement.lang = code;
  document.documentElement.dir = LANGUAGES[code].dir;
  document.title = t("app.title");
}

export function currentLanguage() {
  return lang;
}

// t("pay.done", { amount, payee }) -> catalog string with {amount} filled in.
export function t(key, params = {}) {
  const text = catalog[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function has(key) {
  return key in catalog || key in fallback;
}

// Amounts travel as exact decimal strings ("-12.50"); Intl formats strings exactly.
export function formatAmount(decimal, scale, unit) {
  if (decimal === null || decimal === undefined) return t("common.none");
  const nf = new Intl.NumberFormat(lang, {
    minimumFractionDigits: scale,
    maximumFractionDigits: scale,
  });
  const number = nf.format(decimal);
  return unit ? t("common.amount_unit", { amount: number, unit }) : number;
}

export function formatDate(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

export function formatDay(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(new Date(iso));
}
