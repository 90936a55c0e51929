// Stewards: clearing rounds between communities. Whether this community signs rounds, a
// round run now, the rounds run or joined, and the chart of a round's line use.

import { api } from "../api.js";
import { errorText, money } from "../app.js";
import { clear, h } from "../dom.js";
import { formatDate, t } from "../i18n.js";

const STATES = ["committed", "aborted", "empty", "proposing", "voted", "refused"];

export function render(params, ctx) {
  const message = h("p", { class: "error", role: "alert" });
  const policyBox = h("div");
  const runBox = h("div");
  const rounds = h("div", { "aria-live": "polite" });
  const chart = h("div", { class: "chart" });
  let selected = params.get("round") || "";

  const progress = h("p", { class: "progress", hidden: true, text: t("clearing.running") });
  const result = h("div", { role: "status" });
  const runButton = h("button", { type: "button", class: "primary", text: t("clearing.run") });
  const noFederation = h("p", { class: "muted", hidden: true, text: t("clearing.no_federation") });
  runButton.addEventListener("click", async () => {
    message.textContent = "";
    runButton.disabled = true;
    clear(result);
    progress.hidden = false;
    try {
      const report = await api("POST", "/api/admin/clearing/run");
      progress.hidden = true;
      clear(result).append(...reportLines(report));
      selected = report.round;
    } catch (error) {
      progress.hidden = true;
      clear(result).append(h("p", { class: "error", text: errorText(error) }));
    }
    runButton.disabled = false;
    await load().catch(showError);
  });
  clear(runBox).append(noFederation, runButton, progress, result);

  const showError = (error) => {
    message.textContent = errorText(error);
  };

  const load = async () => {
    const state = await api("GET", "/api/admin/clearing");
    clear(policyBox).append(...policyControls(state.policy));
    noFederation.hidden = state.federation;
    runButton.disabled = !state.federation;
    if (!state.rounds.some((r) => r.round === selected)) {
      selected = state.rounds.length ? state.rounds[0].round : "";
    }
    clear(rounds).append(roundTable(state.rounds));
    showChart(state.rounds.find((r) => r.round === selected));
  };

  const policyControls = (policy) => {
    const accept = policy === "accept";
    const box = h("input", { type: "checkbox", role: "switch", id: "clearing-policy", checked: accept });
    box.addEventListener("change", async () => {
      message.textContent = "";
      box.disabled = true;
      try {
        await api("POST", "/api/admin/clearing/policy", { policy: box.checked ? "accept" : "refuse" });
        ctx.toast(t(box.checked ? "clearing.policy_accept" : "clearing.policy_refuse"));
      } catch (error) {
        showError(error);
      }
      await load().catch(showError);
    });
    return [
      h("p", { class: "switch" }, box, h("label", { for: "clearing-policy", text: t("clearing.policy_label") })),
      h("p", { class: accept ? "muted" : "warning", text: t(accept ? "clearing.policy_accept" : "clearing.policy_refuse") }),
    ];
  };

  const roundTable = (list) => {
    if (!list.length) return h("p", { class: "muted", text: t("clearing.no_rounds") });
    const head = ["clearing.time", "clearing.state", "clearing.cleared", "clearing.lines", "clearing.reason"];
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "rounds" },
        h("caption", { class: "sr-only", text: t("clearing.rounds") }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            head.map((key) => h("th", { scope: "col", text: t(key) })),
            h("th", { scope: "col", text: t("clearing.show_plot") }),
          ),
        ),
        h("tbody", {}, list.map(roundRow)),
      ),
    );
  };

  const roundRow = (r) => {
    const date = formatDate(r.started);
    const state = STATES.includes(r.state) ? t(`clearing.state_${r.state}`) : r.state;
    const current = r.round === selected;
    return h(
      "tr",
      { class: current ? "selected" : undefined, "aria-current": current ? "true" : undefined },
      h(
        "td",
        {},
        h("time", { datetime: r.started, text: date }),
        h("span", { class: "muted", text: t(r.role === "coordinator" ? "clearing.role_coordinator" : "clearing.role_participant") }),
      ),
      h("td", {}, h("span", { class: `state ${r.state}`, text: state })),
      h("td", { class: `amount ${r.state === "committed" ? "" : "not-applied"}`, text: money(r.cleared) }),
      h("td", { class: "amount", text: String(r.lines) }),
      h("td", { text: r.reason }),
      h(
        "td",
        {},
        h("button", {
          type: "button",
          text: t("clearing.show_plot"),
          "aria-label": t("clearing.show_plot_named", { date }),
          "aria-pressed": current ? "true" : "false",
          on: {
            click: () => {
              selected = r.round;
              load().catch(showError);
            },
          },
        }),
      ),
    );
  };

  const showChart = (r) => {
    if (!r) {
      clear(chart);
      return;
    }
    const date = formatDate(r.started);
    const src = `/api/admin/clearing/${r.round}/plot.png`;
    clear(chart).append(
      h("h2", { text: t("clearing.plot_title", { date }) }),
      // The chart links to itself: on a phone it opens full size.
      h("a", { href: src, target: "_blank", rel: "noopener" }, h("img", { class: "plot", src, alt: t("clearing.plot_alt", { date }) })),
    );
  };

  load().catch(showError);
  return h(
    "section",
    {},
    h("h1", { text: t("clearing.title") }),
    h("p", { class: "muted", text: t("clearing.intro") }),
    message,
    h("div", { class: "card" }, h("h2", { text: t("clearing.policy") }), policyBox),
    h("div", { class: "card" }, h("h2", { text: t("clearing.run_title") }), runBox),
    h("div", { class: "card" }, h("h2", { text: t("clearing.rounds") }), rounds, chart),
  );
}

function reportLines(report) {
  const lines = [];
  if (report.state === "committed") {
    lines.push(h("p", { class: "success", text: t("clearing.result_committed", { amount: money(report.cleared) }) }));
  } else if (report.state === "aborted") {
    lines.push(h("p", { class: "error", text: t("clearing.result_aborted", { reason: report.reason }) }));
  } else {
    lines.push(h("p", { text: t("clearing.result_empty") }));
  }
  lines.push(
    h("p", {
      class: "muted",
      text: t("clearing.result_reach", { communities: report.communities, unreachable: report.unreachable }),
    }),
  );
  return lines;
}
