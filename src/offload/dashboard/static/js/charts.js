// Inline SVG charts: vertical (stacked) bars over time, horizontal bars by category, and a donut.
// Sizes are in viewBox units; the SVG scales to its container. Labels are text nodes.

import { h, s } from "./dom.js";

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Stacked vertical bars. ``rows``: [{label, values: [..]}]; ``series``: [{name, cls}] in stacking order;
 * ``fmt`` formats axis ticks and tooltips.
 */
export function stackedBars(rows, series, { height = 240, width = 1200, fmt = String, every = null } = {}) {
  const W = width;
  const H = height;
  const pad = { l: 64, r: 8, t: 10, b: 26 };
  const innerW = W - pad.l - pad.r;
  const innerH = H - pad.t - pad.b;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0))));
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img" });
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.t + innerH - (innerH * i) / 4;
    svg.append(s("line", { class: "grid-line", x1: pad.l, x2: W - pad.r, y1: y, y2: y }));
    svg.append(s("text", { x: pad.l - 8, y: y + 4, "text-anchor": "end" }, fmt((max * i) / 4, max)));
  }
  const n = Math.max(1, rows.length);
  const slot = innerW / n;
  const bw = Math.max(2, Math.min(28, slot * 0.7));
  const labelEvery = every || Math.max(1, Math.ceil(n / 12));
  rows.forEach((r, i) => {
    const x = pad.l + i * slot + (slot - bw) / 2;
    let y = pad.t + innerH;
    r.values.forEach((v, k) => {
      if (!(v > 0)) return;
      const hgt = (innerH * v) / max;
      y -= hgt;
      svg.append(s("rect", { class: series[k].cls, x, y, width: bw, height: Math.max(0.5, hgt), rx: 2 },
        s("title", null, `${r.label} · ${series[k].name}: ${fmt(v)}`)));
    });
    if (i % labelEvery === 0 || i === n - 1) {
      svg.append(s("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle" }, r.label));
    }
  });
  svg.append(s("line", { class: "axis", x1: pad.l, x2: W - pad.r, y1: pad.t + innerH, y2: pad.t + innerH }));
  return svg;
}

/** Horizontal bars, one row per category, each stacked from ``series``. */
export function hBars(rows, series, { fmt = String, labelWidth = 150, width = 620 } = {}) {
  const W = width;
  const rowH = 26;
  const H = Math.max(rowH, rows.length * rowH) + 6;
  const x0 = labelWidth;
  const innerW = W - x0 - 170;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0))));
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img" });
  rows.forEach((r, i) => {
    const y = 3 + i * rowH;
    const label = r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label;
    svg.append(s("text", { x: x0 - 10, y: y + 16, "text-anchor": "end" }, s("title", null, r.label), label));
    svg.append(s("rect", { class: "bar-track", x: x0, y: y + 4, width: innerW, height: rowH - 10, rx: 3 }));
    let x = x0;
    const total = r.values.reduce((a, b) => a + b, 0);
    r.values.forEach((v, k) => {
      if (!(v > 0)) return;
      const w = (innerW * v) / max;
      svg.append(s("rect", { class: series[k].cls, x, y: y + 4, width: Math.max(1, w), height: rowH - 10, rx: 3 },
        s("title", null, `${r.label} · ${series[k].name}: ${fmt(v)}`)));
      x += w;
    });
    svg.append(s("text", { x: x + 8, y: y + 16 }, r.note ?? fmt(total)));
  });
  return svg;
}

/** A donut of ``parts``: [{name, value, cls}] with ``center`` text in the hole. */
export function donut(parts, center, { size = 180 } = {}) {
  const total = parts.reduce((a, p) => a + (p.value > 0 ? p.value : 0), 0);
  const r = 70;
  const c = 2 * Math.PI * r;
  const svg = s("svg", { class: "chart donut", viewBox: "0 0 180 180", width: size, height: size, role: "img" });
  svg.append(s("circle", { cx: 90, cy: 90, r, fill: "none", class: "donut-track", "stroke-width": 22 }));
  let offset = 0;
  for (const p of parts) {
    if (!(p.value > 0) || !total) continue;
    const len = (c * p.value) / total;
    svg.append(s("circle", {
      cx: 90, cy: 90, r, fill: "none", class: p.cls, "stroke-width": 22, "stroke-dasharray": `${len} ${c - len}`,
      "stroke-dashoffset": -offset, transform: "rotate(-90 90 90)",
    }, s("title", null, `${p.name}: ${p.value}`)));
    offset += len;
  }
  svg.append(s("text", { x: 90, y: 96, "text-anchor": "middle", class: "donut-label" }, center));
  return svg;
}

export function legend(items) {
  return h("div", { class: "legend" }, items.map(([cls, label]) => h("span", null, h("i", { class: cls }), label)));
}
