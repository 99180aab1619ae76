// Savings: avoided cloud cost and tokens per day, per model and per task kind; verified vs unverified.

import * as api from "../api.js";
import { donut, hBars, legend, stackedBars } from "../charts.js";
import { card, empty, h, kpi, pageHead, replace, select } from "../dom.js";
import * as fmt from "../format.js";

/** Axis ticks in dollars with enough digits to tell them apart (``max`` is the axis top). */
function usdTick(v, max = v) {
  const digits = max >= 10 ? 0 : max >= 1 ? 2 : Math.min(6, Math.ceil(-Math.log10(max || 1)) + 2);
  return fmt.usd(v, digits);
}

function kindLabel(key) {
  return key === "unknown" ? "not tagged" : key.replace(/_/g, " ");
}

const RANGES = [["7", "last 7 days"], ["30", "last 30 days"], ["90", "last 90 days"]];

function draw(root, d, days, onRange) {
  const t = d.total;
  const answeredLocal = t.verified_local + t.unverified_local;
  const cloudAnswers = Math.max(0, t.ok - answeredLocal);
  const byDay = d.by_day;
  const anything = t.requests > 0;
  replace(root,
    pageHead("Savings", "What answering locally saved, priced at cloud rates. Only verified local answers count as saved.",
      select(RANGES, String(days), onRange, { "aria-label": "range", id: "range" })),
    h("div", { class: "grid kpis" },
      kpi("Avoided cloud cost", fmt.usd(t.avoided_usd), [h("b", null, fmt.usd(d.avoided.today)), " today · ",
        h("b", null, fmt.usd(d.avoided["7d"])), " 7 days · ", h("b", null, fmt.usd(d.avoided.all)), " all time"]),
      kpi("Cloud spend", fmt.usd(t.cloud_spend_usd), `${fmt.num(t.attempts)} attempts in the period`),
      kpi("Tokens kept local", fmt.compact(t.tokens_local), [h("b", null, fmt.compact(t.tokens_cloud)), " went to the cloud"]),
      kpi("Local answers verified", answeredLocal ? fmt.pct(t.verified_local / answeredLocal) : "—",
        [h("b", null, fmt.num(t.verified_local)), " verified · ", h("b", null, fmt.num(t.unverified_local)), " unverified",
          t.unverified_avoided_usd ? ` (${fmt.usd(t.unverified_avoided_usd)} not counted)` : ""])),
    anything ? null : h("div", { class: "callout info", style: { marginBottom: "16px" } },
      "No requests in this period yet. Savings appear as soon as local models answer requests."),
    h("div", { class: "stack" },
      card("Avoided cloud cost per day", h("div", { id: "chart-avoided" },
        stackedBars(byDay.map((r) => ({ label: fmt.shortDay(r.key), values: [r.avoided_usd] })),
          [{ name: "avoided", cls: "bar-avoided" }], { fmt: usdTick }),
        legend([["avoided", "verified local answers, priced at the reference cloud model"]]))),
      card("Tokens per day: local vs cloud", h("div", { id: "chart-tokens" },
        stackedBars(byDay.map((r) => ({ label: fmt.shortDay(r.key), values: [r.tokens_local, r.tokens_cloud] })),
          [{ name: "local", cls: "bar-local" }, { name: "cloud", cls: "bar-cloud" }], { fmt: fmt.compact }),
        legend([["local", "local tokens"], ["cloud", "cloud tokens"]]))),
      h("div", { class: "grid two" },
        card("By model", d.by_model.length ? h("div", { id: "chart-models" },
          hBars(d.by_model.map((r) => ({ label: r.key, values: [r.tokens_local, r.tokens_cloud],
            note: `${fmt.compact(r.tokens_local + r.tokens_cloud)} tok · ${fmt.usd(r.avoided_usd)} saved` })),
          [{ name: "local", cls: "bar-local" }, { name: "cloud", cls: "bar-cloud" }], { fmt: fmt.compact }),
          legend([["local", "local tokens"], ["cloud", "cloud tokens"]])) : empty("No model has answered yet")),
        card("By task kind", d.by_kind.length ? h("div", { id: "chart-kinds" },
          hBars(d.by_kind.map((r) => ({ label: kindLabel(r.key),
            values: [r.verified_local, r.unverified_local, Math.max(0, r.ok - r.local_accepted)],
            note: `${fmt.num(r.requests)} req · ${fmt.usd(r.avoided_usd)}` })),
          [{ name: "verified local", cls: "bar-verified" }, { name: "unverified local", cls: "bar-unverified" },
            { name: "cloud", cls: "bar-cloud" }], { fmt: fmt.num }),
          legend([["verified", "verified local"], ["unverified", "unverified local"], ["cloud", "answered by the cloud"]]))
          : empty("No task has run yet"))),
      card("Verified vs unverified", h("div", { class: "donut-row", id: "chart-verdicts" },
        donut([{ name: "verified local", value: t.verified_local, cls: "stroke-verified" },
          { name: "unverified local", value: t.unverified_local, cls: "stroke-unverified" },
          { name: "cloud", value: cloudAnswers, cls: "stroke-cloud" }], fmt.num(t.ok)),
        h("div", null,
          h("p", null, h("b", null, fmt.num(t.ok)), " answered requests in the period: ", h("b", null, fmt.num(t.verified_local)),
            " verified locally, ", h("b", null, fmt.num(t.unverified_local)), " answered locally without a check, ",
            h("b", null, fmt.num(cloudAnswers)), " answered by the cloud."),
          h("p", { class: "muted small" }, "A local answer is verified when a check ran and passed (JSON schema, the code parses and ",
            "defines what was asked, examples and tests pass). Unverified local answers are reported, never counted as saved."),
          legend([["verified", "verified local"], ["unverified", "unverified local"], ["cloud", "cloud"]]))))));
}

export async function mount(root) {
  let days = 30;
  let alive = true;
  const load = async () => {
    const d = await api.get("/savings", { days });
    if (alive) draw(root, d, days, (v) => { days = Number(v); load(); });
  };
  await load();
  return () => { alive = false; };
}
