// Guanxi: the segment explorer. Conditions are picked from the field catalogue the page carries
// (each type of field gets its own input); every change rewrites the customer-list parameters
// the segment is saved as, and a moment later asks /api/v1/segments/preview for the segment's
// size, value, tiers and trend. Without this script the page shows the saved conditions and
// their figures, and the form still saves the name and description.
"use strict";

(() => {
  const DELAY_MS = 350;
  const SPARK = { width: 240, height: 64, pad: 6 }; // as pages._spark draws it
  const SVG = "http://www.w3.org/2000/svg";

  function make(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function line(values) {
    const top = Math.max(0, ...values) || 1;
    const spanX = SPARK.width - 2 * SPARK.pad;
    const spanY = SPARK.height - 2 * SPARK.pad;
    const step = values.length > 1 ? spanX / (values.length - 1) : 0;
    return values.map((v, i) => [
      values.length > 1 ? SPARK.pad + i * step : SPARK.width / 2,
      SPARK.height - SPARK.pad - (Math.max(v, 0) / top) * spanY,
    ]);
  }

  function setUp(root) {
    const state = JSON.parse(root.querySelector("[data-explorer-state]").textContent);
    const words = state.words;
    const fields = new Map(state.fields.map((f) => [f.key, f]));
    const byParam = new Map();
    state.fields.forEach((f) => f.params.forEach((p) => byParam.set(p, f)));
    const list = root.querySelector("[data-conditions]");
    const picker = root.querySelector("[data-field-picker]");
    const addButton = root.querySelector("[data-add-condition]");
    const listLink = root.querySelector("[data-list-link]");
    const status = root.querySelector("[data-status]");
    const noConditions = root.querySelector("[data-no-conditions]");
    const paramsInput = document.querySelector("[data-params]");
    const locale = root.dataset.locale;
    const money = new Intl.NumberFormat(locale, { style: "currency", currency: root.dataset.currency });
    const count = new Intl.NumberFormat(locale);
    let rows = [];
    let serial = 0;
    let timer = 0;
    let asked = 0;
    let lastQuery = paramsInput ? paramsInput.value : null;

    // ------------------------------------------------------------ one condition per field

    function choiceOptions(field, current) {
      const options = [make("option", { value: "", text: words.choose })];
      const known = new Set(field.choices.map(([value]) => value));
      if (current && !known.has(current)) options.push(make("option", { value: current, text: current }));
      for (const [value, label] of field.choices) options.push(make("option", { value, text: label }));
      return options;
    }

    function checkboxes(field, chosen, name) {
      return field.choices.map(([value, label]) =>
        make("label", { class: "check" }, [
          make("input", { type: "checkbox", value, name, checked: chosen.includes(value) }),
          document.createTextNode(" " + label),
        ]),
      );
    }

    function build(field, values) {
      const id = `condition-${++serial}`;
      const first = (param) => (values[param] || [""])[0];
      const item = make("li", { class: "condition", "data-key": field.key });
      const error = make("p", { class: "field-error", id: `${id}-error`, hidden: true });
      const remove = make("button", {
        type: "button",
        class: "secondary small condition-remove",
        "aria-label": `${words.remove}: ${field.label}`,
        text: "×",
      });
      let body;
      let read;
      const many = field.type === "multi_choice" || (field.type === "tag" && field.choices.length);
      if (many) {
        const chosen = field.type === "tag"
          ? values.tag || []
          : first(field.params[0]).split(",").map((part) => part.trim()).filter(Boolean);
        const known = new Set(field.choices.map(([value]) => value));
        chosen.filter((value) => !known.has(value)).forEach((value) => field.choices.push([value, value]));
        body = make("div", { class: "check-grid" }, checkboxes(field, chosen, id));
        read = () => {
          const ticked = Array.from(body.querySelectorAll("input:checked"), (box) => box.value);
          if (field.type === "tag") return ticked.map((value) => ["tag", value]);
          return ticked.length ? [[field.params[0], ticked.join(",")]] : [];
        };
      } else if (field.type === "number_range" || field.type === "date_range") {
        const type = field.type === "number_range" ? "number" : "date";
        const ends = field.type === "number_range" ? [words.at_least, words.less_than] : [words.from, words.to];
        const inputs = field.params.map((param, i) =>
          make("input", {
            type,
            id: `${id}-${i}`,
            value: first(param),
            step: type === "number" ? "any" : null,
            inputmode: type === "number" ? "decimal" : null,
            placeholder: field.unit === "share" ? words.share_hint : null,
          }),
        );
        body = make("div", { class: "range" }, inputs.map((input, i) =>
          make("label", { for: input.id }, [make("span", { text: ends[i] }), input]),
        ));
        read = () => field.params.flatMap((param, i) => (inputs[i].value.trim() ? [[param, inputs[i].value.trim()]] : []));
      } else {
        let input;
        const param = field.params[0];
        if (["choice", "user", "team"].includes(field.type)) {
          input = make("select", { id: `${id}-0` }, choiceOptions(field, first(param)));
          input.value = first(param);
        } else {
          const type = field.type === "month" ? "month" : "text";
          input = make("input", { type, id: `${id}-0`, value: field.type === "tag" ? (values.tag || [""])[0] : first(param) });
          if (field.type === "month") input.placeholder = "2026-03";
          if (field.suggestions && field.suggestions.length) {
            const options = make("datalist", { id: `${id}-values` },
              field.suggestions.map((value) => make("option", { value })));
            input.setAttribute("list", options.id);
            item.append(options);
          }
        }
        body = make("div", { class: "single" }, [input]);
        read = () => (input.value.trim() ? [[param, input.value.trim()]] : []);
      }
      // several inputs form a labelled group; a single input has the field's name as its label
      const grouped = many || field.type.endsWith("_range");
      const title = grouped
        ? make("span", { class: "condition-label", id: `${id}-label`, text: field.label })
        : make("label", { class: "condition-label", for: `${id}-0`, text: field.label });
      const group = grouped
        ? make("div", { role: "group", "aria-labelledby": title.id, class: "condition-body" }, [body])
        : make("div", { class: "condition-body" }, [body]);
      item.append(make("div", { class: "condition-head" }, [title, remove]), group, error);
      remove.addEventListener("click", () => {
        rows = rows.filter((row) => row.item !== item);
        item.remove();
        changed();
        picker.focus();
      });
      return {
        field,
        item,
        read,
        showError(message) {
          error.textContent = message;
          error.hidden = !message;
          item.classList.toggle("has-error", Boolean(message));
          for (const input of item.querySelectorAll("input, select")) {
            if (message) {
              input.setAttribute("aria-invalid", "true");
              input.setAttribute("aria-describedby", error.id);
            } else {
              input.removeAttribute("aria-invalid");
              input.removeAttribute("aria-describedby");
            }
          }
        },
      };
    }

    function rawField(param) {
      return { key: param, label: param, type: "text", group: "", params: [param], choices: [], suggestions: [] };
    }

    function add(field, values = {}) {
      const row = build(field, values);
      rows.push(row);
      list.append(row.item);
      return row;
    }

    // ------------------------------------------------------------ the field picker

    function refreshPicker() {
      const taken = new Set(rows.map((row) => row.field.key));
      const groups = state.groups.map(([key, label]) => {
        const group = make("optgroup", { label });
        state.fields
          .filter((f) => f.group === key && !taken.has(f.key))
          .forEach((f) => group.append(make("option", { value: f.key, text: f.label })));
        return group;
      });
      picker.replaceChildren(make("option", { value: "", text: words.choose }), ...groups.filter((g) => g.children.length));
    }

    addButton.addEventListener("click", () => {
      const field = fields.get(picker.value);
      if (!field) {
        picker.focus();
        return;
      }
      const row = add(field);
      changed();
      const target = row.item.querySelector("input, select");
      if (target) target.focus();
    });

    // ------------------------------------------------------------ figures

    function pairs() {
      return rows.flatMap((row) => row.read());
    }

    function changed() {
      const now = pairs();
      const query = new URLSearchParams(now).toString();
      if (paramsInput) paramsInput.value = query;
      listLink.href = "/customers" + (query ? `?${query}` : "");
      noConditions.hidden = rows.length > 0;
      refreshPicker();
      if (query === lastQuery) return;
      lastQuery = query;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => ask(now), DELAY_MS);
    }

    function showErrors(errors) {
      rows.forEach((row) => row.showError(""));
      const loose = [];
      for (const { field, message } of errors || []) {
        const text = state.messages[message] || message;
        const row = rows.find((r) => r.field.params.includes(field));
        if (row) row.showError(text);
        else loose.push(text);
      }
      return loose;
    }

    async function ask(now) {
      const mine = ++asked;
      root.dataset.busy = "true";
      status.textContent = words.updating;
      let reply;
      let body = null;
      try {
        reply = await fetch(root.dataset.previewUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRF-Token": root.dataset.csrf,
          },
          body: JSON.stringify({ params: now }),
        });
        body = await reply.json();
      } catch (_error) {
        reply = null;
      }
      if (mine !== asked) return; // a newer question is on its way
      root.dataset.busy = "false";
      if (!reply || !reply.ok) {
        const loose = showErrors(body && body.errors);
        status.textContent = [words.failed, ...loose].join(" ");
        return;
      }
      showErrors([]);
      status.textContent = "";
      draw(body);
    }

    function figure(name, text) {
      const node = root.querySelector(`[data-figure="${name}"]`);
      if (node) node.textContent = text;
      return node;
    }

    function draw(preview) {
      const size = figure("size", count.format(preview.size));
      size.dataset.value = String(preview.size);
      const value = preview.value;
      for (const name of ["revenue", "profit", "clv", "mean_clv"]) {
        figure(name, value && value[name] !== null ? money.format(value[name]) : "—");
      }
      root.querySelector("[data-run]").textContent = preview.run_id
        ? words.run_note.replace("%(date)s", preview.observation_end).replace("%(count)s", count.format(preview.scored))
        : words.no_run;
      root.querySelector("[data-tiers]").replaceChildren(
        ...preview.tiers.map((row) => {
          const share = preview.scored ? (100 * row.customers) / preview.scored : 0;
          return make("li", {}, [
            make("span", { class: "tier-name", text: state.tiers[row.tier] || row.tier }),
            make("span", { class: "tier-track" }, [
              make("span", { class: `tier-bar tier-${row.tier}`, style: `width: ${share.toFixed(1)}%` }),
            ]),
            make("span", { class: "tier-count", text: count.format(row.customers) }),
          ]);
        }),
      );
      drawTrend(preview.trend);
    }

    function svgNode(tag, attributes) {
      const node = document.createElementNS(SVG, tag);
      for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
      return node;
    }

    function drawTrend(trend) {
      const box = root.querySelector("[data-trend]");
      if (!trend.length) {
        box.replaceChildren(make("p", { class: "muted", "data-no-trend": true, text: words.no_trend }));
        return;
      }
      const size = line(trend.map((p) => p.size));
      const clv = line(trend.map((p) => p.clv));
      const points = (series) => series.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
      const svg = svgNode("svg", {
        class: "sparkline",
        viewBox: `0 0 ${SPARK.width} ${SPARK.height}`,
        role: "img",
        "data-sparkline": "",
        "aria-label": words.trend_label.replace("%(count)s", count.format(trend.length)),
      });
      svg.append(
        svgNode("polyline", { class: "spark-clv", points: points(clv), fill: "none" }),
        svgNode("polyline", { class: "spark-size", points: points(size), fill: "none" }),
        ...size.map(([x, y]) => svgNode("circle", { class: "spark-size", cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5 })),
      );
      const rowsOut = trend.map((p) =>
        make("tr", {}, [
          make("td", { class: "nowrap", text: p.observation_end }),
          make("td", { text: count.format(p.size) }),
          make("td", { class: "nowrap", text: money.format(p.clv) }),
        ]),
      );
      const details = box.querySelector("details");
      const open = details ? details.open : false;
      box.replaceChildren(
        svg,
        make("p", { class: "spark-legend muted" }, [
          make("span", { class: "key-size", text: words.customers }),
          document.createTextNode(" "),
          make("span", { class: "key-clv", text: words.clv }),
        ]),
        make("details", { class: "trend-figures", open }, [
          make("summary", { text: words.figures_per_run }),
          make("div", { class: "table-wrap" }, [
            make("table", {}, [
              make("thead", {}, [
                make("tr", {}, [words.run_up_to, words.customers, words.clv].map((text) => make("th", { scope: "col", text }))),
              ]),
              make("tbody", { "data-trend-rows": true }, rowsOut),
            ]),
          ]),
        ]),
      );
    }

    // ------------------------------------------------------------ start from the page's state

    const grouped = new Map();
    for (const [param, value] of state.pairs) {
      const field = byParam.get(param) || rawField(param);
      if (!grouped.has(field.key)) grouped.set(field.key, { field, values: {} });
      const values = grouped.get(field.key).values;
      (values[param] = values[param] || []).push(value);
    }
    list.replaceChildren();
    for (const { field, values } of grouped.values()) add(field, values);
    const staticErrors = root.querySelector("[data-static-errors]");
    if (staticErrors) staticErrors.remove();
    const loose = showErrors(Object.entries(state.errors).map(([field, message]) => ({ field, message })));
    if (loose.length) status.textContent = loose.join(" ");
    list.addEventListener("input", changed);
    list.addEventListener("change", changed);
    root.querySelector("[data-picker]").hidden = false;
    refreshPicker();
    noConditions.hidden = rows.length > 0;
    root.dataset.busy = "false";
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-segment-explorer]").forEach(setUp);
  });
})();
