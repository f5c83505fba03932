// Customer form: "add a phone / e-mail / family member" copies a blank row. Without this script
// the form still offers a few blank rows, and more after each save.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-add-row]")) {
    const rows = document.querySelector(`[data-rows="${button.dataset.addRow}"]`);
    if (!rows) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      const last = rows.querySelector("[data-row]:last-of-type");
      if (!last) return;
      const index = rows.querySelectorAll("[data-row]").length;
      const row = last.cloneNode(true);
      for (const element of row.querySelectorAll("[id]")) {
        element.id = element.id.replace(/-\d+$/, `-${index}`);
      }
      for (const label of row.querySelectorAll("label[for]")) {
        label.htmlFor = label.htmlFor.replace(/-\d+$/, `-${index}`);
      }
      for (const input of row.querySelectorAll("input")) {
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
      for (const select of row.querySelectorAll("select")) select.selectedIndex = 0;
      for (const error of row.querySelectorAll(".field-error")) error.remove();
      for (const field of row.querySelectorAll(".has-error")) field.classList.remove("has-error");
      rows.appendChild(row);
      row.querySelector("input")?.focus();
    });
  }
});
