// Bench: the result sets of `offload bench run`, their pass rates per profile, and their reports.

import * as api from "../api.js";
import { actionButton, card, empty, h, meter, pageHead, replace, toast } from "../dom.js";
import * as fmt from "../format.js";

function reportHref(id) {
  return `/ui/bench/report?${new URLSearchParams({ set: id })}`;
}

function setCard(s, reload) {
  if (s.error) return card(s.id, h("div", { class: "callout bad" }, s.error));
  const actions = [];
  if (s.report) {
    actions.push(h("a", { class: "btn small primary", href: reportHref(s.id), target: "_blank", rel: "noopener noreferrer" }, "Open report ↗"));
  }
  actions.push(actionButton(s.report ? "Rewrite report" : "Write report", async () => {
    await api.post("/bench/report", { set: s.id });
    toast(`Report written for ${s.id}`, { kind: "ok" });
    await reload();
  }, { cls: "btn small" }));
  const profiles = h("table", { class: "data" },
    h("thead", null, h("tr", null, ["Profile", "Cases", "Passed", "Pass rate", "", "Spend"].map((c) => h("th", null, c)))),
    h("tbody", null, s.profiles.map((p) => h("tr", null, h("td", null, p.profile), h("td", { class: "num" }, p.cases),
      h("td", { class: "num" }, p.passed), h("td", { class: "num" }, fmt.pct(p.pass_rate, 1)),
      h("td", { style: { width: "30%" } }, meter([{ pct: p.pass_rate * 100, cls: "fill ok" }])),
      h("td", { class: "num" }, fmt.usd(p.cost_usd))))));
  return h("section", { class: "card", dataset: { set: s.id } },
    h("header", null, h("div", null, h("h2", null, s.id),
      h("div", { class: "small muted" }, `${s.suites.join(", ") || "no suite"} · ${s.cases} cases · ${s.passed} passed · updated ${fmt.ago(s.modified_at)}`)),
      h("div", { class: "row" }, actions)),
    h("div", { class: "body flush" }, profiles),
    h("div", { class: "body small muted mono" }, s.path));
}

export async function mount(root) {
  let alive = true;
  const reload = async () => {
    const d = await api.get("/bench");
    if (!alive) return;
    replace(root,
      pageHead("Bench", "How well your local models (and planner + builder pairs) solve coding tasks, measured."),
      d.sets.length ? h("div", { class: "stack", id: "bench-sets" }, d.sets.map((s) => setCard(s, reload)))
        : card(null, empty("No bench results yet", h("span", null, "Run one: ", h("code", null, "offload bench run --suite humaneval --profile qwen2.5-coder-7b --limit 10")),
          `Result sets are looked for in ${d.roots.join(", ")} (set OFFLOAD_BENCH_RESULTS to look elsewhere).`)));
  };
  await reload();
  return () => { alive = false; };
}
