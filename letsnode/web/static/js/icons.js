// Line icons, drawn as SVG elements in the page (no files, nothing inline for the CSP to
// refuse); they take the colour of their text and are hidden from screen readers, which
// read the label beside them.

const NS = "http://www.w3.org/2000/svg";

const PATHS = {
  home: ["M3 11.5 12 4l9 7.5", "M5.5 9.5V20h5v-6h3v6h5V9.5"],
  pay: ["M4 12h14", "M13 6l6 6-6 6"],
  request: ["M20 12H6", "M11 6l-6 6 6 6"],
  history: ["M12 7v5l3 2", "M3.5 12a8.5 8.5 0 1 0 2.6-6.1", "M3 4v4h4"],
  more: ["M5 12h.01", "M12 12h.01", "M19 12h.01"],
  scan: ["M4 8V5h3", "M17 5h3v3", "M20 16v3h-3", "M7 19H4v-3", "M7 12h10"],
  shield: ["M12 3 5 6v5c0 4.5 3 8 7 10 4-2 7-5.5 7-10V6z", "M9 12l2 2 4-4"],
  offers: ["M3 12V4h8l9 9-8 8z", "M7.5 8h.01"],
  stewards: ["M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6", "M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6", "M16 5.5a3 3 0 0 1 0 5.5", "M18 14.5c1.8.9 3 2.9 3 5.5"],
  clearing: ["M4 12a8 8 0 0 1 14-5.3", "M18 3v4h-4", "M20 12a8 8 0 0 1-14 5.3", "M6 21v-4h4"],
  units: ["M4 7h16", "M4 12h10", "M4 17h6"],
  install: ["M12 4v11", "M7 10l5 5 5-5", "M5 20h14"],
  receipt: ["M6 3h12v18l-3-2-3 2-3-2-3 2z", "M9 8h6", "M9 12h6"],
  back: ["M15 6l-6 6 6 6"],
  forward: ["M9 6l6 6-6 6"],
  person: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8", "M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
  offline: ["M3 3l18 18", "M8.5 16.5a5 5 0 0 1 7 0", "M5 12.5a10 10 0 0 1 4-2.4", "M12 20h.01", "M15.5 10.5A10 10 0 0 1 19 12.5"],
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `${className} icon-${name}`);
  for (const d of PATHS[name] || []) {
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
