// Import progress: poll the run and update the page until it ends, then show the result.
// Without JavaScript the page refreshes itself instead (a <noscript> meta refresh).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-import-run]");
  if (!panel) return;
  const bar = panel.querySelector("progress");
  const counters = panel.querySelectorAll("[data-counter]");

  const show = (run) => {
    if (bar && run.total_rows) {
      bar.max = run.total_rows;
      bar.value = run.processed_rows;
    }
    for (const counter of counters) {
      const value = run[counter.dataset.counter];
      if (typeof value === "number") counter.textContent = value.toLocaleString();
    }
  };

  const poll = async () => {
    try {
      const reply = await fetch(panel.dataset.importRun, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (reply.ok) {
        const run = await reply.json();
        show(run);
        if (run.status === "finished" || run.status === "failed") {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // the server may be restarting; the import carries on, so keep asking
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1000);
});
