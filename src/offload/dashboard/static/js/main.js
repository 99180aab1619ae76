// The dashboard's entry point: sign-in gate, hash router, live-feed indicator.

import * as api from "./api.js";
import { h, replace, toast } from "./dom.js";
import * as bench from "./pages/bench.js";
import * as models from "./pages/models.js";
import * as overview from "./pages/overview.js";
import * as playground from "./pages/playground.js";
import * as requests from "./pages/requests.js";
import * as savings from "./pages/savings.js";

const PAGES = { overview, requests, savings, models, playground, bench };
const main = document.getElementById("main");
let cleanup = null;
let current = null;

function setLive(state) {
  const el = document.getElementById("live");
  el.className = `live ${state}`;
  el.textContent = state === "on" ? "live" : "reconnecting…";
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  const [name, ...rest] = hash.split("/");
  const page = PAGES[name] ? name : "overview";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page);
  return { page, arg: rest.map(decodeURIComponent).join("/") || null };
}

async function render() {
  const { page, arg } = route();
  if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } }
  cleanup = null;
  current = `${page}/${arg || ""}`;
  const mine = current;
  const root = h("div", { class: "page", dataset: { page } });
  replace(main, root);
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · offload`;
  try {
    const fn = await PAGES[page].mount(root, arg);
    if (mine === current) cleanup = fn || null;
    else if (fn) fn();
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) return;
    console.warn(e);
    replace(root, h("div", { class: "callout bad" }, h("b", null, "This page could not load: "), e.message,
      e.hint ? h("div", { class: "hint" }, e.hint) : null));
  }
}

function loginScreen(message = null) {
  api.stopLive();
  const live = document.getElementById("live");
  live.className = "live off";
  live.textContent = "signed out";
  const key = h("input", { type: "password", name: "key", autocomplete: "current-password", placeholder: "API key", required: true });
  const err = h("div", { class: "callout bad hidden" });
  const form = h("form", null, h("label", { class: "field" }, "The gateway's API key ($OFFLOAD_API_KEY)", key), err,
    h("button", { class: "btn primary", type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.post("/login", { key: key.value });
      await start();
    } catch (e) {
      err.classList.remove("hidden");
      replace(err, e.message, e.hint ? h("div", { class: "hint" }, e.hint) : null);
    }
  });
  replace(main, h("div", { class: "card login" }, h("h1", null, "Sign in to offload"),
    h("p", { class: "muted" }, message || "This gateway has an API key (it may be reachable from the network), so its dashboard asks for it too."), form));
  key.focus();
}

async function start() {
  const s = await api.session();
  document.getElementById("version").textContent = `offload ${s.version}`;
  if (s.auth_required && !s.authenticated) {
    loginScreen();
    return;
  }
  api.startLive(setLive);
  await render();
}

window.addEventListener("hashchange", render);
window.addEventListener("offload:unauthorized", () => loginScreen("Your session ended; sign in again."));
window.addEventListener("unhandledrejection", (ev) => {
  const e = ev.reason;
  if (e instanceof api.ApiError) {
    ev.preventDefault();
    if (e.status !== 401) toast(e.message, { kind: "bad", hint: e.hint });
  }
});

start().catch((e) => {
  replace(main, h("div", { class: "callout bad" }, "offload did not answer: ", e.message));
});
