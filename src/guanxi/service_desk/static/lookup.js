// Guanxi: the caller lookup searches as the agent types. The server draws the matches and the
// caller's card (/service/lookup/results); this script only asks and swaps them in.
// Without it the form still works: Enter loads the whole page.
"use strict";

(() => {
  const CJK = /[\u3400-\u9fff\uf900-\ufaff]/u;
  const DELAY_MS = 250;

  function setUp(form) {
    const input = form.querySelector("input[name=q]");
    const target = document.getElementById(input.getAttribute("aria-controls"));
    if (!input || !target) return;
    let timer = 0;
    let asked = 0; // only the newest question's answer is shown

    async function ask(text) {
      const question = ++asked;
      const query = new URLSearchParams({ q: text });
      try {
        const reply = await fetch(`${form.dataset.results}?${query}`, {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
        });
        if (question !== asked || !reply.ok) return;
        target.innerHTML = await reply.text(); // drawn and escaped by the server
        // the address follows the search, so a reload or a shared link shows the same caller
        window.history.replaceState(null, "", `${form.action}?${query}`);
      } catch {
        // offline or the server is restarting: the form still submits as a plain page
      }
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      const text = input.value.trim();
      // one Chinese character narrows a name already; letters and digits need two
      if (CJK.test(text) ? text.length < 1 : text.length < 2) return;
      timer = window.setTimeout(() => ask(text), DELAY_MS);
    });
  }

  function start() {
    document.querySelectorAll("form[data-caller-lookup]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
