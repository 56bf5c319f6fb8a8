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

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Wrap each flagged sentence of the draft in a <mark> whose reason shows on hover and focus.
function renderFlags(impression, flags) {
  let html = escapeHtml(impression);
  const bySentence = new Map();
  for (const f of flags) {
    const list = bySentence.get(f.sentence) || [];
    list.push(f);
    bySentence.set(f.sentence, list);
  }
  for (const [sentence, list] of bySentence) {
    const reason = list.map((f) => `${f.observation}: ${REASONS[f.reason] || f.reason}`).join("; ");
    const safe = escapeHtml(sentence);
    html = html.replace(safe, `<mark class="flag" tabindex="0" data-reason="${escapeHtml(reason)}" aria-label="${escapeHtml(sentence + " (" + reason + ")")}">${safe}</mark>`);
  }
  els.draft.innerHTML = html;
  els.flags.replaceChildren(...flags.map((f) => {
    const li = document.createElement("li");
    li.innerHTML = `“${escapeHtml(f.text || f.observation)}” <span class="reason">— ${escapeHtml(REASONS[f.reason] || f.reason)}</span>`;
    return li;
  }));
  els.flagsBox.hidden = flags.length === 0;
}

function renderPriors(retrieved, retrieval) {
  if (retrieval && retrieval.status === "failed") {
    els.priorsBox.hidden = false;
    els.priors.replaceChildren(Object.assign(document.createElement("li"), {
      className: "muted",
      textContent: "Similar prior cases could not be looked up; this draft was written without them.",
    }));
    return;
  }
  els.priorsBox.hidden = !retrieved || retrieved.length === 0;
  if (els.priorsBox.hidden) return;
  els.priors.replaceChildren(...retrieved.map((prior) => {
    const li = document.createElement("li");
    const score = prior.score ?? prior.similarity;
    const head = [prior.exam_code, score != null ? `similarity ${Number(score).toFixed(2)}` : null].filter(Boolean).join(" · ");
    li.innerHTML =
      (head ? `<div class="muted">${escapeHtml(head)}</div>` : "") +
      `<div class="prior-impression">${escapeHtml(prior.impression || "")}</div>` +
      (prior.findings ? `<div class="prior-findings">${escapeHtml(prior.findings)}</div>` : "");
    return li;
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
        els.timing.textContent = `${r.model} · first words after ${Math.round(firstMs ?? total)} ms · complete after ${Math.round(total)} ms`;
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
