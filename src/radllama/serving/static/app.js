// The radiologist's page: plain JavaScript, no build step, no network beyond this server.
// Report text stays in this page's memory: never in localStorage/sessionStorage/cookies or
// the URL (requests are POST bodies), and the server logs only ids, sizes and timings.
"use strict";

const $ = (id) => document.getElementById(id);
const els = {
  model: $("model"), keyRow: $("key-row"), key: $("api-key"), exam: $("exam"),
  codes: $("exam-codes"), findings: $("findings"), generate: $("generate"), copy: $("copy"),
  status: $("status"), draft: $("draft"), timing: $("timing"), flagsBox: $("flags-box"),
  flags: $("flags"), priorsBox: $("priors-box"), priors: $("priors"),
};
let busy = false;
let retryTimer = null;

const REASONS = {
  not_in_findings: "Not mentioned in the findings",
  contradicts_findings: "The findings say this is absent",
};

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = els.key.value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

function say(text, isError = false) {
  els.status.textContent = text;
  els.status.classList.toggle("error", isError);
}

// Server errors in words a radiologist can act on.
function explain(status, body, retryAfter) {
  const detail = body && body.error ? body.error : {};
  if (status === 401) {
    els.keyRow.hidden = false;
    els.key.focus();
    return "This server needs an access key. Enter the key you were given (ask IT if you have none) in the Access key field, then draft again.";
  }
  if (status === 413) return "The findings are too long for this server. Shorten them or draft the report in parts.";
  if (status === 408) return "The report did not reach the server in time. Check the network connection and try again.";
  if (status === 503) {
    const wait = Number(retryAfter || (detail.retry_after ?? 0));
    if (detail.code === "generation_failed") return "The drafting service failed on this report. Try again; if it keeps failing, tell IT (the error was logged without report text).";
    return wait > 0
      ? `The drafting service is busy. Try again in ${wait} second${wait === 1 ? "" : "s"}.`
      : "The drafting service is busy. Try again in a moment.";
  }
  if (status === 400 && detail.param === "findings") return "Check the findings: " + detail.message;
  if (status >= 400 && status < 500) return "The server did not accept this request: " + (detail.message || status);
  return "The drafting service had an internal problem (it was logged). Try again.";
}

async function loadInfo() {
  try {
    const info = await (await fetch("/ui/info")).json();
    els.model.textContent = "model: " + info.model;
    els.keyRow.hidden = !info.auth_required;
    await loadExamCodes();
  } catch (e) {
    els.model.textContent = "server not reachable";
  }
}

async function loadExamCodes() {
  const response = await fetch("/v1/exam-codes", { headers: headers() });
  if (!response.ok) return; // 401 before a key is entered: suggestions come after it
  const { exam_codes } = await response.json();
  els.codes.replaceChildren(...exam_codes.map((code) => Object.assign(document.createElement("option"), { value: code })));
}

// Everything the server sends (the draft, flags, prior cases) is report text: it goes into
// the page as text nodes and attributes, never through HTML strings or String.replace, so
// no character of it (`<`, `$&`, a sentence repeated inside another) can change the markup
// or the text that Copy copies.
function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// Sentence spans of a text, split as the server's flags split it
// (radllama.evaluate.clinical._SENTENCE_SPLIT: "." not between digits, ";", "!", "?",
// newline), each trimmed as Python's str.strip() would: [{start, end, text}].
const SENTENCE_END = /(?<!\d)\.(?!\d)|[;!?\n]/g;
function sentenceSpans(text) {
  const spans = [];
  const push = (from, to) => {
    const raw = text.slice(from, to);
    const trimmed = raw.trim();
    if (!trimmed) return;
    const start = from + (raw.length - raw.trimStart().length);
    spans.push({ start, end: start + trimmed.length, text: trimmed });
  };
  let from = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    push(from, match.index);
    from = match.index + match[0].length;
  }
  push(from, text.length);
  return spans;
}

// The draft as text nodes, each flagged sentence wrapped in a <mark> whose reason shows on
// hover and focus. A flag names its sentence; it marks the first sentence of the draft with
// exactly that text (as the server flags the first), located by offsets, never by search
// and replace. The draft's text content is exactly `impression`.
function renderFlags(impression, flags) {
  const bySentence = new Map();
  for (const f of flags) {
    const list = bySentence.get(f.sentence) || [];
    list.push(f);
    bySentence.set(f.sentence, list);
  }
  const spans = sentenceSpans(impression);
  const marked = [];
  for (const [sentence, list] of bySentence) {
    const span = spans.find((s) => s.text === sentence && !s.used);
    if (!span) continue; // listed under "Check these statements" all the same
    span.used = true;
    marked.push({ ...span, reason: list.map((f) => `${f.observation}: ${REASONS[f.reason] || f.reason}`).join("; ") });
  }
  marked.sort((a, b) => a.start - b.start);
  const parts = [];
  let cursor = 0;
  for (const m of marked) {
    parts.push(document.createTextNode(impression.slice(cursor, m.start)));
    const mark = element("mark", { className: "flag", tabIndex: 0, textContent: impression.slice(m.start, m.end) });
    mark.dataset.reason = m.reason;
    mark.setAttribute("aria-label", `${m.text} (${m.reason})`);
    parts.push(mark);
    cursor = m.end;
  }
  parts.push(document.createTextNode(impression.slice(cursor)));
  els.draft.replaceChildren(...parts);
  els.flags.replaceChildren(...flags.map((f) => element("li", {},
    `“${f.text || f.observation}” `,
    element("span", { className: "reason", textContent: `— ${REASONS[f.reason] || f.reason}` }))));
  els.flagsBox.hidden = flags.length === 0;
}

function renderPriors(retrieved, retrieval) {
  if (retrieval && retrieval.status === "failed") {
    els.priorsBox.hidden = false;
    els.priors.replaceChildren(element("li", {
      className: "muted",
      textContent: "Similar prior cases could not be looked up; this draft was written without them.",
    }));
    return;
  }
  els.priorsBox.hidden = !retrieved || retrieved.length === 0;
  if (els.priorsBox.hidden) return;
  els.priors.replaceChildren(...retrieved.map((prior) => {
    const score = prior.score ?? prior.similarity;
    const head = [prior.exam_code, score != null ? `similarity ${Number(score).toFixed(2)}` : null].filter(Boolean).join(" · ");
    return element("li", {},
      head ? element("div", { className: "muted", textContent: head }) : null,
      element("div", { className: "prior-impression", textContent: prior.impression || "" }),
      prior.findings ? element("div", { className: "prior-findings", textContent: prior.findings }) : null);
  }));
}

// Read a text/event-stream body: one JSON object per "data:" line.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) yield JSON.parse(line.slice(6));
      }
    }
  }
}

async function generate() {
  if (busy) return;
  const findings = els.findings.value;
  if (!findings.trim()) { say("Enter the findings first.", true); els.findings.focus(); return; }
  busy = true;
  clearTimeout(retryTimer);
  els.generate.disabled = true;
  els.copy.disabled = true;
  els.draft.textContent = "";
  els.flagsBox.hidden = true;
  els.timing.textContent = "";
  say("Drafting…");
  const started = performance.now();
  let firstMs = null;
  try {
    const response = await fetch("/v1/impressions", {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ exam_code: els.exam.value, findings, stream: true }),
      cache: "no-store",
    });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (e) { /* not JSON */ }
      say(explain(response.status, body, response.headers.get("Retry-After")), true);
      return;
    }
    let text = "";
    for await (const event of events(response)) {
      if (event.type === "delta") {
        if (firstMs === null) firstMs = performance.now() - started;
        text += event.text;
        els.draft.textContent = text;
      } else if (event.type === "done") {
        const r = event.response;
        renderFlags(r.impression, r.flags || []);
        renderPriors(r.retrieved, r.retrieval);
        const total = performance.now() - started;
        // decode=candidates: say whether the draft is the model's or a prior case's impression
        const source = !r.source ? "" : r.source.startsWith("neighbour:")
          ? ` · chosen: prior case ${r.source.slice(10)}` : ` · chosen: model (${r.source.slice(6)})`;
        els.timing.textContent = `${r.model}${source} · first words after ${Math.round(firstMs ?? total)} ms · complete after ${Math.round(total)} ms`;
        say(r.flags && r.flags.length ? `Draft ready: ${r.flags.length} statement${r.flags.length === 1 ? "" : "s"} to check.` : "Draft ready. Review and edit before use.");
        els.copy.disabled = false;
      } else if (event.type === "error") {
        say("Drafting stopped partway: " + explain(503, event, event.error && event.error.retry_after) + " The partial draft is shown.", true);
      }
    }
  } catch (e) {
    say("Cannot reach the drafting service. Check that it is running and that this computer is on the hospital network.", true);
  } finally {
    busy = false;
    els.generate.disabled = false;
  }
}

async function copyDraft() {
  const text = els.draft.innerText.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents(els.draft);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
    selection.removeAllRanges();
  }
  say("Draft copied to the clipboard.");
}

els.generate.addEventListener("click", generate);
els.copy.addEventListener("click", copyDraft);
els.key.addEventListener("change", loadExamCodes);
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    generate();
  }
});
loadInfo();
