// A small Python syntax highlighter and an answer renderer (prose + fenced code blocks).
// Output is built from text nodes inside <span class="tok-..."> elements: nothing is parsed as HTML.

import { h } from "./dom.js";

const KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else except " +
  "finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case").split(" "));
const CONSTANTS = new Set(["False", "None", "True"]);
const BUILTINS = new Set(("abs all any ascii bin bool bytearray bytes callable chr classmethod compile complex dict dir " +
  "divmod enumerate eval exec filter float format frozenset getattr globals hasattr hash help hex id input int " +
  "isinstance issubclass iter len list locals map max memoryview min next object oct open ord pow print property " +
  "range repr reversed round set setattr slice sorted staticmethod str sum super tuple type vars zip Exception " +
  "ValueError TypeError KeyError IndexError RuntimeError StopIteration NotImplementedError AttributeError").split(" "));

// One sticky regex per token class, tried in order at the current position.
const RULES = [
  ["com", /#[^\n]*/y],
  ["str", /[rRbBuUfF]{0,2}("""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$))/y],
  ["str", /[rRbBuUfF]{0,2}("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)/y],
  ["deco", /@[A-Za-z_][\w.]*/y],
  ["num", /\b(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?j?|\.\d[\d_]*(?:[eE][+-]?\d+)?j?)\b/y],
  ["name", /[A-Za-z_][\w]*/y],
  ["op", /[-+*/%=<>!&|^~:]+|->/y],
  ["ws", /\s+/y],
  ["other", /./y],
];

/** Split Python source into [class, text] tokens (class "" for plain text). */
export function tokenize(code) {
  const out = [];
  let pos = 0;
  let expectDef = false;
  while (pos < code.length) {
    let matched = false;
    for (const [kind, re] of RULES) {
      re.lastIndex = pos;
      const m = re.exec(code);
      if (!m || m[0].length === 0) continue;
      const text = m[0];
      let cls = kind;
      if (kind === "name") {
        if (expectDef) { cls = "def"; expectDef = false; }
        else if (CONSTANTS.has(text)) cls = "const";
        else if (KEYWORDS.has(text)) { cls = "kw"; expectDef = text === "def" || text === "class"; }
        else if (text === "self" || text === "cls") cls = "self";
        else if (BUILTINS.has(text)) cls = "builtin";
        else cls = "";
      } else if (kind === "ws" || kind === "other") {
        cls = "";
      }
      if (kind !== "ws" && kind !== "name") expectDef = false;
      out.push([cls, text]);
      pos += text.length;
      matched = true;
      break;
    }
    if (!matched) { out.push(["", code[pos]]); pos += 1; }
  }
  return out;
}

/** A <pre><code> with highlighted Python (or plain text for other languages). */
export function codeElement(code, language = "python") {
  const el = h("code", { class: `lang-${language || "text"}` });
  const py = !language || ["python", "py", "python3"].includes(language.toLowerCase());
  if (!py) {
    el.textContent = code;
    return h("pre", null, el);
  }
  for (const [cls, text] of tokenize(code)) {
    if (cls) el.append(h("span", { class: `tok-${cls}` }, text));
    else el.append(document.createTextNode(text));
  }
  return h("pre", null, el);
}

/** A code block with its language and a copy button. */
export function codeBlock(code, language = "python") {
  const copy = h("button", { type: "button", title: "copy to the clipboard" }, "copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code);
      copy.textContent = "copied";
    } catch {
      copy.textContent = "select and copy";
    }
    setTimeout(() => { copy.textContent = "copy"; }, 1500);
  });
  return h("div", { class: "code-block" }, h("div", { class: "bar" }, h("span", null, language || "text"), copy),
    codeElement(code, language));
}

const FENCE = /^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*$/m;

/** Split an answer into prose paragraphs and fenced code blocks (an unclosed fence runs to the end). */
export function splitAnswer(text) {
  const parts = [];
  let rest = text || "";
  for (;;) {
    const open = FENCE.exec(rest);
    if (!open) break;
    if (open.index > 0) parts.push({ kind: "text", text: rest.slice(0, open.index) });
    const fence = open[1];
    const lang = (open[2] || "").toLowerCase();
    const body = rest.slice(open.index + open[0].length + 1);
    const close = new RegExp(`^[ \\t]*${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`, "m").exec(body);
    parts.push({ kind: "code", lang, text: close ? body.slice(0, close.index).replace(/\n$/, "") : body });
    if (!close) { rest = ""; break; }
    rest = body.slice(close.index + close[0].length).replace(/^\n/, "");
  }
  if (rest) parts.push({ kind: "text", text: rest });
  return parts;
}

/** An answer rendered safely: paragraphs as text, code blocks highlighted. */
export function renderAnswer(text) {
  const box = h("div", { class: "answer" });
  for (const part of splitAnswer(text)) {
    if (part.kind === "code") {
      box.append(codeBlock(part.text, part.lang || "python"));
    } else {
      for (const para of part.text.split(/\n{2,}/)) {
        if (para.trim()) box.append(h("p", null, para.trim()));
      }
    }
  }
  return box;
}
