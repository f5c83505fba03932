// Guanxi: customers found as you type in the top bar's search box, and "select all" on lists.
// Without this script the search box is a plain form that opens the filtered customer list.
"use strict";

(() => {
  const CJK = /[\u3400-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]/u;
  const DELAY_MS = 200;

  // One Chinese character already narrows a search; Latin letters and digits need two.
  function longEnough(text) {
    return CJK.test(text) ? text.length >= 1 : text.length >= 2;
  }

  function setUp(form) {
    const input = form.querySelector("input[name=q]");
    const list = form.querySelector("[role=listbox]");
    if (!input || !list) return;
    let timer = 0;
    let asked = 0; // only the newest question's answer is shown
    let active = -1;

    const options = () => Array.from(list.querySelectorAll("[role=option]"));

    function close() {
      list.hidden = true;
      list.replaceChildren();
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      const items = options();
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach((item, i) => item.setAttribute("aria-selected", String(i === active)));
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function show(customers) {
      list.replaceChildren();
      active = -1;
      if (!customers.length) {
        const empty = document.createElement("li");
        empty.className = "search-empty";
        empty.textContent = form.dataset.empty || "";
        list.append(empty);
      }
      customers.forEach((customer, i) => {
        const item = document.createElement("li");
        item.id = `search-option-${i}`;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        const link = document.createElement("a");
        link.href = `/customers/${customer.id}`;
        link.tabIndex = -1;
        const name = document.createElement("strong");
        name.textContent = customer.name;
        const facts = document.createElement("span");
        facts.className = "muted";
        facts.textContent = [customer.city, customer.phone || customer.email]
          .filter(Boolean)
          .join(" · ");
        link.append(name, facts);
        item.append(link);
        list.append(item);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    async function ask(text) {
      const question = ++asked;
      const url = `/api/v1/customers?${new URLSearchParams({ q: text, limit: "8" })}`;
      try {
        // the page's session cookie signs the request in; GET needs no CSRF token
        const reply = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (question !== asked || input.value.trim() !== text) return;
        if (!reply.ok) return close();
        show((await reply.json()).items || []);
      } catch {
        if (question === asked) close();
      }
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      const text = input.value.trim();
      if (!longEnough(text)) {
        asked++;
        close();
        return;
      }
      timer = window.setTimeout(() => ask(text), DELAY_MS);
    });

    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        // Enter on a suggestion opens it; otherwise the form opens the filtered list
        event.preventDefault();
        window.location.assign(options()[active].querySelector("a").href);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });

    document.addEventListener("click", (event) => {
      if (!form.contains(event.target)) close();
    });
  }

  function selectAll(box) {
    const form = box.form;
    if (!form) return;
    const boxes = () => Array.from(form.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`));
    box.addEventListener("change", () => {
      for (const item of boxes()) item.checked = box.checked;
    });
    form.addEventListener("change", (event) => {
      if (event.target === box) return;
      const all = boxes();
      const ticked = all.filter((item) => item.checked).length;
      box.checked = all.length > 0 && ticked === all.length;
      box.indeterminate = ticked > 0 && ticked < all.length;
    });
  }

  function start() {
    document.querySelectorAll("form[data-customer-search]").forEach(setUp);
    document.querySelectorAll("input[data-select-all]").forEach(selectAll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
