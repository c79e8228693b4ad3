// rlmx trace viewer: reads a trace (the events of src/rlmx/events.py) and shows the run as a tree.
// Plain JS, no build step. Everything below a collapsed box is rendered only when the box is first opened,
// so a trace with thousands of sub-calls opens at once.
"use strict";

// The event types this page understands. It must equal rlmx.events.EVENTS (a test checks it).
const KNOWN_EVENTS = [
  "run_start", "node_start", "sandbox_ready", "iteration", "lm_call", "lm_reply_rejected", "no_code", "reply_overran", "cell_skipped", "cell_start",
  "cell",
  "subcall_start", "subcall_end", "subcall_cached", "tool_call", "setup", "subcalls_refused", "answer_rejected", "final_request", "forced_extraction",
  "error", "node_end", "run_end",
];
const FORMAT = "rlmx.trace/1";

const CONFIG = JSON.parse(document.getElementById("rlmx-config").textContent || "{}");
const T0 = performance.now();

// --- small DOM helpers ---------------------------------------------------------------------------------------
// Every text the page draws goes through h(): its text children with their text-direction controls shown as marks
// (withBidiShown), its attributes (a title's tooltip) with them written out (bidiMarked). So a trace's text reads as
// it ran wherever it is drawn: a cell's header row, a search snippet, a sub-call's preview, a session link.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.append(...withBidiShown(String(v)));
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : bidiMarked(String(v)));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(...(c instanceof Node ? [c] : withBidiShown(String(c))));
  }
  return el;
}
// The tag of every template that shows trace fields: a field an older or hand-made trace lacks reads "?", never
// "undefined" or "null" (a run_end without answer_source read "ANSWER from undefined").
const say = (strings, ...values) =>
  strings.reduce((text, piece, i) => text + (values[i - 1] === undefined || values[i - 1] === null ? "?" : values[i - 1]) + piece);
const plural = (n, noun) => say`${fmtInt(n)} ${noun}${n === 1 ? "" : "s"}`;
const fmtInt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
// A duration in seconds, rounded once to the unit it is shown in and only then split: 119.6 s is "2 min 0 s" (rounding
// the seconds after the minutes were taken gave "1 min 60 s"), 59.96 s is "1 min 0 s", 0.9996 s is "1.0 s".
function fmtSec(s) {
  if (s === null || s === undefined || !Number.isFinite(Number(s))) return "–";
  s = Math.max(0, Number(s));
  const ms = Math.round(s * 1000);
  if (ms < 1000) return `${ms} ms`;
  const tenths = Math.round(s * 10);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const whole = Math.round(s);
  const [h, min, sec] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  return h ? say`${fmtInt(h)} h ${min} min ${sec} s` : say`${min} min ${sec} s`;
}
// Every amount of money on the page: "$0" only for a free run; below a cent two significant digits, so a tiny cost
// never reads as zero ($0.0000045); below a millionth of a dollar "<$0.000001". The terminal's rlmx.progress.format_usd
// is the same rule: change both together (a test compares them).
function fmtUsd(c) {
  if (c === null || c === undefined) return null;
  if (c === 0) return "$0";
  if (c < 0.000001) return "<$0.000001";
  if (c < 0.001) return `$${Number(c.toPrecision(2))}`;  // Number() drops a trailing zero; >= 1e-6 never prints as 1e-6
  return `$${c.toFixed(4)}`;
}
// User text (a question, a model's name, a context's name, a reply) laid out by its own direction and isolated from
// rlmx's text around it, so neither reorders the other (W3C "Inline markup and bidirectional text in HTML").
const userText = (text, cls) => h("span", { class: cls || null, dir: "auto" }, text);
// A file name, run id or code: read left to right whatever letters it holds (a Hebrew file name must not split its
// run id), isolated as well.
const ltrText = (text, cls, tag = "span") => h(tag, { class: cls || null, dir: "ltr" }, text);
// A file name, left to right, each of its right-to-left words isolated on its own: dir="ltr" alone still draws
// "שאלה-20261202-153656-76f5….jsonl" as "…-76-שאלהf5…" (the digits after a Hebrew word join its run, UAX #9 N1).
const RTL_LETTER = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;
function fileName(name, cls) {
  const parts = [];
  let ltr = "";
  const flush = () => { if (ltr) parts.push(h("span", null, ltr)); ltr = ""; };
  for (const piece of String(name).split(/([-_.\s]+)/)) {  // words, and the separators between them
    if (!RTL_LETTER.test(piece)) { ltr += piece; continue; }
    flush();
    parts.push(h("bdi", { dir: "auto" }, piece));
  }
  flush();
  return h("bdi", { class: cls || null, dir: "ltr" }, ...parts);
}
// Characters drawn as part of the one before them: combining marks, and the vowel and final jamo of a Hangul
// syllable written decomposed (NFD, as macOS file names are).
const JOINER = "\\p{M}\\u1160-\\u11ff\\ud7b0-\\ud7ff";
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: "grapheme" });
// `i` (a UTF-16 index into `s`) moved by `step` (-1: back, 1: on) to where a whole character (a grapheme cluster,
// Unicode UAX #29) starts: never between the halves of a surrogate pair (an emoji shown as U+FFFD), before a
// combining mark (an accent off its letter), inside a flag (🇺🇸🇺🇸 cut after its first letter reads 🇸🇺) or an
// emoji joined by zero-width joiners. Only the text up to a little past `i` is segmented (a boundary depends on what
// comes before it and on the next character); more when the character holding `i` runs past that.
function charBoundary(s, i, step) {
  if (i <= 0 || i >= s.length) return i;
  for (let room = 64; ; room *= 4) {
    const end = Math.min(s.length, i + room);
    const { index, segment } = GRAPHEMES.segment(s.slice(0, end)).containing(i);
    if (index === i || step < 0) return index;
    if (index + segment.length < end || end === s.length) return index + segment.length;
  }
}
// A cut at `n` UTF-16 units, backed off to a whole character.
const cutAt = (s, n) => s.slice(0, charBoundary(s, n, -1));
const oneLine = (t, n) => {
  const s = String(t ?? "").replace(/\s+/g, " ").trim();
  return s.length > n ? cutAt(s, n - 1) + "…" : s;
};
function badge(kind, text, title) {
  return h("span", { class: say`badge b-${kind}`, title: title || null }, text ?? kind);
}
const STATUS_BADGE = {
  finished: ["ok", "finished"], budget_exhausted: ["budget", "budget exhausted"], error: ["error", "error"],
  ok: ["ok", "ok"], timeout: ["timeout", "timeout"], restarted: ["error", "restarted"], running: ["running", "running"],
  cancelled: ["muted", "cancelled"],
};
function statusBadge(status) {
  const [kind, text] = STATUS_BADGE[status] || ["muted", status || "unknown"];
  return badge(kind, text);
}

// --- Python highlighting: a tokenizer, enough for reading cells -------------------------------------------------
const PY_KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else " +
  "except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield " +
  "match case").split(" "));
const PY_BUILTINS = new Set(("print len range enumerate zip sorted reversed min max sum any all map filter list " +
  "dict set tuple str int float bool open isinstance type repr round abs sorted next iter hasattr getattr " +
  "setattr super object Exception ValueError KeyError TypeError IndexError").split(" "));
const RLM_NAMES = new Set(("llm_query llm_query_batched rlm_query rlm_query_batched FINAL FINAL_VAR SUBMIT " +
  "SHOW_VARS context answer history").split(" "));
const PY_TOKEN = new RegExp([
  /(#[^\n]*)/.source,
  /((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))/.source,
  /(\b(?:0[xXoObB][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?)\b)/.source,
  /([A-Za-z_][A-Za-z0-9_]*)/.source,
].join("|"), "g");

function highlightPython(code) {
  const out = document.createDocumentFragment();
  let last = 0;
  let prevWord = "";
  for (const m of code.matchAll(PY_TOKEN)) {
    if (m.index > last) out.append(code.slice(last, m.index));
    let cls = null;
    if (m[1]) cls = "tk-com";
    else if (m[2]) cls = "tk-str";
    else if (m[3]) cls = "tk-num";
    else if (m[4]) {
      const w = m[4];
      if (PY_KEYWORDS.has(w)) cls = "tk-kw";
      else if (prevWord === "def" || prevWord === "class") cls = "tk-def";
      else if (RLM_NAMES.has(w)) cls = "tk-rlm";
      else if (PY_BUILTINS.has(w)) cls = "tk-bi";
      else if (code[m.index + w.length] === "(") cls = "tk-fn";
      prevWord = w;
    }
    out.append(cls ? h("span", { class: cls }, m[0]) : m[0]);
    last = m.index + m[0].length;
  }
  if (last < code.length) out.append(code.slice(last));
  return out;
}

// --- collapsible boxes, rendered on first open -------------------------------------------------------------------
// A box belongs to one object of the model (obj.box); reveal(obj) opens every box up to it.
function box(obj, header, render, { open = false, cls = "" } = {}) {
  const toggle = h("span", { class: "tog", "aria-hidden": "true" });
  const head = h("div", { class: "head", role: "button", tabindex: "0" }, toggle, header);
  const body = h("div", { class: "body" });
  const el = h("div", { class: say`box ${cls}` }, head, body);
  let rendered = false;
  const b = {
    el, head, body,
    isOpen: () => el.classList.contains("open"),
    open() {
      if (!rendered) { rendered = true; body.append(render()); }
      el.classList.add("open");
    },
    close() { el.classList.remove("open"); },
    toggle() { b.isOpen() ? b.close() : b.open(); },
  };
  head.addEventListener("click", (ev) => { if (!ev.target.closest("a")) b.toggle(); });
  head.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); b.toggle(); } });
  if (obj) { obj.box = b; el.rlmxObj = obj; }
  if (open) b.open();
  return b;
}

// A long text, cut to its first lines with a button for the rest.
function clipped(text, { lines = 14, cls = "pre", code = false, prose = false } = {}) {
  text = String(text ?? "");
  const all = text.split("\n");
  const cut = all.length > lines || text.length > 3000;
  const shown = cut ? cutAt(all.slice(0, lines).join("\n"), 3000) : text;
  const pre = h("pre", { class: cls, dir: code ? null : "auto" });
  const shownParts = (t) => (prose ? withCellMarks(withBidiShown(t)) : withBidiShown(code ? highlightPython(t) : t));
  pre.append(...shownParts(shown));
  if (BIDI.test(text)) pre.classList.add("has-bidi");
  if (!cut) return pre;
  const more = h("button", { class: "more", type: "button" }, say`show all (${fmtInt(all.length)} lines, ${fmtInt(text.length)} chars)`);
  more.addEventListener("click", () => {
    pre.textContent = "";
    pre.append(...shownParts(text));
    more.remove();
  });
  return h("div", { class: "clip" }, pre, more);
}

// Text-direction controls (the "Trojan Source" trick, CVE-2021-42574): shown as visible marks, so code reads as it
// runs, as GitHub and VS Code show them.
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
const BIDI_ALL = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
const bidiName = (c) => say`<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>`;
// For text that can hold no element (an attribute, the window's title): each control written out as its mark.
const bidiMarked = (text) => (BIDI.test(text) ? text.replace(BIDI_ALL, bidiName) : text);
function withBidiShown(content) {
  const mark = (text) => {
    if (!BIDI.test(text)) return [text];
    const parts = [];
    let i = 0;
    for (const m of text.matchAll(BIDI_ALL)) {
      parts.push(text.slice(i, m.index));
      parts.push(h("span", { class: "bidi", title: "a text-direction control character: the text may read otherwise than it runs" }, bidiName(m[0])));
      i = m.index + m[0].length;
    }
    parts.push(text.slice(i));
    return parts;
  };
  if (!(content instanceof Node)) return mark(String(content));
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let t = walker.nextNode(); t; t = walker.nextNode()) if (BIDI.test(t.nodeValue)) nodes.push(t);
  for (const t of nodes) t.replaceWith(...mark(t.nodeValue));
  return [content];
}

// --- the model: events -> run tree ----------------------------------------------------------------------------
function buildRun(events) {
  const run = { kind: "run", start: null, end: null, nodes: new Map(), root: null, issues: [], unknown: new Set(), readNotes: [],
    cells: 0, subcalls: 0, failed: 0, refused: 0, searchItems: null, events: events.length, versions: new Set() };
  run.summary = { kind: "summary", up: run, box: null };  // the header: its box is set when it is drawn
  const subcalls = new Map();
  const pendingChildren = new Map(); // parent node id -> rlm sub-calls not linked to a child yet (old traces)

  function node(e) {
    let n = run.nodes.get(e.node_id);
    if (!n) {
      n = { kind: "node", id: e.node_id, depth: e.depth ?? 0, parentId: e.parent_id, start: null, end: null,
        sandbox: null, turns: [], cells: new Map(), current: null, up: null, viaSubcall: null, children: [],
        own: usage(), total: null, models: new Set(), notes: [], setups: [] };
      run.nodes.set(e.node_id, n);
    }
    return n;
  }
  function newTurn(n, number, label) {
    const t = { kind: "turn", n: number, label, lm: null, cells: [], notes: [], up: n };
    // The turn's closed boxes, made here so that search can open them before the turn is drawn.
    t.reasoning = { kind: "reasoning", up: t };
    t.sent = { kind: "msgs", up: t };
    n.turns.push(t);
    return t;
  }
  function turnOf(n, label) {
    if (!n.turns.length || label) newTurn(n, label ? null : n.turns.length + 1, label);
    return n.turns[n.turns.length - 1];
  }
  function issue(kind, text, obj) { run.issues.push({ kind, text, obj }); }

  for (const e of events) {
    if (e.v) run.versions.add(e.v);
    // Not a run's event (so not in the switch, which handles exactly the format's): the reader's note of the
    // lines it skipped (store.py: with_notes; parseEvents).
    if (e.type === "viewer_note") { run.readNotes.push(String(e.text)); continue; }
    switch (e.type) {
      case "run_start": run.start = e; break;
      case "run_end": run.end = e; break;
      case "node_start": {
        const n = node(e);
        n.start = e;
        if (e.parent_id !== null && e.parent_id !== undefined) {
          const parent = node({ node_id: e.parent_id, depth: (e.depth || 1) - 1 });
          parent.children.push(n);
          const queue = pendingChildren.get(e.parent_id) || [];
          const sc = queue.find((s) => s.start.child_id === e.node_id) || queue.find((s) => !s.start.child_id);
          if (sc) {
            queue.splice(queue.indexOf(sc), 1);
            sc.child = n; n.viaSubcall = sc; n.up = sc;
          } else n.up = parent;
        } else run.root = n;
        break;
      }
      case "sandbox_ready": node(e).sandbox = e.protections; break;
      case "iteration": {
        const n = node(e);
        newTurn(n, e.turn, null);
        break;
      }
      case "final_request": turnOf(node(e), "last-turn request"); issue("final", say`node ${e.node_id}: every turn used, last-turn request`, node(e).turns.at(-1)); break;
      case "forced_extraction": {
        const t = turnOf(node(e), "forced extraction");
        t.notes.push({ kind: "forced", text: say`forced extraction: ${e.reason}` });
        issue("forced", say`node ${e.node_id}: forced extraction (${e.reason})`, t);
        break;
      }
      case "lm_call": {
        const n = node(e);
        const t = turnOf(n);
        t.lm = e;
        addUsage(n.own, e);
        if (e.model) n.models.add(e.model);
        break;
      }
      case "lm_reply_rejected": {
        const n = node(e);
        const note = { kind: "warn", text: say`unusable reply from ${e.model} (${e.role}): ${e.error}${e.retried ? "; asked again" : ""}` };
        const c = e.role === "sub" ? n.current : null;
        if (c && !c.end) c.notes.push(note); else turnOf(n).notes.push(note);
        issue("bad_reply", say`node ${e.node_id}: unusable reply from ${e.model}: ${oneLine(e.error, 70)}`, c && !c.end ? c : turnOf(n));
        addUsage(n.own, e); // what the server billed for the rejected reply is in no other event
        break;
      }
      case "no_code": {
        const t = turnOf(node(e));
        t.notes.push({ kind: "warn", text: "the reply had no code and no FINAL; the model was told so" });
        issue("no_code", say`node ${e.node_id} turn ${t.n ?? ""}: reply without code`, t);
        break;
      }
      case "reply_overran": {
        const t = turnOf(node(e));
        t.notes.push({ kind: "warn", text: say`the reply went on past the end of its turn: ${e.ignored_chars} characters after it were not read` });
        break;
      }
      case "cell_skipped": {
        const t = turnOf(node(e));
        t.notes.push({ kind: "warn", text: say`a block did not run: ${e.reason}` });
        issue("no_code", say`node ${e.node_id} turn ${t.n ?? ""}: block cut at the output cap`, t);
        break;
      }
      case "answer_rejected": {
        const t = turnOf(node(e));
        t.notes.push({ kind: "warn", text: say`answer rejected (${e.source}): ${e.problems}` });
        issue("rejected", say`node ${e.node_id}: answer not taken (${e.source})`, t);
        break;
      }
      case "error": {
        const n = node(e);
        const t = turnOf(n);
        t.notes.push({ kind: "error", text: say`${e.error_type}: ${e.message}` });
        issue("error", say`node ${e.node_id}: ${e.error_type}: ${oneLine(e.message, 90)}`, t);
        break;
      }
      case "cell_start": {
        // A cell runs code of the reply just read: the node's latest turn. Not the turn numbered `e.turn`: the
        // last-turn request and the forced extraction are no numbered turn, and their cells carry the last one's.
        const n = node(e);
        const t = turnOf(n);
        const c = { kind: "cell", id: e.cell_id, start: e, end: null, subcalls: [], refused: [], notes: [], tools: [], up: t, node: n };
        t.cells.push(c);
        n.cells.set(e.cell_id, c);
        n.current = c;
        run.cells += 1;
        break;
      }
      case "cell": {
        const n = node(e);
        const c = n.cells.get(e.cell_id);
        if (!c) break;
        c.end = e;
        if (e.status !== "ok") {
          const kind = e.status === "timeout" ? "timeout" : "error";
          issue(kind, say`cell ${e.cell_id}: ${e.status} · ${oneLine(lastLine(e.output), 80)}`, c);
        }
        break;
      }
      case "subcall_start": {
        const n = node(e);
        const c = n.cells.get(e.cell_id) || n.current;
        const s = { kind: "subcall", id: e.subcall_id, start: e, end: null, child: null, up: c, node: n };
        s.reasoning = { kind: "reasoning", up: s };
        subcalls.set(e.subcall_id, s);
        if (c) c.subcalls.push(s);
        if (e.kind === "rlm") {
          if (!pendingChildren.has(e.node_id)) pendingChildren.set(e.node_id, []);
          pendingChildren.get(e.node_id).push(s);
        }
        run.subcalls += 1;
        break;
      }
      case "subcall_end": {
        const s = subcalls.get(e.subcall_id);
        if (!s) break;
        s.end = e;
        if (s.start.kind !== "rlm") addUsage(s.node.own, e);
        if (e.model) s.node.models.add(e.model);
        if (!e.ok) {
          run.failed += 1;
          const budget = /budget exhausted/i.test(e.text || "");
          issue(budget ? "budget" : "failed", say`sub-call ${e.subcall_id} failed: ${oneLine(e.text, 90)}`, s);
        }
        break;
      }
      case "subcall_cached": {
        const n = node(e);
        const c = n.cells.get(e.cell_id) || n.current;
        if (c) { c.cached = (c.cached || 0) + 1; c.savedTokens = (c.savedTokens || 0) + (e.saved_tokens || 0); }
        break;
      }
      case "tool_call": {
        const n = node(e);
        const c = n.cells.get(e.cell_id) || n.current;
        if (c) c.tools.push(e);
        if (!e.ok) issue("failed", say`tool ${e.name} failed in cell ${e.cell_id}: ${oneLine(e.result, 80)}`, c);
        break;
      }
      case "setup": {
        const n = node(e);
        n.setups.push(e);
        if (e.status !== "ok") issue("error", say`node ${e.node_id}: setup code ${e.status}: ${oneLine(lastLine(e.output), 80)}`, n);
        break;
      }
      case "subcalls_refused": {
        const n = node(e);
        const c = n.cells.get(e.cell_id) || n.current;
        if (c) c.refused.push(e);
        run.refused += e.count || 0;
        issue("budget", say`cell ${e.cell_id}: ${fmtInt(e.count)} sub-call(s) refused: ${oneLine(e.reason, 80)}`, c);
        break;
      }
      case "node_end": {
        const n = node(e);
        n.end = e;
        if (e.status === "budget_exhausted") issue("budget", say`node ${e.node_id}: budget exhausted: ${oneLine(e.stop_reason, 90)}`, n);
        else if (e.status === "error") issue("error", say`node ${e.node_id}: error: ${oneLine(e.stop_reason, 90)}`, n);
        break;
      }
      default:
        run.unknown.add(e.type);
    }
  }
  if (!run.root && run.nodes.size) run.root = run.nodes.values().next().value;
  for (const n of run.nodes.values()) if (!n.up && n !== run.root) n.up = run.root;
  if (run.root) { run.root.up = run; totals(run.root); }
  return run;
}
function lastLine(text) {
  const lines = String(text || "").trim().split("\n");
  return lines[lines.length - 1] || "";
}
function usage() { return { input: 0, output: 0, cost: 0, priced: true, calls: 0 }; }
function addUsage(u, e) {
  if (e.input_tokens === undefined && e.output_tokens === undefined) return;
  u.input += e.input_tokens || 0;
  u.output += e.output_tokens || 0;
  u.calls += 1;
  if (e.cost_usd === null || e.cost_usd === undefined) u.priced = false; else u.cost += e.cost_usd;
}
function totals(n) {
  const t = { ...n.own };
  for (const c of n.children) {
    const ct = totals(c);
    t.input += ct.input; t.output += ct.output; t.cost += ct.cost; t.calls += ct.calls; t.priced = t.priced && ct.priced;
  }
  n.total = t;
  return t;
}

// --- rendering ------------------------------------------------------------------------------------------------
let RUN = null;
let TRACE_NAME = CONFIG.trace || new URLSearchParams(location.search).get("trace");
let LIST = null;

function usageText(u) {
  const parts = [say`${fmtInt(u.input)} in / ${fmtInt(u.output)} out`];
  const cost = u.priced ? fmtUsd(u.cost) : (u.cost ? say`${fmtUsd(u.cost)}+` : null);
  if (cost && u.calls) parts.push(cost);
  return parts.join(" · ");
}

function renderHeader(run) {
  const s = run.start || {}, e = run.end;
  const status = e ? e.status : "running";
  const u = e && e.usage ? e.usage : null;
  const tot = run.root ? run.root.total : usage();
  const stat = (label, value, title) => h("div", { class: "stat", "data-stat": label, title: title || null }, h("div", { class: "v" }, value), h("div", { class: "k" }, label));
  const maxDepth = Math.max(0, ...[...run.nodes.values()].map((n) => n.depth));
  const answer = e ? (e.answer || "") : "";
  const session = s.session;
  const el = h("section", { class: say`summary st-${status}`, id: "summary" },
    h("div", { class: "q" }, h("span", { class: "label" }, "Question"), h("div", { class: "qtext", dir: "auto" }, s.query ?? "(no run_start event)")),
    h("div", { class: "answer-row" },
      h("div", { class: "answer" },
        h("div", { class: "label" }, "Answer", e && e.answer_source ? h("span", { class: "src" }, say` from ${e.answer_source}`) : null),
        e ? (answer ? clipped(answer, { lines: 12, cls: "pre answer-text" }) : h("div", { class: "none" }, "no answer")) : h("div", { class: "none" }, "the run has not ended (or the trace was cut short)"),
        valueText(e) !== null ? h("div", { class: "value", id: "typed-value" }, h("div", { class: "label" }, "Typed value (FINAL / SUBMIT)"), clipped(valueText(e), { lines: 8 })) : null),
      h("div", { class: "verdict" },
        statusBadge(status),
        e ? h("div", { class: "stop", id: "stop-reason", dir: "auto" }, e.stop_reason) : null,
        e && e.error ? h("div", { class: "err", dir: "auto" }, e.error) : null)),
    h("div", { class: "stats" },
      stat("time", fmtSec(e ? e.seconds : null)),
      stat("tokens in", fmtInt(u ? u.input_tokens : tot.input)),
      stat("tokens out", fmtInt(u ? u.output_tokens : tot.output)),
      stat("cost", costText(u, tot), u && u.unpriced_calls ? say`${u.unpriced_calls} of ${u.calls} LM calls had no price` : null),
      stat("LM calls", fmtInt(u ? u.calls : tot.calls)),
      // older traces of a run cut short (Ctrl-C, a crash) end with 0 iterations: then count the root's turns shown
      stat("turns", fmtInt(e && e.iterations ? e.iterations : run.root ? run.root.turns.length : 0)),
      stat("cells", fmtInt(run.cells)),
      stat("sub-calls", fmtInt(run.subcalls) + (run.failed ? say` (${fmtInt(run.failed)} failed)` : "")),
      stat("RLM nodes", fmtInt(run.nodes.size), say`deepest: depth ${maxDepth}`),
    ),
    h("div", { class: "meta" },
      metaItem("root model", s.root_model && userText(s.root_model)), metaItem("sub model", s.sub_model && userText(s.sub_model)),
      metaItem("max depth", s.max_depth), metaItem("sandbox", s.sandbox),
      metaItem("contexts", (s.contexts || []).length
        ? s.contexts.flatMap((c, i) => [i ? ", " : null, userText(c.name), say` (${c.type}, ${fmtInt(c.chars)} chars)`]) : "none"),
      metaItem("run", ltrText(e ? e.run_id : (s.run_id || ""))),
      session ? metaItem("session", [ltrText(session.id), say` · question ${session.turn}`]) : null,
    ),
    session ? h("div", { class: "session", id: "session-links" }) : null,
  );
  run.summary.box = { el, isOpen: () => true, open() {} };  // always open: search reveals its texts by scrolling to it
  return el;
}
// run_end.value as text, when it says more than the answer: a typed value (a number, an object) as JSON, a text that
// differs from the answer. null when there is none, or when it is the answer's text.
function valueText(e) {
  if (!e || e.value === null || e.value === undefined) return null;
  const text = typeof e.value === "string" ? e.value : JSON.stringify(e.value, null, 1);
  if (text === e.answer) return null;
  if (typeof e.value !== "string") {
    try { if (JSON.stringify(JSON.parse(e.answer)) === JSON.stringify(e.value)) return null; } catch (_) { /* not JSON */ }
  }
  return text;
}
function costText(u, tot) {
  if (!u) return tot.priced ? fmtUsd(tot.cost) : "no price";
  if (u.unpriced_calls && u.unpriced_calls >= u.calls) return "no price";
  // cost_usd is null when some call had no price: show the priced part, then say the rest is unpriced
  return fmtUsd(u.cost_usd ?? u.priced_cost_usd ?? 0) + (u.unpriced_calls ? " + unpriced" : "");
}
function metaItem(k, v) {
  if (v === null || v === undefined || v === "" || v.textContent === "") return null;
  return h("span", { class: "mi" }, h("span", { class: "k" }, k), " ", h("span", { class: "v" }, v));
}

function nodeBox(n, { open = false } = {}) {
  const e = n.end;
  const t = n.total || n.own;
  const title = n.depth === 0 ? "root RLM" : say`child RLM ${n.id}`;
  const header = h("div", { class: "line" },
    h("span", { class: "name" }, title),
    badge("depth", say`depth ${n.depth}`),
    n.models.size ? h("span", { class: "model" }, ...[...n.models].flatMap((m, i) => [i ? ", " : null, userText(m)])) : null,
    h("span", { class: "dim" }, plural(n.turns.filter((x) => !x.label).length, "turn")),
    h("span", { class: "dim", title: "tokens of this node and everything below it" }, usageText(t)),
    h("span", { class: "dim" }, e ? fmtSec(e.seconds) : ""),
    e ? statusBadge(e.status) : badge("running", "no end"),
    e && e.source === "forced_extraction" ? badge("forced", "forced extraction") : null,
  );
  const b = box(n, header, () => renderNodeBody(n), { open, cls: say`node d${Math.min(n.depth, 4)}` });
  b.el.dataset.node = n.id;
  return b.el;
}

// Whether the root's own start or end says more than the header (which shows the run's): the run's end of a run that
// failed in a custom client (stop_reason "the run failed: X") is not its root's ("X: the message").
function saysMore(n) {
  if (n.depth > 0) return { query: true, end: true };
  const s = RUN && RUN.start, e = RUN && RUN.end;
  return {
    query: !s || s.query !== (n.start && n.start.query),
    end: !e || e.answer !== (n.end && n.end.answer) || e.stop_reason !== (n.end && n.end.stop_reason),
  };
}

function renderNodeBody(n) {
  const frag = document.createDocumentFragment();
  const more = saysMore(n);
  if (more.query && n.start) frag.append(h("div", { class: "field" }, h("div", { class: "label" }, "Query"), clipped(n.start.query, { lines: 6 })));
  if (n.end && more.end) {
    frag.append(h("div", { class: say`field node-answer st-${n.end.status}` },
      h("div", { class: "label" }, "Answer ", h("span", { class: "detail" }, [n.end.source ? say`from ${n.end.source}` : null, n.end.stop_reason].filter(Boolean).join(" · "))),
      n.end.answer ? clipped(n.end.answer, { lines: 6 }) : h("div", { class: "none" }, "no answer")));
  }
  if (n.sandbox) frag.append(h("div", { class: "dim small" }, say`sandbox: ${sandboxText(n.sandbox)}`));
  for (const st of n.setups) {
    frag.append(h("div", { class: "field" }, h("div", { class: "label" }, "Setup code ", h("span", { class: "detail" }, say`${st.status} · ${fmtSec(st.seconds)}`)),
      clipped(st.output, { lines: 6, cls: say`pre output ${st.status !== "ok" ? "bad" : ""}` })));
  }
  for (const t of n.turns) frag.append(turnBox(t));
  return frag;
}
function sandboxText(p) {
  const parts = [p.tier];
  for (const k of ["mode", "seccomp", "landlock_abi", "uid"]) if (p[k] !== undefined && p[k] !== null) parts.push(say`${k} ${p[k]}`);
  return parts.join(" · ");
}

function turnBox(t) {
  const lm = t.lm;
  const label = t.label ? t.label : say`turn ${t.n}`;
  const notes = t.notes.map((x) => badge(x.kind === "error" ? "error" : x.kind === "forced" ? "forced" : "warn", x.kind === "error" ? "error" : x.kind === "forced" ? "forced" : "note"));
  const failedCells = t.cells.filter((c) => c.end && c.end.status !== "ok").length;
  const header = h("div", { class: "line" },
    h("span", { class: "name" }, label),
    lm ? userText(lm.model, "model") : null,
    lm ? h("span", { class: "dim" }, say`${fmtInt(lm.input_tokens)} in / ${fmtInt(lm.output_tokens)} out`) : null,
    lm && lm.cost_usd ? h("span", { class: "dim" }, fmtUsd(lm.cost_usd)) : null,
    lm ? h("span", { class: "dim" }, fmtSec(lm.seconds)) : null,
    ...replyBadges(lm),
    t.cells.length ? h("span", { class: "dim" }, say`${t.cells.length} cell${t.cells.length === 1 ? "" : "s"}`) : null,
    failedCells ? badge("error", say`${failedCells} failed`) : null,
    ...notes,
    t.cells.some((c) => c.end && c.end.finished) ? badge("ok", "finished here") : null,
  );
  return box(t, header, () => renderTurnBody(t), { open: true, cls: "turn" }).el;
}

// What a reply's finish_reason and usage_estimated (lm_call, subcall_end) say, as header badges: a reply that ended
// otherwise than by stopping, and token counts rlmx estimated.
function replyBadges(e) {
  if (!e) return [];
  const why = e.finish_reason;
  return [
    why === "length" ? badge("warn", "cut at max tokens", "finish_reason: length")
      : why && why !== "stop" ? badge("warn", say`ended: ${why}`, say`finish_reason: ${why}`) : null,
    e.usage_estimated ? badge("muted", "tokens estimated", "the server reported no token counts: rlmx estimated them") : null,
  ];
}
// The same, in words, for a reply's body: "finish_reason: stop · tokens estimated by rlmx".
function replyFacts(e) {
  const facts = [];
  if (e.finish_reason) facts.push(say`finish_reason: ${e.finish_reason}`);
  if (e.usage_estimated) facts.push("tokens estimated by rlmx (the server reported none)");
  return facts.length ? h("div", { class: "dim small reply-facts" }, facts.join(" · ")) : null;
}
// A reasoning text in a small closed box; `obj` is the model's object for it (t.reasoning, s.reasoning).
function reasoningBox(obj, text) {
  return box(obj, h("span", { class: "dim" }, "the model's reasoning"), () => clipped(text, { lines: 20, cls: "pre prose" }), { cls: "small-box" }).el;
}

// The model's text without its code blocks: each block is CELL_MARK (the cells below show the code).
const CELL_MARK = "\u0000";
function proseOf(text) {
  const prose = String(text || "").replace(/\u0000/g, "\ufffd").replace(/(`{3,})[^\n]*\n[\s\S]*?(\1|$)/g, CELL_MARK).trim();
  if (!prose.replace(/\u0000/g, "").trim()) return "";  // code only: the cells below show it
  return prose;
}
// rlmx's own "⟨code cell⟩" in place of each CELL_MARK, wrapped in a left-to-right isolate (U+2066 ... U+2069): in
// right-to-left prose its brackets would otherwise be mirrored, drawn as "⟩code cell⟨". Added after the user's own
// direction controls were made visible (withBidiShown), so only rlmx's isolates stay invisible.
function withCellMarks(parts) {
  return parts.map((p) => (typeof p === "string" ? p.replace(/\u0000/g, "\u2066⟨code cell⟩\u2069") : p));
}

// An lm_call's new_messages as [{role, content}] (a redacted copy holds one text in their place).
function messagesOf(lm) {
  const m = lm.new_messages;
  return Array.isArray(m) ? m : m ? [{ role: "messages", content: m }] : [];
}

function renderTurnBody(t) {
  const frag = document.createDocumentFragment();
  for (const note of t.notes) frag.append(h("div", { class: say`note n-${note.kind}` }, note.text));
  if (t.lm) {
    const prose = proseOf(t.lm.response);
    if (prose) frag.append(h("div", { class: "field model-text" }, h("div", { class: "label" }, "Model text"), clipped(prose, { lines: 5, cls: "pre prose", prose: true })));
    if (t.lm.reasoning) frag.append(reasoningBox(t.reasoning, t.lm.reasoning));
    const msgs = messagesOf(t.lm);
    frag.append(box(t.sent, h("span", { class: "dim" }, say`what the model was sent (${msgs.length} new message${msgs.length === 1 ? "" : "s"}) and its whole reply`), () =>
      h("div", null, ...msgs.map((m) => h("div", { class: "msg" }, h("div", { class: "label" }, m.role), clipped(m.content, { lines: 10 }))),
        h("div", { class: "msg" }, h("div", { class: "label" }, "reply"), clipped(t.lm.response, { lines: 30 }), replyFacts(t.lm))), { cls: "small-box" }).el);
  }
  for (const c of t.cells) frag.append(cellBox(c));
  if (!t.lm && !t.cells.length && !t.notes.length) {
    frag.append(h("div", { class: "none" }, "no reply: the run stopped before the LM answered this turn"));
  }
  return frag;
}

function cellBox(c) {
  const e = c.end;
  const failed = c.subcalls.filter((s) => s.end && !s.end.ok).length;
  const refused = c.refused.reduce((a, r) => a + (r.count || 0), 0);
  const children = c.subcalls.filter((s) => s.start.kind === "rlm").length;
  const header = h("div", { class: "line" },
    h("span", { class: "name" }, say`cell ${c.id.split("/").pop().replace("c", "")}`),
    ltrText(oneLine(firstCodeLine(c.start.code), 70), "firstline", "code"),
    e ? statusBadge(e.status) : badge("running", "no end"),
    e ? h("span", { class: "dim" }, fmtSec(e.seconds)) : null,
    c.subcalls.length ? h("span", { class: "dim" }, say`${fmtInt(c.subcalls.length)} sub-call${c.subcalls.length === 1 ? "" : "s"}`) : null,
    children ? badge("child", say`${children} child RLM${children === 1 ? "" : "s"}`) : null,
    failed ? badge("error", say`${failed} failed`) : null,
    refused ? badge("budget", say`${refused} refused`) : null,
    c.cached ? badge("muted", say`${c.cached} from cache`, say`${fmtInt(c.savedTokens)} tokens saved`) : null,
    c.tools.length ? badge("llm", say`${c.tools.length} tool call${c.tools.length === 1 ? "" : "s"}`) : null,
    e && e.finished ? badge("ok", "FINAL") : null,
  );
  const b = box(c, header, () => renderCellBody(c), { cls: say`cell ${e && e.status !== "ok" ? "bad" : ""}` });
  b.el.dataset.cell = c.id;
  return b.el;
}
function firstCodeLine(code) {
  return (String(code || "").split("\n").find((l) => l.trim() && !l.trim().startsWith("#")) || "").trim();
}

function renderCellBody(c) {
  const frag = document.createDocumentFragment();
  frag.append(clipped(c.start.code, { lines: 25, cls: "pre code", code: true }));
  if (c.end) {
    const cut = c.end.truncated_chars ? say` (${fmtInt(c.end.truncated_chars)} characters cut by the sandbox)` : "";
    frag.append(h("div", { class: "field" }, h("div", { class: "label" }, "Output", h("span", { class: "dim" }, cut)),
      clipped(c.end.output, { lines: 12, cls: say`pre output ${c.end.status !== "ok" ? "bad" : ""}` })));
  }
  for (const note of c.notes) frag.append(h("div", { class: say`note n-${note.kind}` }, note.text));
  for (const t of c.tools) {
    const args = String(t.arguments ?? ""), result = String(t.result ?? "");
    frag.append(h("div", { class: say`note ${t.ok ? "n-tool" : "n-error"}` },
      ltrText(say`${t.name}(${oneLine(args, 120)})`, null, "code"), " → ", userText(oneLine(result, 160)),
      h("span", { class: "dim" }, say` · ${fmtSec(t.seconds)}`)));
    // The line above is a preview: arguments or a result it cut (or flattened) are shown whole below it.
    if (oneLine(args, 120) !== args || oneLine(result, 160) !== result) {
      frag.append(h("div", { class: "field tool-whole" }, h("div", { class: "label" }, say`${t.name}: arguments`), clipped(args, { lines: 6 }),
        h("div", { class: "label" }, t.ok ? "result" : "error"), clipped(result, { lines: 6, cls: say`pre ${t.ok ? "" : "output bad"}` })));
    }
  }
  if (c.cached) frag.append(h("div", { class: "dim small" }, say`${fmtInt(c.cached)} sub-call(s) answered from the run's cache (identical requests), ${fmtInt(c.savedTokens)} tokens saved`));
  for (const r of c.refused) {
    const what = r.requested === "tool" ? "tool call(s)" : say`${r.requested}_query item(s)`;
    frag.append(h("div", { class: "note n-budget" }, say`${fmtInt(r.count)} ${what} refused: ${r.reason}`));
  }
  if (c.subcalls.length) {
    const list = { kind: "sublist", up: c };
    c.sublist = list;  // expandAll opens it when it holds child RLMs
    const failed = c.subcalls.filter((s) => s.end && !s.end.ok).length;
    frag.append(box(list, h("div", { class: "line" }, h("span", { class: "name" }, say`${fmtInt(c.subcalls.length)} sub-call${c.subcalls.length === 1 ? "" : "s"}`),
      failed ? badge("error", say`${failed} failed`) : null),
    () => renderSubcalls(c), { open: c.subcalls.length <= 20, cls: "subcalls" }).el);
    for (const s of c.subcalls) s.up = list;
  }
  return frag;
}

function renderSubcalls(c) {
  const wrap = h("div", { class: "rows" });
  for (const s of c.subcalls) wrap.append(subcallBox(s));
  return wrap;
}

function subcallBox(s) {
  const st = s.start, e = s.end;
  const isChild = st.kind === "rlm";
  const header = h("div", { class: "line" },
    h("span", { class: "name" }, st.subcall_id.split("/").pop()),
    isChild ? badge("child", say`child RLM ${st.child_id || (s.child ? s.child.id : "")}`) : badge("llm", st.requested === "rlm" ? "llm (max depth)" : "llm_query"),
    e && e.model ? userText(e.model, "model") : st.model ? userText(st.model, "model") : null,
    userText(oneLine(st.prompt, 60), "preview"),
    h("span", { class: "dim" }, say`${fmtInt(st.prompt_chars)} chars`),
    e && e.input_tokens !== undefined ? h("span", { class: "dim" }, say`${fmtInt(e.input_tokens)} in / ${fmtInt(e.output_tokens)} out`) : null,
    isChild && s.child && s.child.total ? h("span", { class: "dim" }, usageText(s.child.total)) : null,
    isChild && s.child && s.child.end && s.child.end.status !== "finished" ? statusBadge(s.child.end.status) : null,
    e ? h("span", { class: "dim" }, fmtSec(e.seconds)) : null,
    ...replyBadges(e),
    e ? (e.ok ? badge("ok", "ok") : badge(/budget exhausted/i.test(e.text || "") ? "budget" : "error", "failed")) : badge("running", "no end"),
  );
  const b = box(s, header, () => renderSubcallBody(s), { cls: say`subcall ${e && !e.ok ? "bad" : ""}` });
  b.el.dataset.subcall = st.subcall_id;
  return b.el;
}

function renderSubcallBody(s) {
  const frag = document.createDocumentFragment();
  frag.append(h("div", { class: "field" }, h("div", { class: "label" }, "Prompt"), clipped(s.start.prompt, { lines: 8 })));
  if (s.end) {
    frag.append(h("div", { class: "field" }, h("div", { class: "label" }, s.end.ok ? "Reply" : "Error"),
      clipped(s.end.text, { lines: 8, cls: say`pre ${s.end.ok ? "" : "output bad"}` })));
    const facts = replyFacts(s.end);
    if (facts) frag.append(facts);
    if (s.end.reasoning) frag.append(reasoningBox(s.reasoning, s.end.reasoning));
  }
  if (s.child) frag.append(nodeBox(s.child, { open: true }));
  return frag;
}

// --- reveal, issues, search --------------------------------------------------------------------------------------
function reveal(obj) {
  // Open the outermost closed box above obj, again and again: opening a box draws its content, which can give
  // obj a nearer parent (a cell's sub-call list) that is itself still closed.
  for (let guard = 0; guard < 100; guard++) {
    const chain = [];
    for (let o = obj.up; o && o.kind !== "run"; o = o.up) chain.unshift(o);
    const closed = chain.find((o) => o.box && !o.box.isOpen());
    if (!closed) break;
    closed.box.open();
  }
  const el = obj.box ? obj.box.el : null;
  if (el) {
    if (obj.kind !== "node") obj.box.open();
    el.scrollIntoView({ block: "center" });
    el.classList.remove("flash");
    void el.offsetWidth;
    el.classList.add("flash");
  }
  return el;
}

const ISSUE_LABEL = { error: ["error", "errors"], failed: ["failed sub-call", "failed sub-calls"],
  timeout: ["timeout", "timeouts"], budget: ["budget stop", "budget stops"],
  forced: ["forced extraction", "forced extractions"], final: ["last-turn request", "last-turn requests"],
  rejected: ["rejected answer", "rejected answers"], no_code: ["reply without code", "replies without code"],
  bad_reply: ["unusable LM reply", "unusable LM replies"] };

function renderIssues(run) {
  const counts = {};
  for (const i of run.issues) counts[i.kind] = (counts[i.kind] || 0) + 1;
  const panel = h("div", { class: "issues", id: "issues" });
  if (!run.issues.length) {
    panel.append(h("span", { class: "dim" }, "No errors, timeouts, failed sub-calls or budget stops."));
    return panel;
  }
  const list = h("ol", { class: "issue-list" });
  let active = null;
  const show = (kind) => {
    active = active === kind ? null : kind;
    for (const chip of panel.querySelectorAll(".chip")) chip.classList.toggle("on", chip.dataset.kind === active);
    list.textContent = "";
    const items = run.issues.filter((i) => !active || i.kind === active);
    for (const i of items.slice(0, 300)) {
      list.append(h("li", { class: say`issue i-${i.kind}` }, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); if (i.obj) reveal(i.obj); } }, i.text)));
    }
    if (items.length > 300) list.append(h("li", { class: "dim" }, say`… ${items.length - 300} more`));
  };
  const chips = Object.entries(counts).map(([kind, n]) =>
    h("button", { type: "button", class: say`chip c-${kind}`, "data-kind": kind, onclick: () => show(kind) }, say`${n} ${(ISSUE_LABEL[kind] || [kind, kind])[n === 1 ? 0 : 1]}`));
  panel.append(h("div", { class: "chips" }, h("span", { class: "label" }, "Find:"), ...chips), list);
  show(null);
  return panel;
}

// Every text of the trace that the page shows, each with the object that shows it (reveal opens the boxes above it).
// It covers every content field of the format (rlmx.events: "content"), and the stop reasons, which quote errors;
// a test fills each such field of every event type and searches for it. The messages sent to a root LM repeat texts
// found elsewhere (the question, cell outputs, rlmx's notes): their hits are `copy`, listed after the others.
function searchItems(run) {
  if (run.searchItems) return run.searchItems;
  const items = [];
  const add = (obj, where, text, copy = false) => {
    if (text !== null && text !== undefined && text !== "") items.push({ obj, where, text: typeof text === "string" ? text : JSON.stringify(text), copy });
  };
  const e = run.end;
  if (run.start && run.start.query !== (run.root && run.root.start && run.root.start.query)) add(run.summary, "question", run.start.query);
  if (e) {
    if (e.answer !== (run.root && run.root.end && run.root.end.answer)) add(run.summary, "answer", e.answer);
    add(run.summary, "value", valueText(e));
    add(run.summary, "stop reason", e.stop_reason);
    add(run.summary, "error", e.error);
  }
  for (const n of run.nodes.values()) {
    if (n.start) add(n, say`node ${n.id} query`, n.start.query);
    if (n.end) add(n, say`node ${n.id} answer`, n.end.answer);
    if (n.end && (!e || n !== run.root || n.end.stop_reason !== e.stop_reason)) add(n, say`node ${n.id} stop reason`, n.end.stop_reason);
    for (const st of n.setups) add(n, say`node ${n.id} setup output`, st.output);
    for (const t of n.turns) {
      const turn = say`node ${n.id} ${t.label || "turn " + t.n}`;
      if (t.lm) add(t, say`${turn} reply`, t.lm.response);
      if (t.lm) add(t.reasoning, say`${turn} reasoning`, t.lm.reasoning);
      if (t.lm) messagesOf(t.lm).forEach((m, i) => add(t.sent, say`${turn} message ${i + 1} (${m.role})`, m.content, true));
      for (const note of t.notes) add(t, turn, note.text);
      for (const c of t.cells) {
        add(c, say`cell ${c.id} code`, c.start.code);
        if (c.end) add(c, say`cell ${c.id} output`, c.end.output);
        for (const note of c.notes) add(c, say`cell ${c.id}`, note.text);
        for (const tc of c.tools) add(c, say`cell ${c.id} tool ${tc.name}`, say`${tc.arguments} → ${tc.result}`);
        for (const s of c.subcalls) {
          add(s, say`sub-call ${s.id} prompt`, s.start.prompt);
          if (s.end) add(s, say`sub-call ${s.id} ${s.end.ok ? "reply" : "error"}`, s.end.text);
          if (s.end) add(s.reasoning, say`sub-call ${s.id} reasoning`, s.end.reasoning);
        }
      }
    }
  }
  run.searchItems = [...items.filter((i) => !i.copy), ...items.filter((i) => i.copy)];
  return run.searchItems;
}

// Search compares canonical decompositions (NFD, Unicode UAX #15): "é" typed on a keyboard (U+00E9) and "e" + U+0301
// (macOS file names) are the same text and are shown the same. A hit is found in the decomposed copy and mapped back
// to whole characters of the original text, which is what the snippet shows and the page marks.
const CLUSTER = new RegExp(say`[^${JOINER}][${JOINER}]*|[${JOINER}]+`, "gu");
// `text` as search sees it: `norm`, its decomposition, and `span(i, j)`: the range of `text`, [start, end) in UTF-16
// units, of whole characters that `norm.slice(i, j)` comes from (j > i).
function searchForm(text) {
  const norm = text.normalize("NFD");
  if (norm === text) return { norm, span: (i, j) => [charBoundary(text, i, -1), j] };  // a term may start with a mark
  let unitChar = null;  // per unit of `norm`: which character (cluster) of `text` it comes from; built when first asked
  const charStart = [];
  const span = (i, j) => {
    if (!unitChar) {
      unitChar = new Int32Array(norm.length);
      let n = 0;
      // A base and its marks decompose on their own: the parts add up to `norm` (canonical reordering moves only marks).
      for (const m of text.matchAll(CLUSTER)) {
        const k = charStart.push(m.index) - 1, len = m[0].normalize("NFD").length;
        unitChar.fill(k, n, n + len);
        n += len;
      }
      charStart.push(text.length);
    }
    return [charStart[unitChar[i]], charStart[unitChar[j - 1] + 1]];
  };
  return { norm, span };
}
// The term as a case-insensitive pattern over decomposed text. Its end may not fall inside a character: "cafe" does
// not find "café" in either form. (Lower-casing a copy instead drifts: "İ" becomes two units.)
const termPattern = (term) =>
  new RegExp(term.normalize("NFD").replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + say`(?![${JOINER}])`, "giu");
// The ranges of `text` ([start, end) in UTF-16 units, in order, not overlapping) that `pattern` matches.
function hitsIn(text, pattern, form = searchForm(text)) {
  const ranges = [];
  pattern.lastIndex = 0;  // matchAll starts where the pattern's last test() left off
  for (const m of form.norm.matchAll(pattern)) {
    const [start, end] = form.span(m.index, m.index + m[0].length);
    if (!ranges.length || start >= ranges[ranges.length - 1][1]) ranges.push([start, end]);
  }
  return ranges;
}
function markIn(el, term) {
  if (!el || !term) return;
  const pattern = termPattern(term);
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (t.parentElement.closest(".head") && el.rlmxObj && el.rlmxObj.kind === "node") continue;
    const ranges = hitsIn(t.nodeValue, pattern);
    if (ranges.length) found.push([t, ranges]);
  }
  for (const [t, ranges] of found.slice(0, 200)) {
    const frag = document.createDocumentFragment();
    const text = t.nodeValue;
    let i = 0;
    for (const [start, end] of ranges) {
      const hit = document.createElement("mark");  // not h(): this text was drawn already (rlmx's isolates kept)
      hit.textContent = text.slice(start, end);
      frag.append(text.slice(i, start), hit);
      i = end;
    }
    frag.append(text.slice(i));
    t.replaceWith(frag);
  }
}
// Marks go, and the text they split is joined again: markIn searches one text node at a time, so "of café" was not
// marked after "café" had been.
function clearMarks() {
  const parents = new Set();
  for (const m of document.querySelectorAll("#tree mark")) {
    parents.add(m.parentNode);
    m.replaceWith(m.textContent);
  }
  for (const p of parents) p.normalize();  // joins adjacent text nodes (DOM Node.normalize, not Unicode's)
}

function setupSearch(run) {
  const input = document.getElementById("search");
  const results = document.getElementById("results");
  let timer = null;
  const go = () => {
    clearMarks();
    const term = input.value.trim();
    results.textContent = "";
    if (!term) { results.hidden = true; return; }
    const pattern = termPattern(term);
    const hits = searchItems(run).filter((i) => {
      i.form = i.form || searchForm(i.text);
      pattern.lastIndex = 0;
      return pattern.test(i.form.norm);
    });
    results.hidden = false;
    const own = hits.filter((i) => !i.copy).length, copies = hits.length - own;
    results.append(h("div", { class: "count" }, h("span", { id: "search-count" }, say`${fmtInt(own)} match${own === 1 ? "" : "es"} for “${term}”`),
      copies ? h("span", { class: "dim", id: "search-copies" }, say` and ${fmtInt(copies)} in the messages sent to the model`) : null));
    const list = h("ol", { class: "hits" });
    for (const hit of hits.slice(0, 200)) {
      pattern.lastIndex = 0;
      const found = pattern.exec(hit.form.norm);
      const [at, end] = hit.form.span(found.index, found.index + found[0].length);
      const from = charBoundary(hit.text, Math.max(0, at - 40), 1), to = charBoundary(hit.text, end + 60, -1);
      const snippet = [hit.text.slice(from, at).replace(/\s+/g, " "), h("mark", null, hit.text.slice(at, end)), hit.text.slice(end, to).replace(/\s+/g, " ")];
      // dir="auto" takes the snippet's direction: the label, an isolate of its own (dir="ltr"), is skipped.
      list.append(h("li", null, h("a", { href: "#", class: "hit", onclick: (ev) => {
        ev.preventDefault();
        clearMarks();
        markIn(reveal(hit.obj), term);
      }, dir: "auto" }, h("span", { class: "where", dir: "ltr" }, hit.where), " ", from ? "…" : "", ...snippet)));
    }
    if (hits.length > 200) list.append(h("li", { class: "dim" }, say`… ${hits.length - 200} more; refine the search`));
    results.append(list);
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(go, 150); });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && document.activeElement !== input) { ev.preventDefault(); input.focus(); }
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      clearTimeout(timer); go();
      const first = results.querySelector("a.hit");
      if (first) first.click();
    }
  });
}

// --- sessions and the trace list ---------------------------------------------------------------------------------
// `rlmx view`'s token, when the page was opened with one: sent with the page's own requests and links, so the printed
// URL works where its cookie is not sent (SameSite=Strict: in a frame on another site, e.g. Jupyter's IFrame). The
// server sends the page with "Referrer-Policy: no-referrer", so the token never leaves in a Referer.
const VIEW_TOKEN = new URLSearchParams(location.search).get("token");
function withToken(query) { return VIEW_TOKEN ? say`${query}${query === "?" ? "" : "&"}token=${encodeURIComponent(VIEW_TOKEN)}` : query; }
function traceHref(name) { return withToken(say`?trace=${encodeURIComponent(name)}`); }

function renderSessionLinks(run) {
  const holder = document.getElementById("session-links");
  const session = run.start && run.start.session;
  if (!holder || !session) return;
  if (!LIST) { holder.append(h("span", { class: "dim" }, "The other questions of this session are in their own traces.")); return; }
  const mates = LIST.filter((t) => t.session_id === session.id).sort((a, b) => a.session_turn - b.session_turn);
  holder.append(h("span", { class: "label" }, "Questions of this session: "),
    ...mates.map((t) => t.name === TRACE_NAME
      ? h("span", { class: "turn-link cur", title: t.query }, say`${t.session_turn}. `, userText(oneLine(t.query, 40)))
      : h("a", { class: "turn-link", href: traceHref(t.name), title: t.query }, say`${t.session_turn}. `, userText(oneLine(t.query, 40)))));
}

function renderList(list) {
  const main = document.getElementById("main");
  main.textContent = "";
  document.title = "rlmx traces";
  if (!list.length) {
    main.append(h("div", { class: "empty" }, "No traces here yet. Run `rlmx ask ...` and come back."));
    return;
  }
  const rows = list.map((t, i) => h("tr", null,
    h("td", { class: "dim num", title: say`rlmx view ${i + 1}` }, String(i + 1)),
    h("td", { class: "dim nowrap" }, t.started || ""),
    h("td", null, statusBadge(t.status)),
    h("td", { class: "qcell" }, h("a", { href: traceHref(t.name), dir: "auto" }, oneLine(t.query, 110) || "(no query)"),
      t.stop_reason ? h("div", { class: "dim small", dir: "auto" }, oneLine(t.stop_reason, 120)) : null,
      t.unreadable_lines ? h("div", { class: "small n-warn damaged" },
        say`${fmtInt(t.unreadable_lines)} unreadable line${t.unreadable_lines === 1 ? "" : "s"} (not JSON objects): open it to see which`) : null),
    h("td", { class: "dim nowrap" }, t.session_id ? ["session ", ltrText(t.session_id), say` · ${t.session_turn}`] : ""),
    h("td", { class: "dim nowrap num" }, t.seconds !== null && t.seconds !== undefined ? fmtSec(t.seconds) : ""),
    h("td", { class: "dim nowrap num" }, say`${fmtInt(Math.ceil(t.bytes / 1024))} KB`)));
  main.append(h("h2", null, say`Recent traces (${list.length})`),
    h("table", { class: "trace-list" }, h("thead", null, h("tr", null, ...["#", "started", "status", "question", "session", "time", "size"].map((x) => h("th", null, x)))), h("tbody", null, ...rows)));
}

// --- loading ------------------------------------------------------------------------------------------------------
// A server started with an API key (rlmx serve --server-api-key-env) wants it on every request: open the page
// as /view/ID#key=KEY. The fragment never leaves the browser; the key goes only into the Authorization header.
// `rlmx view`'s token goes as "Authorization: token T" (see VIEW_TOKEN).
function authHeaders() {
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  if (key) return { Authorization: say`Bearer ${key}` };
  return VIEW_TOKEN ? { Authorization: say`token ${VIEW_TOKEN}` } : {};
}
async function fetchEvents(url) {
  const res = await fetch(url, { headers: authHeaders() });
  if (res.status === 401) {
    throw new Error("this server needs its API key: open the page as " +
      say`${location.pathname}#key=YOUR_KEY (the key stays in the browser and is sent only as the Authorization header)`);
  }
  if (!res.ok) throw new Error(say`${url}: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  return parseEvents(text);
}
function parseEvents(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) return JSON.parse(trimmed);
  if (trimmed.startsWith("{") && !trimmed.includes("\n")) {
    const obj = JSON.parse(trimmed);
    if (Array.isArray(obj.events)) return obj.events;
    if (obj.trace && Array.isArray(obj.trace.events)) return obj.trace.events;
    return [obj];
  }
  if (trimmed.startsWith("{") ) {
    try {
      const obj = JSON.parse(trimmed);
      if (Array.isArray(obj.events)) return obj.events;
    } catch (_) { /* JSON Lines */ }
  }
  // JSON Lines: a line that is not a JSON object is skipped and named in a note (the first few, then a count), as
  // store.py's read_trace does; only the last line may be cut short by a run still writing it, without a note.
  const events = [], skipped = [];
  let count = 0;
  const lines = text.trimEnd().split("\n");  // not `trimmed`: a blank first line still counts as line 1
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let e;
    try { e = JSON.parse(line); } catch (_) { if (i === lines.length - 1) return; }
    if (e && typeof e === "object" && !Array.isArray(e)) { events.push(e); return; }
    if (++count <= 5) skipped.push(i + 1);
  });
  if (count) {
    const where = say`line${count === 1 ? "" : "s"} ${skipped.join(", ")}${count > skipped.length ? say` and ${fmtInt(count - skipped.length)} more` : ""}`;
    const what = count === 1 ? "1 line that is not a JSON object" : say`${fmtInt(count)} lines that are not JSON objects`;
    events.push({ type: "viewer_note", text: say`Skipped ${what} (${where}): another program wrote into the trace, or a write was cut short.` });
  }
  return events;
}

// A copy made by `rlmx traces --redact` holds {"redacted": chars, "sha256": ...} where text was: shown as such.
const isRedacted = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && typeof v.redacted === "number" && typeof v.sha256 === "string";
function unredacted(event) {
  const out = {};
  for (const [k, v] of Object.entries(event)) {
    out[k] = isRedacted(v) ? say`⟨redacted: ${fmtInt(v.redacted)} chars, sha256 ${v.sha256.slice(0, 12)}…⟩` : v;
  }
  return out;
}

function showRun(events) {
  events = events.map((e) => (e && typeof e === "object" ? unredacted(e) : e));
  const run = buildRun(events);
  RUN = run;
  window.rlmxRun = run;
  const main = document.getElementById("main");
  main.textContent = "";
  document.title = bidiMarked(say`rlmx · ${oneLine(run.start ? run.start.query : "trace", 60)}`);
  const warnings = [];
  const other = [...run.versions].filter((v) => v !== FORMAT);
  if (other.length) warnings.push(say`This trace is in format ${other.join(", ")}; this viewer reads ${FORMAT}. Some parts may be missing.`);
  if (run.unknown.size) warnings.push(say`Event types this viewer does not know were skipped: ${[...run.unknown].join(", ")}.`);
  warnings.push(...run.readNotes);
  for (const w of warnings) main.append(h("div", { class: "note n-warn" }, w));
  if (!run.end && run.start) {
    main.append(h("div", { class: "note n-warn", id: "not-ended" },
      "This run has not ended: it is still running, or it stopped before writing its last event. ",
      h("button", { type: "button", onclick: () => location.reload() }, "reload")));
  }
  main.append(renderHeader(run));
  main.append(h("div", { class: "sticky" },
    h("div", { class: "toolbar" },
      h("input", { id: "search", type: "search", placeholder: "Search the trace: code, outputs, prompts, replies… (press / to search)", autocomplete: "off" }),
      h("button", { type: "button", onclick: () => expandAll(run) }, "expand all"),
      h("button", { type: "button", onclick: () => collapseAll() }, "collapse all")),
    h("div", { id: "results", class: "results", hidden: true })));
  main.append(renderIssues(run));
  const tree = h("div", { id: "tree" });
  main.append(tree);
  if (run.root) tree.append(nodeBox(run.root, { open: true }));
  else tree.append(h("div", { class: "empty" }, "This trace has no events of a run."));
  setupSearch(run);
  renderSessionLinks(run);
  window.rlmxRenderMs = performance.now() - T0;
  document.body.dataset.ready = "1";
}

function expandAll(run) {
  const walk = (n) => {
    n.box && n.box.open();
    for (const t of n.turns) {
      t.box && t.box.open();
      for (const c of t.cells) {
        if (c.box) c.box.open();
        for (const s of c.subcalls) {
          if (!s.child) continue;
          // A long list starts closed and builds its rows on first open: open it so the child's row exists.
          // Lists of plain llm_query calls stay closed (the README promises cells and child RLMs only).
          if (c.sublist && c.sublist.box) c.sublist.box.open();
          if (s.box) s.box.open();  // renders the child's box, which the walk then opens
          walk(s.child);
        }
      }
    }
  };
  if (run.root) walk(run.root);
}
function collapseAll() {
  for (const el of document.querySelectorAll("#tree .box.open")) if (!el.classList.contains("turn")) el.classList.remove("open");
}

async function main() {
  const nav = document.getElementById("nav");
  try {
    if (CONFIG.listUrl) {
      try { LIST = await (await fetch(CONFIG.listUrl, { headers: authHeaders() })).json(); } catch (_) { LIST = null; }
      nav.append(h("a", { href: withToken("?") }, "all traces"));
    }
    if (CONFIG.traceUrl || TRACE_NAME) {
      const url = CONFIG.traceUrl || say`${CONFIG.traceBase}${encodeURIComponent(TRACE_NAME)}`;
      if (TRACE_NAME) nav.append(" · ", fileName(TRACE_NAME, "dim trace-name"));
      showRun(await fetchEvents(url));
    } else if (CONFIG.events) {
      showRun(CONFIG.events);
    } else if (LIST) {
      renderList(LIST);
      document.body.dataset.ready = "1";
    } else {
      document.getElementById("main").append(h("div", { class: "empty" }, "No trace to show."));
      document.body.dataset.ready = "1";
    }
  } catch (err) {
    document.getElementById("main").append(h("div", { class: "note n-error", id: "load-error" }, say`Could not load the trace: ${err.message}`));
    document.body.dataset.ready = "error";
  }
}
main();
