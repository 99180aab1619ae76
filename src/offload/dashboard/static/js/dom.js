// DOM helpers. Every piece of text goes in through textContent (createTextNode), never innerHTML:
// user prompts, model answers and error messages can never become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "value" || k === "checked" || k === "disabled" || k === "selected") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** h("div", {class: "x", onclick: fn}, "text", child, [more]) -> an HTMLElement. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

/** A card with a title, optional header actions and a body. */
export function card(title, body, { actions = null, flush = false, id = null } = {}) {
  return h("section", { class: "card", id },
    title || actions ? h("header", null, title ? h("h2", null, title) : h("span"), actions) : null,
    h("div", { class: flush ? "body flush" : "body" }, body));
}

export function kpi(label, value, sub = null) {
  return h("div", { class: "card kpi" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

export function pageHead(title, subtitle, ...actions) {
  return h("div", { class: "page-head" },
    h("div", null, h("h1", null, title), subtitle ? h("p", null, subtitle) : null),
    h("div", { class: "toolbar" }, actions));
}

export function empty(title, ...lines) {
  return h("div", { class: "empty" }, h("b", null, title), lines.map((l) => h("div", null, l)));
}

const STATUS_CLASS = {
  ok: "ok", error: "bad", pending: "info pending", queued: "warn", interrupted: "warn", cancelled: "",
  running: "info pending", done: "ok", failed: "bad",
};

export function statusPill(status) {
  const label = status === "error" ? "failed" : status;
  return h("span", { class: `pill ${STATUS_CLASS[status] ?? ""}`, dataset: { status } }, label || "—");
}

const VERDICT_CLASS = { verified: "ok", unverified: "warn", failed: "bad", not_run: "" };
const VERDICT_LABEL = { verified: "verified", unverified: "unverified", failed: "failed", not_run: "not checked" };

export function verdictPill(verdict) {
  if (!verdict) return h("span", { class: "faint" }, "—");
  return h("span", { class: `pill ${VERDICT_CLASS[verdict] ?? ""}`, dataset: { verdict } }, VERDICT_LABEL[verdict] ?? verdict);
}

export function whereChip(local) {
  if (local === null || local === undefined) return null;
  return h("span", { class: `chip ${local ? "local" : "cloud"}` }, local ? "local" : "cloud");
}

/** A button that shows a spinner and is disabled while ``action`` runs. */
export function actionButton(label, action, { cls = "btn", title = null } = {}) {
  const btn = h("button", { class: cls, type: "button", title }, label);
  btn.addEventListener("click", async (ev) => {
    ev.stopPropagation();
    if (btn.disabled) return;
    btn.disabled = true;
    replace(btn, h("span", { class: "spin" }), label);
    try {
      await action(btn);
    } finally {
      btn.disabled = false;
      replace(btn, label);
    }
  });
  return btn;
}

export function toast(message, { kind = "", hint = null, ms = 5000 } = {}) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = h("div", { class: `toast ${kind}`, role: "status" }, h("div", null, message), hint ? h("div", { class: "hint" }, hint) : null);
  box.append(t);
  setTimeout(() => t.remove(), ms);
}

export function meter(parts, { big = false } = {}) {
  return h("div", { class: big ? "meter big" : "meter" },
    parts.map((p) => {
      const span = h("span", { class: p.cls || "", title: p.title || null });
      span.style.width = `${Math.max(0, Math.min(100, p.pct))}%`;
      return span;
    }));
}

export function select(options, value, onchange, attrs = {}) {
  const el = h("select", attrs, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
  el.value = value;
  if (onchange) el.addEventListener("change", () => onchange(el.value));
  return el;
}
