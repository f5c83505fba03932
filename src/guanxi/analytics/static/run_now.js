// "Run scoring now" (templates/analytics/_run_now.html): start a scoring run through the JSON
// API and follow it. The bar and the step's name come from polling /api/v1/analytics/runs/{id}
// until the run has succeeded or failed; then the page is loaded again, with the new scores or
// the failure. A run already going when the page opens (another user's, or before a reload) is
// followed the same way. Without this script the button posts a form to /analytics/runs.
"use strict";

(() => {
  const POLL_MS = 1000;
  const JSON_HEADERS = { Accept: "application/json" };

  function setUp(box) {
    if (box.dataset.runNowReady) return; // the partial may be included more than once
    box.dataset.runNowReady = "1";
    const form = box.querySelector("[data-run-now-form]");
    const button = form ? form.querySelector("button") : null;
    const panel = box.querySelector("[data-run-now-progress]");
    const bar = panel.querySelector("progress");
    const step = panel.querySelector("[data-run-now-step]");
    const message = box.querySelector("[data-run-now-message]");
    const steps = JSON.parse(box.dataset.steps || "{}");
    let following = null;

    function say(text, isProblem) {
      message.textContent = text || "";
      message.classList.toggle("alert", Boolean(text && isProblem));
    }

    function show(run) {
      panel.hidden = false;
      bar.value = run.progress || 0;
      step.textContent = steps[run.step] || steps[""] || run.step;
      if (button) button.disabled = true;
    }

    async function poll() {
      try {
        const reply = await fetch(`/api/v1/analytics/runs/${following}`, {
          credentials: "same-origin",
          headers: JSON_HEADERS,
        });
        if (reply.ok) {
          const run = await reply.json();
          show(run);
          if (run.status !== "running") {
            window.location.reload();
            return;
          }
        }
      } catch (error) {
        // the server may be restarting; the run goes on in the job worker, so keep asking
      }
      window.setTimeout(poll, POLL_MS);
    }

    function follow(run) {
      show(run);
      if (following === null) {
        following = run.id;
        window.setTimeout(poll, POLL_MS);
      }
    }

    async function followRunning() {
      if (box.dataset.runId) {
        follow({ id: box.dataset.runId, step: "", progress: bar.value });
        return;
      }
      try {
        const reply = await fetch("/api/v1/analytics/runs?limit=1", {
          credentials: "same-origin",
          headers: JSON_HEADERS,
        });
        if (!reply.ok) return;
        const newest = (await reply.json()).items[0];
        if (newest && newest.status === "running") follow(newest);
      } catch (error) {
        // nothing to follow
      }
    }

    async function start(event) {
      event.preventDefault();
      if (following !== null) return;
      button.disabled = true;
      say(box.dataset.starting);
      let reply;
      try {
        reply = await fetch("/api/v1/analytics/runs", {
          method: "POST",
          credentials: "same-origin",
          headers: { ...JSON_HEADERS, "X-CSRF-Token": box.dataset.csrf },
        });
      } catch (error) {
        reply = null;
      }
      if (reply && reply.status === 202) {
        say("");
        follow(await reply.json());
      } else if (reply && reply.status === 409) {
        say(box.dataset.conflict, true);
        followRunning();
      } else {
        say(box.dataset.failed, true);
        button.disabled = false;
      }
    }

    if (form) form.addEventListener("submit", start);
    followRunning();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const box of document.querySelectorAll("[data-run-now]")) setUp(box);
  });
})();
