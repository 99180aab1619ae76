// The dashboard API client: JSON reads, CSRF-protected writes, a POST that streams server-sent events,
// and one shared EventSource for the live journal feed.

const BASE = "/ui/api";
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || null;
    this.hint = err.hint || null;
    this.body = body;
  }
}

async function parse(resp) {
  let body = null;
  const type = resp.headers.get("content-type") || "";
  if (type.includes("application/json")) body = await resp.json();
  if (!resp.ok) {
    if (resp.status === 401 && !resp.url.endsWith("/login")) window.dispatchEvent(new CustomEvent("offload:unauthorized"));
    throw new ApiError(resp.status, body);
  }
  return body;
}

/** The session: whether a key is needed, whether we have shown it, and the CSRF token for writes. */
export async function session() {
  const s = await parse(await fetch(`${BASE}/session`, { credentials: "same-origin", cache: "no-store" }));
  csrfToken = s.csrf_token;
  return s;
}

export async function get(path, params = null) {
  const qs = params ? `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null))}` : "";
  return parse(await fetch(`${BASE}${path}${qs}`, { credentials: "same-origin", cache: "no-store" }));
}

function writeHeaders() {
  return { "content-type": "application/json", "x-offload-csrf": csrfToken || "" };
}

export async function post(path, body = {}) {
  return parse(await fetch(`${BASE}${path}`, {
    method: "POST", credentials: "same-origin", headers: writeHeaders(), body: JSON.stringify(body),
  }));
}

/** POST ``body`` and call ``onEvent(obj)`` for each ``data:`` frame of the event-stream answer. */
export async function postStream(path, body, onEvent, signal = null) {
  const resp = await fetch(`${BASE}${path}`, {
    method: "POST", credentials: "same-origin", headers: writeHeaders(), body: JSON.stringify(body), signal,
  });
  if (!resp.ok) await parse(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

// -- live feed ------------------------------------------------------------------------------------------
const listeners = new Map(); // kind -> Set(fn)
let source = null;
let statusFn = () => {};

function dispatch(kind, data) {
  for (const fn of listeners.get(kind) || []) {
    try { fn(data); } catch (e) { console.warn("live listener failed", e); }
  }
}

/** Start the shared EventSource (``onStatus(state)`` gets "on" / "off"). */
export function startLive(onStatus) {
  statusFn = onStatus || statusFn;
  if (source) return;
  source = new EventSource(`${BASE}/events`, { withCredentials: true });
  source.addEventListener("open", () => { statusFn("on"); dispatch("open", {}); });
  source.addEventListener("error", () => statusFn("off"));
  for (const kind of ["request", "pull", "resync"]) {
    source.addEventListener(kind, (ev) => dispatch(kind, JSON.parse(ev.data)));
  }
}

export function stopLive() {
  if (source) source.close();
  source = null;
}

/** Listen to live events of ``kind`` ("request", "pull", "resync", "open"); returns the unsubscribe. */
export function onLive(kind, fn) {
  if (!listeners.has(kind)) listeners.set(kind, new Set());
  listeners.get(kind).add(fn);
  return () => listeners.get(kind).delete(fn);
}
