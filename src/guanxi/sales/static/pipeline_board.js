// Pipeline board: drag a card to another stage with a mouse, a pen or a finger (Pointer Events:
// the HTML drag-and-drop API does not fire on touch screens). A mouse drags the whole card; touch
// and pen drag by the handle, so the rest of the card still scrolls the page. The move goes to
// the JSON API with the card's version; afterwards the board is redrawn from the server, so the
// totals are the server's and a refused move (409: someone changed it meanwhile) puts the card
// back where it really is. Without script every card has a "move to" select that posts a form.
"use strict";

(() => {
  const THRESHOLD = 6; // pixels a pointer travels before a press becomes a drag

  function start() {
    const board = document.querySelector("[data-board]");
    if (!board) return;
    board.addEventListener("pointerdown", (event) => pressed(board, event));
  }

  function pressed(board, event) {
    const card = event.target.closest("[data-card]");
    if (!card || !card.querySelector("[data-drag-handle]")) return;
    if (event.button !== 0) return;
    if (event.target.closest("a, select, button, input, label")) return;
    const onHandle = event.target.closest("[data-drag-handle]");
    if (event.pointerType !== "mouse" && !onHandle) return;
    const origin = { x: event.clientX, y: event.clientY };
    let drag = null;
    const pointerId = event.pointerId;
    try {
      card.setPointerCapture(pointerId); // keeps the moves coming when the pointer leaves the card
    } catch (error) {
      // a pointer the browser no longer tracks: the moves still bubble to the card
    }

    const move = (e) => {
      if (e.pointerId !== pointerId) return;
      if (!drag) {
        if (Math.hypot(e.clientX - origin.x, e.clientY - origin.y) < THRESHOLD) return;
        drag = begin(card, origin);
      }
      e.preventDefault();
      follow(drag, e);
    };
    const finish = (e, cancelled) => {
      if (e.pointerId !== pointerId) return;
      card.removeEventListener("pointermove", move);
      card.removeEventListener("pointerup", up);
      card.removeEventListener("pointercancel", cancel);
      if (card.hasPointerCapture && card.hasPointerCapture(pointerId)) {
        card.releasePointerCapture(pointerId);
      }
      if (!drag) return;
      const target = cancelled ? null : columnAt(board, e.clientX, e.clientY);
      end(drag);
      const from = card.closest("[data-column]");
      if (target && target !== from) dropped(board, card, from, target);
    };
    const up = (e) => finish(e, false);
    const cancel = (e) => finish(e, true);
    card.addEventListener("pointermove", move);
    card.addEventListener("pointerup", up);
    card.addEventListener("pointercancel", cancel);
  }

  function begin(card, origin) {
    const box = card.getBoundingClientRect();
    const ghost = card.cloneNode(true);
    ghost.classList.add("pipeline-ghost");
    ghost.removeAttribute("data-card");
    ghost.style.width = box.width + "px";
    ghost.style.left = box.left + "px";
    ghost.style.top = box.top + "px";
    document.body.appendChild(ghost);
    card.classList.add("is-dragging");
    document.body.classList.add("pipeline-dragging");
    return { card, ghost, offset: { x: origin.x - box.left, y: origin.y - box.top }, over: null };
  }

  function follow(drag, event) {
    drag.ghost.style.left = event.clientX - drag.offset.x + "px";
    drag.ghost.style.top = event.clientY - drag.offset.y + "px";
    const board = drag.card.closest("[data-board]");
    const over = columnAt(board, event.clientX, event.clientY);
    if (over !== drag.over) {
      if (drag.over) drag.over.classList.remove("is-target");
      if (over) over.classList.add("is-target");
      drag.over = over;
    }
  }

  function end(drag) {
    drag.ghost.remove();
    drag.card.classList.remove("is-dragging");
    document.body.classList.remove("pipeline-dragging");
    if (drag.over) drag.over.classList.remove("is-target");
  }

  function columnAt(board, x, y) {
    // the ghost ignores the pointer (CSS), so this finds what lies beneath it
    const element = document.elementFromPoint(x, y);
    const column = element && element.closest("[data-column]");
    return column && board.contains(column) ? column : null;
  }

  async function dropped(board, card, from, target) {
    let reason = "";
    if (target.dataset.outcome === "lost") {
      reason = window.prompt(board.dataset.askReason) || "";
      if (!reason.trim()) return;
    }
    // show the move at once; the redraw below replaces it with the server's truth
    target.querySelector("[data-cards]").prepend(card);
    const status = board.ownerDocument.querySelector("[data-board-status]");
    let message = board.dataset.moved;
    try {
      const reply = await fetch(`/api/v1/opportunities/${card.dataset.id}/move`, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": board.dataset.csrf,
        },
        body: JSON.stringify({
          stage_id: Number(target.dataset.stageId),
          version: Number(card.dataset.version),
          lost_reason: reason,
        }),
      });
      if (reply.status === 409 || reply.status === 412) {
        message = board.dataset.conflict;
      } else if (!reply.ok) {
        const problem = await reply.json().catch(() => ({}));
        message = problem.detail || board.dataset.failed;
      }
    } catch (error) {
      message = board.dataset.failed;
    }
    await redraw(board);
    if (status) status.textContent = message;
  }

  async function redraw(board) {
    // the page itself is the one renderer of columns and totals (money formatted per locale)
    const reply = await fetch(window.location.href, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!reply.ok) {
      window.location.reload();
      return;
    }
    const fresh = new DOMParser().parseFromString(await reply.text(), "text/html");
    const columns = fresh.querySelector("[data-board]");
    const summary = fresh.querySelector("[data-board-summary]");
    if (columns) board.replaceChildren(...columns.childNodes);
    const mine = document.querySelector("[data-board-summary]");
    if (summary && mine) mine.replaceChildren(...summary.childNodes);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
