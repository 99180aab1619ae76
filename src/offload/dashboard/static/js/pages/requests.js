// Requests: the live journal list with filters, and the detail view of one request (with replay).

import * as api from "../api.js";
import { actionButton, card, clear, empty, h, pageHead, replace, select, statusPill, toast, verdictPill, whereChip } from "../dom.js";
import * as fmt from "../format.js";
import { renderAnswer } from "../highlight.js";

const STATUSES = [["", "any status"], ["ok", "ok"], ["error", "failed"], ["pending", "pending"], ["queued", "queued"],
  ["interrupted", "interrupted"], ["cancelled", "cancelled"]];
const SOURCES = [["", "any source"], ["gateway", "gateway"], ["api", "python api"], ["cli", "cli"], ["mcp", "mcp"],
  ["dashboard", "dashboard"], ["replay", "replay"], ["bench", "bench"]];
const KINDS = [["", "any kind"], ...["chat", "code_generation", "refactor", "test_generation", "debug", "review",
  "fixtures", "mock_api", "summarize", "vision", "embedding"].map((k) => [k, k.replace(/_/g, " ")])];
// The gateway's dialects; the journal's own values (GET /requests?facets=1) are added to these and to the clients.
const DIALECTS = ["openai", "anthropic", "ollama", "responses"];
const LIMIT = 200;

function routeCell(r) {
  if (!r.backend) return h("span", { class: "faint" }, r.attempts ? `${r.attempts} attempt${r.attempts > 1 ? "s" : ""}` : "—");
  return h("span", null, r.backend, " ", whereChip(r.local),
    r.attempts > 1 ? h("span", { class: "chip", title: "attempts" }, `×${r.attempts}`) : null);
}

function modelCell(r) {
  const used = r.model;
  if (!used || used === r.model_requested) return h("span", null, used || r.model_requested);
  return h("span", null, h("span", { class: "muted" }, `${r.model_requested} → `), used);
}

function row(r, fresh) {
  const tr = h("tr", { class: `click${fresh ? " fresh" : ""}`, dataset: { id: r.id, status: r.status } },
    h("td", { class: "nowrap", title: fmt.dateTime(r.created_at) }, fmt.time(r.created_at)),
    h("td", null, statusPill(r.status)),
    h("td", null, r.dialect || h("span", { class: "faint" }, r.source)),
    h("td", null, r.client || h("span", { class: "faint" }, "—")),
    h("td", null, modelCell(r)),
    h("td", null, routeCell(r)),
    h("td", null, verdictPill(r.verdict)),
    h("td", { class: "num" }, fmt.seconds(r.latency_s)),
    h("td", { class: "num" }, fmt.tokens(r.input_tokens, r.output_tokens)),
    h("td", null, h("div", { class: "preview", title: r.preview }, r.preview)));
  tr.addEventListener("click", () => { location.hash = `#/requests/${encodeURIComponent(r.id)}`; });
  return tr;
}

/** Add an option for each value the select does not offer yet (values seen in the journal or the live feed). */
function offer(sel, values) {
  const have = new Set([...sel.options].map((o) => o.value));
  for (const v of values) {
    if (v && !have.has(v)) { sel.append(h("option", { value: v }, v)); have.add(v); }
  }
}

function matches(r, f) {
  if (f.status && r.status !== f.status) return false;
  if (f.source && r.source !== f.source) return false;
  if (f.kind && r.kind !== f.kind) return false;
  if (f.dialect && r.dialect !== f.dialect) return false;
  if (f.client && r.client !== f.client) return false;
  if (f.model && r.model !== f.model && r.model_requested !== f.model) return false;
  if (f.search && !(r.preview || "").toLowerCase().includes(f.search.toLowerCase())) return false;
  return true;
}

async function listPage(root) {
  const filters = { status: "", source: "", model: "", kind: "", dialect: "", client: "", search: "" };
  const rows = new Map();
  const fresh = new Set();
  let paused = false;
  let models = [];
  try { models = (await api.get("/models")).models.map((m) => m.name); } catch { models = []; }

  const tbody = h("tbody");
  const count = h("span", { class: "muted small" });
  const table = h("table", { class: "data", id: "requests-table" },
    h("thead", null, h("tr", null, ["Time", "Status", "Dialect", "Client", "Model", "Route", "Verdict", "Latency", "Tokens", "Prompt"]
      .map((c) => h("th", null, c)))), tbody);
  const emptyBox = h("div");

  function draw() {
    const list = [...rows.values()].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1)).slice(0, LIMIT);
    replace(tbody, list.map((r) => row(r, fresh.has(r.id))));
    fresh.clear();
    count.textContent = `${list.length} shown`;
    replace(emptyBox, list.length ? null : empty("No requests match", "Requests appear here the moment they reach offload."));
  }

  const set = (k) => (v) => { filters[k] = v; load(); };
  const dialectSel = select([["", "any dialect"], ...DIALECTS.map((d) => [d, d])], "", set("dialect"),
    { "aria-label": "dialect", name: "dialect" });
  const clientSel = select([["", "any client"]], "", set("client"), { "aria-label": "client", name: "client" });
  let facets = true;  // the first load also asks which dialects and clients the journal holds

  async function load() {
    const data = await api.get("/requests", { ...filters, limit: LIMIT, facets: facets ? 1 : "" });
    if (data.facets) {
      offer(dialectSel, data.facets.dialect || []);
      offer(clientSel, data.facets.client || []);
      facets = false;
    }
    rows.clear();
    for (const r of data.requests) rows.set(r.id, r);
    draw();
  }

  let searchTimer = null;
  const search = h("input", { type: "search", placeholder: "search prompts and answers", "aria-label": "search" });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { filters.search = search.value.trim(); load(); }, 300);
  });
  const pause = h("button", { class: "btn", type: "button", id: "live-toggle" }, "Pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) load();
  });

  replace(root,
    pageHead("Requests", "Every request, as it happens: where it went, what it cost, whether it was checked.", pause),
    card(null, h("div", null,
      h("div", { class: "row", id: "filters" },
        select(STATUSES, "", set("status"), { "aria-label": "status", name: "status" }),
        select(SOURCES, "", set("source"), { "aria-label": "source", name: "source" }),
        select([["", "any model"], ...models.map((m) => [m, m])], "", set("model"), { "aria-label": "model", name: "model" }),
        select(KINDS, "", set("kind"), { "aria-label": "kind", name: "kind" }),
        dialectSel, clientSel,
        search, h("span", { class: "spacer" }), count)), {}),
    h("div", { class: "card", style: { marginTop: "16px" } }, h("div", { class: "table-wrap" }, table), emptyBox));

  await load();
  const offs = [
    api.onLive("request", (r) => {
      if (paused) return;
      offer(dialectSel, [r.dialect]);
      offer(clientSel, [r.client]);
      if (r.replay_of && rows.has(r.replay_of)) {
        const orig = rows.get(r.replay_of);
        rows.set(orig.id, { ...orig, replayable: false, replayed_by: [...orig.replayed_by, r.id] });
      }
      if (!matches(r, filters)) { if (rows.delete(r.id)) draw(); return; }
      if (!rows.has(r.id)) fresh.add(r.id);
      rows.set(r.id, r);
      draw();
    }),
    // after a gap in the feed, ask again for the dialects and clients too (one may have come and gone meanwhile)
    api.onLive("resync", () => { if (!paused) { facets = true; load(); } }),
    api.onLive("open", () => { if (!paused) { facets = true; load(); } }),
  ];
  return () => { offs.forEach((f) => f()); clearTimeout(searchTimer); };
}

// -- detail ------------------------------------------------------------------------------------------------
function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", null, k), h("dd", null, v ?? "—")]));
}

function profileBlock(p) {
  if (!p) return h("span", { class: "muted" }, "not classified");
  const flags = ["needs_tools", "has_images", "needs_json"].filter((k) => p[k]).map((k) => h("span", { class: "chip" }, k.replace(/_/g, " ")));
  return h("div", null, kv([
    ["kind", p.kind], ["complexity", p.complexity], p.scenario ? ["scenario", p.scenario] : null,
    p.estimated_tokens !== undefined ? ["input tokens (est.)", fmt.num(p.estimated_tokens)] : null,
    p.expected_output_tokens ? ["output tokens (est.)", fmt.num(p.expected_output_tokens)] : null,
    p.code_lines ? ["code lines", fmt.num(p.code_lines)] : null, flags.length ? ["needs", flags] : null,
  ]), p.reasons && p.reasons.length ? h("ul", { class: "reasons" }, p.reasons.map((r) => h("li", null, r))) : null);
}

function routeBlock(d) {
  const used = d.model;
  const cands = d.route.candidates.length ? d.route.candidates : [];
  return h("div", null,
    h("div", null, cands.length ? cands.map((c, i) => [i ? h("span", { class: "faint" }, " → ") : null,
      h("span", { class: `chip${c === used ? " used" : ""}` }, c)]) : h("span", { class: "muted" }, "no candidates recorded")),
    d.route.reason ? h("p", { class: "small muted" }, d.route.reason) : null,
    d.route.stopped_because ? h("p", { class: "small" }, h("b", null, "Outcome: "), d.route.stopped_because) : null);
}

function attemptsTable(list) {
  if (!list.length) return empty("No attempts", "The request never reached a backend.");
  return h("table", { class: "data", id: "attempts" },
    h("thead", null, h("tr", null, ["#", "Backend", "Model", "Status", "Verdict", "Latency", "Tokens", "Cloud-eq. cost", "Detail"].map((c) => h("th", null, c)))),
    h("tbody", null, list.map((a) => h("tr", null,
      h("td", null, a.n), h("td", null, a.backend, " ", whereChip(a.local)), h("td", null, a.model),
      h("td", null, statusPill(a.status === "rejected" ? "error" : a.status)), h("td", null, verdictPill(a.verdict)),
      h("td", { class: "num" }, fmt.seconds(a.latency_s)), h("td", { class: "num" }, fmt.tokens(a.input_tokens, a.output_tokens)),
      h("td", { class: "num" }, a.cost_equiv_usd ? fmt.usd(a.cost_equiv_usd) : "—"),
      h("td", { class: "small muted" }, a.detail || "")))));
}

function timingsBlock(t) {
  const total = t.total_s || 0;
  const backend = Math.min(total, t.backend_s || 0);
  const parts = total ? [{ pct: (100 * backend) / total, cls: "fill" }, { pct: (100 * (total - backend)) / total, cls: "seg-2" }] : [];
  return h("div", null, kv([
    ["received", fmt.dateTime(t.created_at)], ["finished", t.finished_at ? fmt.dateTime(t.finished_at) : "still running"],
    ["total", fmt.seconds(t.total_s)], ["in backends", fmt.seconds(t.backend_s)],
    ["first token", fmt.seconds(t.ttft_s)], ["speed", t.tokens_per_s ? `${t.tokens_per_s.toFixed(1)} tok/s` : "—"],
  ]), total ? h("div", { class: "progress" }, h("div", { class: "meter" }, parts.map((p) => {
    const el = h("span", { class: p.cls });
    el.style.width = `${p.pct}%`;
    return el;
  }))) : null, total ? h("div", { class: "legend" }, h("span", null, h("i", { class: "avoided" }), "backends"),
    h("span", null, h("i", { class: "seg-2" }), "offload, queueing, verification")) : null);
}

function promptBlock(p) {
  const msgs = [];
  if (p.system) msgs.push(h("div", { class: "msg system" }, h("div", { class: "who" }, "system"), h("div", { class: "text" }, p.system)));
  for (const m of p.messages) {
    msgs.push(h("div", { class: `msg ${m.role}` }, h("div", { class: "who" }, m.role),
      m.text ? h("div", { class: "text" }, m.text) : null,
      m.images ? h("div", { class: "small muted" }, `[${m.images} image${m.images > 1 ? "s" : ""}]`) : null,
      m.tool_calls.map((c) => h("div", { class: "small mono" }, `→ ${c.name}(${JSON.stringify(c.arguments)})`))));
  }
  const params = Object.entries(p.params).map(([k, v]) => h("span", { class: "chip" }, `${k}: ${v}`));
  const tools = p.tools.length ? h("span", { class: "chip" }, `tools: ${p.tools.join(", ")}`) : null;
  return h("div", null, h("div", { class: "row" }, params, tools), h("div", { class: "msgs", style: { marginTop: "8px" } }, msgs));
}

function answerBlock(d) {
  const parts = [];
  if (d.error) {
    parts.push(h("div", { class: "callout bad", id: "error" }, h("b", null, d.error.type || d.error.code || "error"), ": ", d.error.message,
      d.error.hint ? h("div", { class: "hint" }, d.error.hint) : null));
  }
  if (d.answer) {
    if (d.answer.partial) parts.push(h("div", { class: "small muted" }, "partial output (the request did not finish):"));
    parts.push(renderAnswer(d.answer.content || ""));
    for (const c of d.answer.tool_calls) parts.push(h("div", { class: "small mono" }, `tool call → ${c.name}(${JSON.stringify(c.arguments)})`));
  } else if (!d.error) {
    parts.push(h("div", { class: "muted" }, d.status === "pending" ? "Still running…" : "No answer was recorded."));
  }
  return h("div", { id: "answer" }, parts);
}

async function detailPage(root, id) {
  let d = await api.get(`/requests/${encodeURIComponent(id)}`);
  const draw = () => {
    const actions = [h("a", { class: "btn", href: "#/requests" }, "← All requests")];
    if (d.replayable) {
      actions.push(actionButton("Replay", async () => {
        const out = await api.post(`/requests/${encodeURIComponent(d.id)}/replay`);
        toast(out.ok ? "Replayed: the new request succeeded" : "Replayed, but it failed again",
          { kind: out.ok ? "ok" : "bad", hint: out.error });
        location.hash = `#/requests/${encodeURIComponent(out.id)}`;
      }, { cls: "btn primary", title: "run this request again (a new, linked journal entry)" }));
    }
    for (const r of d.replayed_by) actions.push(h("a", { class: "btn", href: `#/requests/${encodeURIComponent(r)}` }, "Open replay →"));
    if (d.replay_of) actions.push(h("a", { class: "btn", href: `#/requests/${encodeURIComponent(d.replay_of)}` }, "← Original"));
    replace(root,
      pageHead(h("span", { class: "row" }, "Request ", h("span", { class: "mono muted small" }, d.id), statusPill(d.status), d.verdict ? verdictPill(d.verdict) : null),
        d.preview || null, actions),
      h("div", { class: "grid kpis" },
        h("div", { class: "card kpi" }, h("div", { class: "label" }, "Answered by"), h("div", { class: "value small" }, d.model || "—"),
          h("div", { class: "sub" }, d.backend || "no backend", " ", whereChip(d.local))),
        h("div", { class: "card kpi" }, h("div", { class: "label" }, "Latency"), h("div", { class: "value" }, fmt.seconds(d.latency_s)),
          h("div", { class: "sub" }, `${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`)),
        h("div", { class: "card kpi" }, h("div", { class: "label" }, "Tokens"), h("div", { class: "value" }, fmt.tokens(d.input_tokens, d.output_tokens)),
          h("div", { class: "sub" }, "in → out")),
        h("div", { class: "card kpi" }, h("div", { class: "label" }, "Avoided cloud cost"),
          h("div", { class: d.verdict === "verified" ? "value" : "value faint" }, d.avoided_usd ? fmt.usd(d.avoided_usd) : "—"),
          h("div", { class: "sub" }, d.avoided_usd && d.verdict !== "verified" ? "not counted: the answer was not verified"
            : d.reference_model ? `vs ${d.reference_model}` : ""))),
      h("div", { class: "grid two" },
        card("Request", kv([["source", d.source], ["dialect", d.dialect], ["client", d.client], ["model asked", d.model_requested],
          ["kind", d.kind]])),
        card("Profile", profileBlock(d.profile))),
      h("div", { class: "stack", style: { marginTop: "16px" } },
        card("Route", routeBlock(d)),
        card("Attempts", attemptsTable(d.attempt_list), { flush: true }),
        h("div", { class: "grid two" }, card("Prompt (redacted)", promptBlock(d.prompt)), card("Answer", answerBlock(d))),
        card("Timings", timingsBlock(d.timings)),
        card(null, h("details", { class: "fold" }, h("summary", null, "Request headers (redacted)"),
          kv(Object.entries(d.headers).map(([k, v]) => [k, h("span", { class: "mono" }, v)]))))));
  };
  draw();
  const off = api.onLive("request", async (r) => {
    if (r.id === d.id || r.replay_of === d.id) {
      d = await api.get(`/requests/${encodeURIComponent(d.id)}`);
      draw();
    }
  });
  return off;
}

export async function mount(root, arg) {
  clear(root);
  return arg ? detailPage(root, arg) : listPage(root);
}
