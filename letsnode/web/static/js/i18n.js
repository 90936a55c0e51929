// Catalogs, language switching and locale formatting. Every string the wallet shows comes
// from /locales/<lang>.json; amounts, units and dates are formatted with Intl for that
// language ("2,5 horas", "٢٫٥ ساعة", "31/12/2026").

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

// Digits people may type on their phone's keyboard (Arabic-Indic, Persian) as ASCII, and
// the Arabic decimal separator as a point.
export function asciiDigits(text) {
  return text
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/\u066b/g, ".")
    .replace(/\u066c/g, "");
}

// The number of an amount (an exact decimal string such as "-12.50") in this language,
// without trailing zeros: "12.5", "12,5", "١٢٫٥".
export function formatNumber(decimal, scale) {
  const nf = new Intl.NumberFormat(lang, { minimumFractionDigits: 0, maximumFractionDigits: scale });
  return nf.format(decimal);
}

// The word for a unit that goes with ``decimal``: forms are CLDR plural categories
// (one, other, ...) as the community named its unit; none means the unit code itself.
export function unitWord(decimal, scale, unit, forms) {
  if (!forms) return unit;
  const rules = new Intl.PluralRules(lang, { minimumFractionDigits: 0, maximumFractionDigits: scale });
  const magnitude = Math.abs(Number(decimal));
  return forms[rules.select(magnitude)] || forms.other || unit;
}

// Amounts travel as exact decimal strings ("-12.50"); Intl formats strings exactly.
export function formatAmount(decimal, scale, unit, forms) {
  if (decimal === null || decimal === undefined) return t("common.none");
  let number = formatNumber(decimal, scale);
  // In a right-to-left page the number keeps its sign on the left ("-2.5", not "2.5-"):
  // it is isolated as left to right, and the words around it follow the page.
  // (Intl's Arabic marks the minus with U+061C, which would turn it the other way.)
  if (LANGUAGES[lang].dir === "rtl") number = `\u2066${number.replace(/\u061c/g, "")}\u2069`;
  if (!unit) return number;
  return t("common.amount_unit", { amount: number, unit: unitWord(decimal, scale, unit, forms) });
}

export function formatDate(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

export function formatDay(iso) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(new Date(iso));
}

// How this language writes a day with digits: the order of day, month and year and the
// separator, read from Intl ("31/12/2026", "12/31/2026", "31.12.2026").
export function dayPattern() {
  const parts = new Intl.DateTimeFormat(lang, {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    numberingSystem: "latn",
  }).formatToParts(new Date(Date.UTC(2026, 11, 31, 12)));
  const order = parts.filter((p) => ["day", "month", "year"].includes(p.type)).map((p) => p.type);
  const literal = parts.find((p) => p.type === "literal");
  return { order, separator: literal ? literal.value.trim() || "/" : "/" };
}

// "2026-12-31" -> the member's way of writing it, in ASCII digits ("31/12/2026").
export function writeDay(isoDay) {
  if (!isoDay) return "";
  const [year, month, day] = isoDay.split("-");
  const { order, separator } = dayPattern();
  const values = { day, month, year };
  return order.map((name) => values[name]).join(separator);
}

// The member's way of writing a day -> "2026-12-31", or null when it is not a real day.
export function readDay(text) {
  const digits = asciiDigits(text).trim();
  if (!digits) return "";
  const pieces = digits.split(/[^0-9]+/).filter(Boolean);
  if (pieces.length !== 3) return null;
  const { order } = dayPattern();
  const values = {};
  order.forEach((name, i) => {
    values[name] = Number(pieces[i]);
  });
  const { day, month, year } = values;
  if (year < 1000 || month < 1 || month > 12 || day < 1) return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1) return null;
  return date.toISOString().slice(0, 10);
}
