// Amounts typed by people -> exact integer minor units (BigInt). No floats anywhere.

import { asciiDigits } from "./i18n.js";

export class AmountError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

// Accepts "12", "12.5", "12,5" (a comma is a decimal mark in many of our languages) and
// the digits of an Arabic keyboard ("١٢٫٥").
export function parseAmount(text, scale) {
  const clean = asciiDigits(text).trim().replace(/\s/g, "").replace(",", ".");
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(clean);
  if (!match) throw new AmountError("amount_format");
  const frac = match[2] || "";
  if (frac.length > scale) throw new AmountError("amount_decimals");
  const minor = BigInt(match[1]) * 10n ** BigInt(scale) + BigInt(frac.padEnd(scale, "0") || "0");
  if (minor <= 0n) throw new AmountError("amount_positive");
  if (minor > 0x7fffffffffffffffn) throw new AmountError("amount_format");
  return minor;
}

// Minor units -> the decimal string the API uses ("1.50").
export function toDecimal(minor, scale) {
  const negative = minor < 0n;
  let digits = (negative ? -minor : minor).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, "0");
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return (negative ? "-" : "") + digits;
}

// The API's decimal string -> minor units.
export function toMinor(decimal, scale) {
  const negative = decimal.startsWith("-");
  const [whole, frac = ""] = (negative ? decimal.slice(1) : decimal).split(".");
  const minor = BigInt(whole) * 10n ** BigInt(scale) + BigInt(frac.padEnd(scale, "0") || "0");
  return negative ? -minor : minor;
}
