// Number, money, time and size formatting for the pages.

export function usd(x, digits = null) {
  const v = Number(x || 0);
  const d = digits ?? (v !== 0 && Math.abs(v) < 0.1 ? 4 : 2);
  return `$${v.toFixed(d)}`;
}

export function num(x) {
  if (x === null || x === undefined) return "—";
  return Number(x).toLocaleString("en-US");
}

export function compact(x) {
  const v = Number(x || 0);
  if (Math.abs(v) >= 1e9) return `${(v / 1e9).toFixed(1)}B`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

export function pct(x, digits = 0) {
  return `${(Number(x || 0) * 100).toFixed(digits)}%`;
}

export function seconds(s) {
  if (s === null || s === undefined) return "—";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m ${Math.round(s - m * 60)}s`;
}

export function gb(x) {
  if (x === null || x === undefined) return "—";
  return `${Number(x).toFixed(Number(x) < 10 ? 1 : 0)} GB`;
}

export function bytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function time(ts) {
  if (!ts) return "—";
  const d = new Date(ts * 1000);
  const today = new Date();
  const hms = d.toLocaleTimeString("en-GB", { hour12: false });
  if (d.toDateString() === today.toDateString()) return hms;
  const day = d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
  return `${day} ${hms.slice(0, 5)}`;
}

export function dateTime(ts) {
  if (!ts) return "—";
  const d = new Date(ts * 1000);
  return `${d.toLocaleDateString("en-CA")} ${d.toLocaleTimeString("en-GB", { hour12: false })}`;
}

export function ago(ts) {
  if (!ts) return "—";
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 5) return "just now";
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function tokens(inp, out) {
  if (inp === null && out === null) return "—";
  return `${compact(inp || 0)} → ${compact(out || 0)}`;
}

export function shortDay(iso) {
  const [, m, d] = iso.split("-");
  return `${Number(d)}/${Number(m)}`;
}
