// Guanxi: the top bar's "log a call" box. As part of the caller's number is typed, the
// customers whose phone holds it are listed (the customers API matches phone fragments); the
// picked customer's quick-log form posts to /interactions/log. Without this script the box is a
// plain form that takes the customer's number.
"use strict";

(() => {
  const DELAY_MS = 200;
  const MIN_DIGITS = 3; // the search matches phone fragments of three digits or more

  function digitsOf(text) {
    const compact = text.replace(/[\s\-().]/g, "");
    return compact.startsWith("+") ? compact.slice(1) : compact;
  }

  function setUp(box) {
    const find = box.querySelector("[data-log-call-find]");
    const form = box.querySelector("[data-log-call-form]");
    if (!find || !form) return;
    const input = find.querySelector("input");
    const list = find.querySelector("[role=listbox]");
    const status = find.querySelector("[role=status]");
    const who = form.querySelector("[data-log-call-who]");
    const whoName = form.querySelector("[data-log-call-customer]");
    const manual = form.querySelector("[data-log-call-manual]");
    const customerField = form.querySelector("input[name=customer_id]");
    let timer = 0;
    let asked = 0; // only the newest question's answer is shown
    let active = -1;
    let found = [];

    find.hidden = false;
    manual.hidden = true;
    form.hidden = true;

    const options = () => Array.from(list.querySelectorAll("[role=option]"));

    function say(text) {
      status.textContent = text || "";
    }

    function close() {
      list.hidden = true;
      list.replaceChildren();
      active = -1;
      found = [];
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
      close();
      found = customers;
      if (!customers.length) {
        say(box.dataset.empty);
        return;
      }
      customers.forEach((customer, i) => {
        const item = document.createElement("li");
        item.id = `log-call-option-${i}`;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.customerId = String(customer.id);
        const link = document.createElement("a");
        link.href = `/customers/${customer.id}`;
        link.tabIndex = -1;
        const name = document.createElement("strong");
        name.textContent = customer.name;
        const facts = document.createElement("span");
        facts.className = "muted";
        facts.textContent = [customer.phone, customer.city].filter(Boolean).join(" · ");
        link.append(name, facts);
        item.append(link);
        item.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
        item.addEventListener("click", (event) => {
          event.preventDefault();
          choose(i);
        });
        list.append(item);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      say(box.dataset.found);
    }

    function choose(index) {
      const customer = found[index];
      if (!customer) return;
      customerField.value = String(customer.id);
      whoName.textContent = [customer.name, customer.phone].filter(Boolean).join(" · ");
      close();
      say("");
      find.hidden = true;
      who.hidden = false;
      form.hidden = false;
      form.querySelector("select[name=direction]").focus();
    }

    function again() {
      customerField.value = "";
      form.hidden = true;
      who.hidden = true;
      find.hidden = false;
      input.focus();
      input.select();
    }

    async function ask(digits) {
      const question = ++asked;
      const url = `/api/v1/customers?${new URLSearchParams({ q: digits, limit: "8" })}`;
      try {
        // the page's session cookie signs the request in; GET needs no CSRF token
        const reply = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (question !== asked || digitsOf(input.value.trim()) !== digits) return;
        if (!reply.ok) {
          close();
          return;
        }
        show((await reply.json()).items || []);
      } catch {
        if (question === asked) close();
      }
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      const digits = digitsOf(input.value.trim());
      if (!/^\d+$/.test(digits) || digits.length < MIN_DIGITS) {
        asked++;
        close();
        say(input.value.trim() ? box.dataset.short : "");
        return;
      }
      timer = window.setTimeout(() => ask(digits), DELAY_MS);
    });

    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        event.preventDefault(); // the phone box is not the form; Enter picks a customer
        if (!list.hidden && found.length) choose(active >= 0 ? active : 0);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });

    form.querySelector("[data-log-call-change]").addEventListener("click", again);

    box.addEventListener("toggle", () => {
      if (box.open) {
        (form.hidden ? input : form.querySelector("select[name=direction]")).focus();
      }
    });

    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && box.open) {
        box.open = false;
        box.querySelector("summary").focus();
      }
    });

    document.addEventListener("click", (event) => {
      if (!box.contains(event.target)) close();
    });
  }

  function start() {
    document.querySelectorAll("[data-log-call]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
