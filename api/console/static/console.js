// dealpilot console: small progressive enhancement. Every action also works without
// script (forms post and redirect); this adds dragging cards between board columns.
"use strict";

function csrfToken() {
  return document.body.dataset.csrf || "";
}

function say(message, kind) {
  const box = document.getElementById("messages");
  if (!box) return;
  const p = document.createElement("p");
  p.className = "flash " + kind;
  p.textContent = message; // text, never HTML
  box.replaceChildren(p);
}

function bumpCount(column, by) {
  const count = column.querySelector("h2 .count");
  if (count) count.textContent = String(Number(count.textContent) + by);
}

async function moveCard(card, column) {
  const from = card.closest(".column");
  if (!from || from === column) return;
  const body = new FormData();
  body.append("stage_id", column.dataset.stage);
  card.classList.add("moving");
  let answer;
  try {
    const response = await fetch("/console/deals/" + card.dataset.deal + "/move", {
      method: "POST",
      body,
      headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
    });
    answer = await response.json();
  } catch (err) {
    answer = { ok: false, message: "The console could not be reached; nothing was changed." };
  }
  card.classList.remove("moving");
  if (answer.ok) {
    column.querySelector(".cards").prepend(card);
    bumpCount(from, -1);
    bumpCount(column, 1);
    say(answer.message, "success");
  } else {
    say(answer.message, "error");
  }
}

function setUpBoard(board) {
  let dragged = null;
  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".card.deal");
    if (dragged && event.dataTransfer) {
      event.dataTransfer.setData("text/plain", dragged.dataset.deal);
      event.dataTransfer.effectAllowed = "move";
    }
  });
  board.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest(".column")) event.preventDefault();
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".column");
    if (!dragged || !column) return;
    event.preventDefault();
    const card = dragged;
    dragged = null;
    moveCard(card, column);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (board) setUpBoard(board);
});

// Review queue shortcuts: j/k move between drafts, a approves, r rejects, e opens the editor.
function setUpReviewKeys(queue) {
  const items = () => Array.from(queue.querySelectorAll(".review-item"));
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const all = items();
    if (!all.length) return;
    const current = document.activeElement.closest && document.activeElement.closest(".review-item");
    const index = current ? all.indexOf(current) : -1;
    if (event.key === "j" || event.key === "k") {
      const next = event.key === "j" ? Math.min(index + 1, all.length - 1) : Math.max(index - 1, 0);
      all[next].focus();
      event.preventDefault();
      return;
    }
    if (!current) return;
    const target = current.querySelector('[data-shortcut="' + event.key + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "DETAILS") {
      target.open = true;
      target.querySelector("input[name=subject]").focus();
    } else {
      target.requestSubmit();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const queue = document.getElementById("queue");
  if (queue) setUpReviewKeys(queue);
});

// Import progress: poll the job until it is done, then reload for the per-row report.
function followImport(box) {
  const bar = document.getElementById("bar");
  const status = document.getElementById("import-status");
  async function poll() {
    let job;
    try {
      const response = await fetch(box.dataset.progress, { headers: { Accept: "application/json" } });
      job = await response.json();
    } catch (err) {
      setTimeout(poll, 1000);
      return;
    }
    bar.max = job.total;
    bar.value = job.read;
    bar.textContent = job.read + " of " + job.total;
    if (job.done) {
      status.textContent = job.error ? "Nothing imported: " + job.error : "Done.";
      if (!document.getElementById("import-counts")) window.location.reload();
      return;
    }
    if (job.stale) {
      window.location.reload();
      return;
    }
    status.textContent = "Reading… " + job.read + " of about " + job.total + " rows";
    setTimeout(poll, 400);
  }
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  const job = document.getElementById("import-job");
  if (job && !document.getElementById("import-counts")) followImport(job);
});

// Live previews (a stage's template, a composer draft): the preview follows the text as it
// is typed; without script the Preview/Save buttons do the same. Nothing is saved here.
function livePreview(form) {
  const to = document.getElementById("to");
  const problem = document.getElementById("preview-problem");
  let timer = null;
  let asked = 0;
  async function refresh() {
    const mine = ++asked;
    const data = new URLSearchParams(new FormData(form));
    if (to && !data.has("to")) data.set("to", to.value);
    let answer;
    try {
      const response = await fetch(form.dataset.preview, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json", "X-CSRF-Token": data.get("csrf_token") },
      });
      answer = await response.json();
    } catch (err) {
      return;
    }
    if (mine !== asked) return; // a later keystroke's answer wins
    problem.hidden = answer.ok;
    problem.textContent = answer.ok ? "" : answer.problem;
    if (answer.ok) {
      document.getElementById("preview-subject").textContent = answer.subject;
      document.getElementById("preview-to").textContent = "to " + answer.to;
      document.getElementById("preview-text").textContent = answer.text;
    }
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }
  for (const field of form.querySelectorAll("textarea[name=body], input[name=subject]")) {
    field.addEventListener("input", later);
  }
  if (to) to.addEventListener("change", later);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["stage-template", "draft-form"]) {
    const form = document.getElementById(id);
    if (form && form.dataset.preview) livePreview(form);
  }
});
