// Models: the inventory with roles and sizes; pull with a live progress bar; load and unload.

import * as api from "../api.js";
import { actionButton, card, empty, h, meter, pageHead, replace, statusPill, toast } from "../dom.js";
import * as fmt from "../format.js";
import { vramBlock } from "./overview.js";

function installedCell(m) {
  if (m.cloud) return h("span", { class: "chip cloud" }, "cloud");
  if (m.backend_kind === "embedded") return h("span", { class: "pill ok" }, "bundled");
  if (m.installed === true) return h("span", { class: "pill ok" }, "installed");
  if (m.installed === false) return h("span", { class: "pill warn" }, "not pulled");
  if (!m.can_pull) return h("span", { class: "chip", title: "this backend's server manages its models" }, "served by backend");
  return h("span", { class: "pill plain", title: "the backend did not answer" }, "unknown");
}

function loadedCell(m) {
  if (!m.loaded) return h("span", { class: "faint" }, "—");
  return h("div", null, h("span", { class: "pill info" }, "loaded"),
    h("div", { class: "small muted" }, [m.loaded_vram_gb ? fmt.gb(m.loaded_vram_gb) : null, m.expires_in ? `expires ${m.expires_in}` : null]
      .filter(Boolean).join(" · ")));
}

function progressBox(job) {
  const frac = job.fraction;
  const label = job.status === "running" ? (frac !== null ? `${(frac * 100).toFixed(0)}%` : job.phase) : job.status;
  return h("div", { class: "progress", dataset: { job: job.id, status: job.status } },
    h("div", { class: "line" }, h("span", null, statusPill(job.status), " ", job.phase),
      h("span", { class: "pull-pct" }, job.total ? `${fmt.bytes(job.completed)} / ${fmt.bytes(job.total)} · ${label}` : label)),
    meter([{ pct: (frac ?? 0) * 100, cls: job.status === "done" ? "fill ok" : "fill" }]),
    job.status === "failed" ? h("div", { class: "small", style: { color: "var(--bad)" } }, job.detail, job.hint ? ` — ${job.hint}` : "") : null);
}

function draw(root, d, jobs, reload) {
  const rows = d.models.map((m) => {
    const job = [...jobs.values()].find((j) => j.model === m.name && (j.status === "running" || Date.now() / 1000 - (j.finished_at || 0) < 60));
    const actions = [];
    if (m.can_pull && job && job.status === "running") {
      actions.push(h("button", { class: "btn small", type: "button", disabled: true }, "Pulling…"));
    } else if (m.can_pull) {
      actions.push(actionButton(m.installed ? "Pull again" : "Pull", async () => {
        const out = await api.post("/models/pull", { model: m.name });
        jobs.set(out.job.id, out.job);
        draw(root, d, jobs, reload);
      }, { cls: m.installed ? "btn small" : "btn small primary", title: `download ${m.upstream}` }));
    }
    if (m.can_load && m.installed !== false) {
      if (m.loaded) {
        actions.push(actionButton("Unload", async () => {
          await api.post("/models/unload", { model: m.name });
          toast(`${m.name} unloaded`, { kind: "ok" });
          await reload();
        }, { cls: "btn small danger" }));
      } else {
        actions.push(actionButton("Load", async () => {
          const out = await api.post("/models/load", { model: m.name });
          toast(`${m.name} loaded (keep-alive ${out.keep_alive})`, { kind: "ok" });
          await reload();
        }, { cls: "btn small" }));
      }
    }
    const main = h("tr", { dataset: { model: m.name } },
      h("td", null, h("div", { class: "model-name" }, m.name),
        m.upstream !== m.name ? h("div", { class: "small muted mono" }, m.upstream) : null,
        m.description ? h("div", { class: "model-desc" }, m.description) : null),
      h("td", null, m.backend, h("div", { class: "small muted" }, m.backend_kind)),
      h("td", null, m.roles.map((r) => h("span", { class: "chip" }, r)), m.capabilities.map((c) => h("span", { class: "chip local" }, c))),
      h("td", { class: "num" }, m.vram_gb ? fmt.gb(m.vram_gb) : "—"),
      h("td", { class: "num" }, fmt.compact(m.context_window)),
      h("td", null, installedCell(m), m.required ? null : h("div", { class: "small muted" }, "optional")),
      h("td", null, loadedCell(m)),
      h("td", { class: "right" }, h("div", { class: "actions" }, actions)));
    if (!job) return main;
    return [main, h("tr", { class: "progress-row", dataset: { progressFor: m.name } }, h("td", { colspan: 8 }, progressBox(job)))];
  });
  replace(root,
    pageHead("Models", "The inventory from offload.toml: what each model is for, where it runs, and what is in memory."),
    card("Memory", vramBlock([...d.models.filter((m) => m.loaded).map((m) => ({ name: m.name, backend: m.backend, vram_gb: m.loaded_vram_gb || 0, expires_in: m.expires_in || "?" })), ...d.other_loaded],
      d.budget, d.vram_used_gb), { id: "memory" }),
    h("div", { class: "card", style: { marginTop: "16px" } },
      d.models.length ? h("div", { class: "table-wrap" }, h("table", { class: "data", id: "inventory" },
        h("thead", null, h("tr", null, ["Model", "Backend", "Roles · capabilities", "Size", "Context", "Installed", "In memory", ""].map((c) => h("th", null, c)))),
        h("tbody", null, rows))) : empty("The inventory is empty", "Add models to offload.toml.")),
    d.other_loaded.length ? h("div", { style: { marginTop: "16px" } }, card("Loaded outside the inventory",
      h("ul", null, d.other_loaded.map((m) => h("li", null, `${m.name} on ${m.backend} · ${fmt.gb(m.vram_gb)} · ${m.expires_in}`))))) : null);
}

export async function mount(root) {
  const jobs = new Map();
  let d = null;
  let alive = true;
  const reload = async () => {
    d = await api.get("/models");
    for (const j of d.pulls) jobs.set(j.id, j);
    if (alive) draw(root, d, jobs, reload);
  };
  await reload();
  const off = api.onLive("pull", (job) => {
    const before = jobs.get(job.id);
    jobs.set(job.id, job);
    if (!d || !alive) return;
    const box = root.querySelector(`[data-job="${CSS.escape(job.id)}"]`);
    if (box && job.status === "running" && before && before.status === "running") {
      box.replaceWith(progressBox(job));
    } else if (job.status !== "running") {
      if (job.status === "done") toast(`${job.model} pulled`, { kind: "ok" });
      else toast(`Pull of ${job.model} failed`, { kind: "bad", hint: job.detail });
      reload();
    } else {
      draw(root, d, jobs, reload);
    }
  });
  return () => { alive = false; off(); };
}
