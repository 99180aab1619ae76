// Overview: backend health, loaded models against the budget, today's traffic, avoided cloud cost.

import * as api from "../api.js";
import { card, empty, h, kpi, meter, pageHead, replace, statusPill, verdictPill, whereChip } from "../dom.js";
import * as fmt from "../format.js";

const REFRESH_MS = 10000;

function backendList(backends) {
  if (!backends.length) return empty("No backends configured", "Add one to offload.toml (see docs/configuration.md).");
  return h("div", null, backends.map((b) => h("div", { class: "backend", dataset: { backend: b.name } },
    h("span", { class: `dot ${b.ok ? "ok" : "bad"}`, title: b.ok ? "up" : "down" }),
    h("div", null,
      h("span", { class: "name" }, b.name), " ",
      h("span", { class: "chip" }, b.kind), whereChip(!b.cloud),
      b.breaker !== "closed" ? h("span", { class: "pill warn" }, `breaker ${b.breaker}`) : null,
      h("div", { class: "small muted" }, b.models.length ? b.models.join(", ") : "no inventory model")),
    h("div", { class: "right small" },
      b.ok ? h("span", { class: "pill ok" }, "up") : h("span", { class: "pill bad" }, "down"),
      h("div", { class: "muted" }, b.latency_ms !== null ? `${b.latency_ms} ms` : "")),
    !b.ok && (b.hint || b.detail) ? h("div", { class: "hint" }, b.detail, b.hint ? ` — ${b.hint}` : "") : null)));
}

export function vramBlock(loaded, budget, used) {
  const total = budget.gb || 0;
  const parts = loaded.filter((m) => m.vram_gb > 0).map((m, i) => ({
    pct: total ? (100 * m.vram_gb) / total : 0, cls: `seg-${i % 6}`, title: `${m.name}: ${fmt.gb(m.vram_gb)}`,
  }));
  const over = total && used > total;
  return h("div", null,
    h("div", { class: "row small" },
      h("b", null, `${fmt.gb(used)} of ${fmt.gb(total)} ${budget.device}`),
      h("span", { class: "muted" }, `budget from ${budget.source}${budget.detail ? ` · ${budget.detail}` : ""}`),
      over ? h("span", { class: "pill bad" }, "over budget") : null),
    h("div", { class: "progress" }, meter(parts, { big: true })),
    h("div", { class: "loaded-list" }, loaded.map((m, i) => h("div", { class: "loaded-item", dataset: { model: m.name } },
      h("i", { class: m.vram_gb > 0 ? `seg-${i % 6}` : "" }),
      h("div", null, h("b", null, m.name), h("div", { class: "small muted" }, `on ${m.backend} · unloads ${m.expires_in}`)),
      h("div", { class: "num" }, m.vram_gb > 0 ? fmt.gb(m.vram_gb) : "in RAM")))),
    loaded.length ? null : h("div", { class: "muted small" }, "Nothing is loaded right now: the first request loads its model."));
}

function recentTable(rows) {
  if (!rows.length) return empty("No requests yet", "Point a client at this gateway, or try the Playground.");
  return h("table", { class: "data" },
    h("thead", null, h("tr", null, ["Time", "Status", "Model", "Verdict", "Latency"].map((c) => h("th", null, c)))),
    h("tbody", null, rows.map((r) => {
      const tr = h("tr", { class: "click" },
        h("td", { class: "nowrap" }, fmt.time(r.created_at)), h("td", null, statusPill(r.status)),
        h("td", null, r.model || r.model_requested, " ", whereChip(r.local)), h("td", null, verdictPill(r.verdict)),
        h("td", { class: "num" }, fmt.seconds(r.latency_s)));
      tr.addEventListener("click", () => { location.hash = `#/requests/${encodeURIComponent(r.id)}`; });
      return tr;
    })));
}

function draw(root, d) {
  const t = d.today;
  const answered = t.ok || 0;
  replace(root,
    pageHead("Overview", `What runs where, right now · offload ${d.version}`),
    h("div", { class: "grid kpis" },
      kpi("Requests today", fmt.num(t.requests),
        [h("b", null, fmt.num(t.ok)), " answered · ", h("b", null, fmt.num(t.errors)), " failed",
          d.pending ? [" · ", h("b", null, fmt.num(d.pending)), " in flight"] : null]),
      kpi("Local acceptance", answered ? fmt.pct(t.local_acceptance_rate) : "—",
        answered ? [h("b", null, fmt.num(t.local_accepted)), ` of ${fmt.num(answered)} answered locally`] : "nothing answered today"),
      kpi("Avoided cloud cost today", fmt.usd(d.avoided.today),
        [h("b", null, fmt.usd(d.avoided["7d"])), " in 7 days · ", h("b", null, fmt.usd(d.avoided.all)), " all time"]),
      kpi("Tokens today", fmt.compact(t.tokens_local + t.tokens_cloud),
        [h("b", null, fmt.compact(t.tokens_local)), " local · ", h("b", null, fmt.compact(t.tokens_cloud)), " cloud"])),
    h("div", { class: "grid two" },
      card("Backends", backendList(d.backends), { flush: true, id: "backends" }),
      card("Loaded models", vramBlock(d.loaded, d.budget, d.vram_used_gb), { id: "loaded" })),
    h("div", { class: "stack" }, h("div"),
      card("Recent requests", recentTable(d.recent), {
        flush: true, actions: h("a", { href: "#/requests", class: "small" }, "all requests →"),
      })));
}

export async function mount(root) {
  let timer = null;
  let alive = true;
  const load = async () => {
    const d = await api.get("/overview");
    if (alive) draw(root, d);
  };
  await load();
  timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  let pending = null;
  const off = api.onLive("request", () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; load().catch(() => {}); }, 2500);
  });
  return () => { alive = false; clearInterval(timer); clearTimeout(pending); off(); };
}
