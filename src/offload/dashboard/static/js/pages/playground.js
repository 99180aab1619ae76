// Playground: chat with a model (or auto), streamed; Code Mode runs the prompt through the verified cascade.

import * as api from "../api.js";
import { card, h, pageHead, replace, select, statusPill, verdictPill, whereChip } from "../dom.js";
import * as fmt from "../format.js";
import { codeBlock, renderAnswer } from "../highlight.js";

const state = { messages: [], model: "auto", code: false, maxTokens: 512, temperature: "", system: "" };

function bubble(role, content) {
  return h("div", { class: `msg ${role}` }, h("div", { class: "who" }, role === "user" ? "you" : "assistant"), content);
}

function detailsLink(id) {
  return id ? h("a", { href: `#/requests/${encodeURIComponent(id)}` }, "request details →") : null;
}

function attemptsList(list) {
  if (!list || !list.length) return null;
  return h("table", { class: "data small", style: { marginTop: "8px" } },
    h("thead", null, h("tr", null, ["#", "Model", "Status", "Verdict", "Latency", "Detail"].map((c) => h("th", null, c)))),
    h("tbody", null, list.map((a) => h("tr", null, h("td", null, a.n), h("td", null, a.model, " ", whereChip(a.local)),
      h("td", null, statusPill(a.status === "rejected" ? "error" : a.status)), h("td", null, verdictPill(a.verdict)),
      h("td", { class: "num" }, fmt.seconds(a.latency_s)), h("td", { class: "muted" }, a.detail || "")))));
}

function codeResult(out) {
  const req = out.request || {};
  const verdict = out.ok ? out.verdict : "failed";
  const head = h("div", { class: "result-head" },
    h("span", { class: "verdict", id: "code-verdict" }, "Verification: ", verdictPill(verdict)),
    out.ok ? h("span", { class: "small", id: "code-route" }, "route: ", h("b", null, out.model), ` @ ${out.backend} `, whereChip(req.local)) : null,
    h("span", { class: "spacer" }), detailsLink(out.journal_id));
  const body = [head];
  if (!out.ok) {
    body.push(h("div", { class: "callout bad" }, out.error.message, out.error.hint ? h("div", { class: "hint" }, out.error.hint) : null));
  } else if (out.code) {
    body.push(codeBlock(out.code.code, out.code.language));
    const rest = (out.content || "").replace(/```[\s\S]*?(```|$)/g, "").trim();
    if (rest) body.push(h("details", { class: "fold" }, h("summary", null, "the model's full answer"), renderAnswer(out.content)));
  } else {
    body.push(renderAnswer(out.content || ""), h("div", { class: "small muted" }, "(the answer held no code block)"));
  }
  const reason = out.route_reason || (req.route && req.route.reason);
  if (reason) body.push(h("p", { class: "small muted" }, reason));
  body.push(attemptsList(req.attempt_list));
  return h("div", { class: "code-result" }, body);
}

async function sendChat(convo, payload) {
  const text = document.createTextNode("");
  const textBox = h("div", { class: "text cursor" }, text);
  const meta = h("div", { class: "meta" });
  const msg = bubble("assistant", [textBox, meta]);
  convo.append(msg);
  let full = "";
  await api.postStream("/playground/chat", payload, (ev) => {
    if (ev.type === "start") {
      replace(meta, h("span", null, "routing to ", h("b", null, ev.model), ev.backend ? ` @ ${ev.backend}` : ""));
    } else if (ev.type === "delta") {
      full += ev.text;
      text.appendData(ev.text);
      convo.scrollTop = convo.scrollHeight;
    } else if (ev.type === "end") {
      textBox.classList.remove("cursor");
      textBox.replaceWith(renderAnswer(full));
      replace(meta, h("span", null, h("b", null, ev.model), ` @ ${ev.backend}`),
        h("span", null, `${fmt.tokens(ev.usage.input_tokens, ev.usage.output_tokens)} tokens`),
        h("span", null, fmt.seconds(ev.timings.total_s)), detailsLink(ev.journal_id));
    } else if (ev.type === "error") {
      textBox.classList.remove("cursor");
      msg.append(h("div", { class: "callout bad" }, ev.error.message, ev.error.hint ? h("div", { class: "hint" }, ev.error.hint) : null));
    }
  });
  textBox.classList.remove("cursor");
  return full;
}

async function sendCode(convo, payload) {
  const pending = h("div", { class: "muted small" }, h("span", { class: "pill info pending" }, "running the verified cascade"), " ",
    "generate → check → escalate if needed…");
  const msg = bubble("assistant", pending);
  convo.append(msg);
  const t0 = performance.now();
  let out;
  try {
    out = await api.post("/playground/code", payload);
  } catch (e) {
    if (!(e instanceof api.ApiError) || !e.body || !e.body.request) throw e;
    out = e.body;
  }
  pending.replaceWith(codeResult(out), h("div", { class: "meta" }, h("span", null, fmt.seconds((performance.now() - t0) / 1000))));
  return out.content || "";
}

export async function mount(root) {
  const inv = await api.get("/models");
  const convo = h("div", { class: "convo", id: "conversation" });
  const input = h("textarea", { id: "prompt", rows: 3, placeholder: "Ask something… (Ctrl+Enter to send)" });
  const send = h("button", { class: "btn primary", type: "submit", id: "send" }, "Send");
  const mode = h("span", { class: "small muted", id: "mode-hint" });
  const codeToggle = h("input", { type: "checkbox", id: "code-mode", checked: state.code });
  const maxTokens = h("input", { type: "number", id: "max-tokens", min: 1, max: 32768, value: state.maxTokens });
  const temperature = h("input", { type: "number", id: "temperature", min: 0, max: 2, step: 0.1, value: state.temperature, placeholder: "model default" });
  const system = h("textarea", { id: "system", rows: 3, placeholder: "optional system prompt" });
  system.value = state.system;
  const modelPick = select([["auto", "auto (let offload route)"], ...inv.models.map((m) => [m.name, `${m.name} · ${m.backend}`])],
    state.model, (v) => { state.model = v; }, { id: "model", "aria-label": "model" });

  const showMode = () => {
    state.code = codeToggle.checked;
    mode.textContent = state.code
      ? "Code Mode: the prompt runs as a code task through the verified cascade (checked, escalated on failure)."
      : "Chat: the answer streams from the routed model.";
  };
  codeToggle.addEventListener("change", showMode);
  showMode();

  const redraw = () => {
    replace(convo, state.messages.length ? null : h("div", { class: "empty" }, h("b", null, "Try a prompt"),
      "Chat streams an answer; Code Mode returns checked code with its verdict and route."));
    for (const m of state.messages) convo.append(bubble(m.role, m.role === "user" ? h("div", { class: "text" }, m.content) : renderAnswer(m.content)));
  };

  const form = h("form", { class: "composer" }, input, h("div", { class: "row" }, mode, send));
  const submit = async () => {
    const text = input.value.trim();
    if (!text || send.disabled) return;
    if (!state.messages.length) convo.textContent = "";
    state.messages.push({ role: "user", content: text });
    convo.append(bubble("user", h("div", { class: "text" }, text)));
    input.value = "";
    send.disabled = true;
    const payload = { model: state.model, messages: state.messages.slice(-40), max_tokens: Number(maxTokens.value) || undefined };
    if (temperature.value !== "") payload.temperature = Number(temperature.value);
    if (system.value.trim()) payload.system = system.value.trim();
    state.maxTokens = Number(maxTokens.value) || state.maxTokens;
    state.temperature = temperature.value;
    state.system = system.value;
    try {
      const answer = state.code ? await sendCode(convo, payload) : await sendChat(convo, payload);
      state.messages.push({ role: "assistant", content: answer });
    } catch (e) {
      convo.append(h("div", { class: "callout bad" }, e.message, e.hint ? h("div", { class: "hint" }, e.hint) : null));
      state.messages.pop();
    } finally {
      send.disabled = false;
      convo.scrollTop = convo.scrollHeight;
      input.focus();
    }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  input.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(); } });
  const reset = h("button", { class: "btn", type: "button" }, "New conversation");
  reset.addEventListener("click", () => { state.messages = []; redraw(); });

  replace(root,
    pageHead("Playground", "Try a prompt on any model — or on auto, the way your clients' requests are routed.", reset),
    h("div", { class: "play" },
      h("section", { class: "card" }, convo, form),
      card("Settings", h("div", { class: "stack" },
        h("label", { class: "field" }, "Model", modelPick),
        h("label", { class: "switch" }, codeToggle, "Code Mode"),
        h("label", { class: "field" }, "Max tokens", maxTokens),
        h("label", { class: "field" }, "Temperature", temperature),
        h("label", { class: "field" }, "System prompt", system),
        h("p", { class: "small muted" }, "Every Playground request is journaled (source ", h("code", null, "dashboard"),
          ") and shows up on the Requests page.")))));
  redraw();
  input.focus();
  return null;
}
