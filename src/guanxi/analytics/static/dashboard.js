// The mining centre's dashboard: each chart is drawn with plotly.js from the analytics API under
// the page's filters; every bar, cell and flow carries the customer list behind it (customdata),
// and a click opens that list.
(function () {
  "use strict";

  const board = document.querySelector(".dashboard");
  const wordsNode = document.getElementById("dashboard-words");
  if (!board || !wordsNode) return;
  const words = JSON.parse(wordsNode.textContent);
  const say = words.chart;
  const scope = board.dataset.scope || "";
  const fullView = board.dataset.full === "yes";
  const locale = words.locale === "zh_CN" ? "zh-CN" : "en";
  const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const money = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const COLOURS = ["#b3261e", "#d9822b", "#1f5fae", "#8a94a6", "#1e7a46", "#6b4fa0"];
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, name) => values[name]);
  }

  async function api(path, query) {
    const separator = path.includes("?") ? "&" : "?";
    const url = "/api/v1/" + path + (query ? separator + query : "");
    const reply = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({}));
      throw new Error(problem.detail || problem.title || String(reply.status));
    }
    return reply.json();
  }

  function layout(extra) {
    return Object.assign(
      {
        margin: { l: 60, r: 16, t: 8, b: 48 },
        height: 300,
        font: { family: getComputedStyle(document.documentElement).fontFamily, size: 12 },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        showlegend: false,
        hovermode: "closest",
      },
      extra || {}
    );
  }

  // draw into a chart element and open the list behind a clicked point
  function draw(element, traces, extraLayout) {
    if (!element) return;
    window.Plotly.newPlot(element, traces, layout(extraLayout), CONFIG).then(() => {
      element.on("plotly_click", (event) => {
        const point = event.points && event.points[0];
        const link = point && (point.customdata || (point.link && point.link.customdata));
        if (typeof link === "string" && link.startsWith("/")) window.location.assign(link);
      });
    });
    element.dataset.drawn = "yes";
  }

  function empty(element, text) {
    if (!element) return;
    element.textContent = text;
    element.classList.add("chart-empty");
    element.dataset.drawn = "empty";
  }

  function card(name) {
    const section = board.querySelector(`[data-chart="${name}"]`);
    if (!section) return null;
    return {
      section,
      main: section.querySelector(".chart:not([data-part])"),
      part: (name) => section.querySelector(`.chart[data-part="${name}"]`),
      headline: section.querySelector("[data-headline]"),
    };
  }

  const charts = {
    async tiers(c) {
      const body = await api("analytics/tiers", scope);
      const rows = body.tiers;
      if (!rows.some((r) => r.customers)) return empty(c.main, say.no_data);
      draw(c.main, [{
        type: "funnel",
        y: rows.map((r) => words.tiers[r.tier] || r.label),
        x: rows.map((r) => r.customers),
        customdata: rows.map((r) => r.link),
        text: rows.map((r) => `${number.format(r.customers)} · ${r.profit_share == null ? "–" : percent.format(r.profit_share)}`),
        textinfo: "text",
        hovertemplate: "%{y}: %{x}<extra></extra>",
        marker: { color: COLOURS.slice(0, rows.length) },
      }], { margin: { l: 130, r: 16, t: 8, b: 24 } });
    },

    async pareto(c) {
      const body = await api("analytics/pareto", scope + (scope ? "&" : "") + "top=0");
      if (!body.groups.length) return empty(c.main, say.no_data);
      if (body.top_share != null && c.headline) {
        c.headline.textContent = fill(say.headline, { share: percent.format(body.share), profit: percent.format(body.top_share) }) +
          ` · ${say.gini} ${body.gini.toFixed(2)} `;
        if (body.top_link) {
          const link = document.createElement("a");
          link.href = body.top_link;
          link.textContent = say.see_them;
          c.headline.appendChild(link);
        }
      }
      const labels = body.groups.map((g) => g.from_share === 0 ? fill(say.top, { share: percent.format(g.to_share) })
        : `${percent.format(g.from_share)}–${percent.format(g.to_share)}`);
      draw(c.main, [
        {
          type: "bar",
          x: labels,
          y: body.groups.map((g) => g.profit_share),
          customdata: body.groups.map((g) => g.link),
          text: body.groups.map((g) => number.format(g.customers)),
          hovertemplate: `%{x}: %{y:.1%} · ${say.customers} %{text}<extra></extra>`,
          marker: { color: body.groups.map((g) => (g.to_share <= body.share + 1e-9 ? COLOURS[0] : COLOURS[3])) },
          name: say.profit_share,
        },
        {
          type: "scatter",
          mode: "lines",
          x: body.curve.map((p) => p.customer_share),
          y: body.curve.map((p) => p.profit_share),
          xaxis: "x2",
          yaxis: "y",
          line: { color: COLOURS[2] },
          name: say.cumulative,
          hoverinfo: "skip", // clicks and hovers belong to the bars below it
        },
      ], {
        yaxis: { tickformat: ".0%", title: { text: say.profit_share } },
        xaxis2: { overlaying: "x", side: "top", range: [0, 1], tickformat: ".0%", showgrid: false },
        xaxis: { tickangle: -40 },
        margin: { l: 60, r: 28, t: 28, b: 72 },
      });
    },

    async rfm(c) {
      const body = await api("analytics/rfm", scope);
      if (!body.grid.length) return empty(c.main, say.no_data);
      const z = [], links = [];
      for (let f = 1; f <= 5; f++) {
        z.push([]); links.push([]);
        for (let r = 1; r <= 5; r++) {
          const cell = body.grid.find((g) => g.r === r && g.f === f);
          z[f - 1].push(cell ? cell.customers : 0);
          links[f - 1].push(cell ? cell.link : null);
        }
      }
      draw(c.main, [{
        type: "heatmap", x: [1, 2, 3, 4, 5], y: [1, 2, 3, 4, 5], z, customdata: links,
        colorscale: [[0, "#f5f6f8"], [1, "#b3261e"]], texttemplate: "%{z}", showscale: false,
        hovertemplate: `R %{x} · F %{y}: %{z}<extra></extra>`,
      }], { xaxis: { title: { text: say.recency }, dtick: 1 }, yaxis: { title: { text: say.frequency }, dtick: 1 } });
      const segments = body.segments.filter((s) => s.customers);
      draw(c.part("segments"), [{
        type: "bar", orientation: "h",
        y: segments.map((s) => words.segments[s.segment] || s.label),
        x: segments.map((s) => s.customers),
        customdata: segments.map((s) => s.link),
        marker: { color: COLOURS[2] },
        hovertemplate: "%{y}: %{x}<extra></extra>",
      }], { margin: { l: 150, r: 16, t: 8, b: 32 }, yaxis: { autorange: "reversed" } });
    },

    async lifecycle(c) {
      const body = await api("analytics/lifecycle", scope);
      draw(c.main, [{
        type: "bar",
        x: body.stages.map((s) => words.stages[s.stage] || s.label),
        y: body.stages.map((s) => s.customers),
        customdata: body.stages.map((s) => s.link),
        marker: { color: body.stages.map((s) => (s.stage === "decline" || s.stage === "lost" ? COLOURS[0] : COLOURS[2])) },
        hovertemplate: "%{x}: %{y}<extra></extra>",
      }]);
      const flows = body.movements;
      if (!flows.length) return empty(c.part("flows"), say.no_data);
      // only the stages customers moved from or to, before on the left and now on the right
      const keys = Object.keys(words.stages).filter((k) => flows.some((f) => f.from_stage === k || f.to_stage === k));
      const nodes = keys.map((k) => `${say.before}: ${words.stages[k]}`).concat(keys.map((k) => `${say.now}: ${words.stages[k]}`));
      draw(c.part("flows"), [{
        type: "sankey",
        arrangement: "snap",
        node: { label: nodes, pad: 12, thickness: 14, color: nodes.map((_, i) => COLOURS[(i % keys.length) % COLOURS.length]) },
        link: {
          source: flows.map((f) => keys.indexOf(f.from_stage)),
          target: flows.map((f) => keys.length + keys.indexOf(f.to_stage)),
          value: flows.map((f) => f.customers),
          customdata: flows.map((f) => f.link),
          color: flows.map((f) => (f.to_stage === "decline" || f.to_stage === "lost" ? "rgba(179,38,30,0.35)" : "rgba(31,95,174,0.35)")),
          hovertemplate: "%{source.label} → %{target.label}: %{value}<extra></extra>",
        },
      }], { height: 340 });
    },

    async clv(c) {
      const body = await api("analytics/clv", scope);
      if (c.headline && body.customer_equity != null) {
        c.headline.textContent = `${say.equity}: ${money.format(body.customer_equity)}` +
          (body.mean_clv != null ? ` · ${say.clv} ⌀ ${money.format(body.mean_clv)}` : "");
      }
      if (!body.histogram.length) return empty(c.main, say.no_data);
      const bins = body.histogram;
      draw(c.main, [{
        type: "bar",
        x: bins.map((b) => (b.from + b.to) / 2),
        width: bins.map((b) => Math.max(b.to - b.from, 1) * 0.95),
        y: bins.map((b) => b.customers),
        customdata: bins.map((b) => b.link),
        text: bins.map((b) => `${money.format(b.from)}–${money.format(b.to)}`),
        textposition: "none",
        marker: { color: COLOURS[1] },
        hovertemplate: `${say.clv} %{text}: %{y}<extra></extra>`,
      }], { xaxis: { title: { text: say.clv } }, yaxis: { title: { text: say.customers } } });
      const points = body.equity_over_time || [];
      draw(c.part("equity"), [{
        type: "scatter", mode: "lines+markers",
        x: points.map((p) => p.observation_end), y: points.map((p) => p.customer_equity),
        customdata: points.map((p) => `/analytics/runs/${p.run_id}`), // the run behind the point
        line: { color: COLOURS[4] },
        hovertemplate: `%{x}: %{y:,.0f}<extra></extra>`,
      }], { height: 220, yaxis: { title: { text: say.equity } } });
      charts.diagnosticsFrom(body);
    },

    async cohorts(c) {
      const body = await api("analytics/cohorts", scope);
      const cells = body.cells;
      if (!cells.length) return empty(c.main, say.no_data);
      const months = [...new Set(cells.map((x) => String(x.cohort_month).slice(0, 7)))].sort();
      const width = Math.max(...cells.map((x) => x.months_since)) + 1;
      const z = months.map(() => Array(width).fill(null));
      const links = months.map(() => Array(width).fill(null));
      const counts = months.map(() => Array(width).fill(""));
      for (const cell of cells) {
        const row = months.indexOf(String(cell.cohort_month).slice(0, 7));
        z[row][cell.months_since] = cell.retention;
        links[row][cell.months_since] = cell.link;
        counts[row][cell.months_since] = `${cell.customers}/${cell.cohort_size}`;
      }
      draw(c.main, [{
        type: "heatmap", z, x: [...Array(width).keys()], y: months, customdata: links, text: counts,
        colorscale: [[0, "#f5f6f8"], [1, "#1f5fae"]], zmin: 0, zmax: 1, showscale: false,
        hovertemplate: `%{y} +%{x}: %{z:.0%} (%{text})<extra></extra>`,
      }], { height: Math.max(260, 18 * months.length + 70), xaxis: { title: { text: say.months_since } }, yaxis: { title: { text: say.cohort }, autorange: "reversed", type: "category" }, margin: { l: 80, r: 16, t: 8, b: 48 } });
    },

    async funnel(c) {
      const params = new URLSearchParams(scope);
      const query = new URLSearchParams();
      if (params.get("bought_from")) query.set("start", params.get("bought_from"));
      if (params.get("bought_to")) query.set("end", params.get("bought_to"));
      if (params.get("team_id")) query.set("team_id", params.get("team_id"));
      const body = await api("funnel", query.toString());
      if (!body.stages.length || !body.created) return empty(c.main, say.no_data);
      const detail = "/sales/funnel?" + new URLSearchParams({ start: body.period_start, end: body.period_end, ...(query.get("team_id") ? { team_id: query.get("team_id") } : {}) }).toString();
      draw(c.main, [{
        type: "funnel",
        y: body.stages.map((s) => s.label),
        x: body.stages.map((s) => s.reached),
        customdata: body.stages.map(() => detail),
        textinfo: "value+percent initial",
        marker: { color: COLOURS[2] },
      }], { margin: { l: 120, r: 16, t: 8, b: 24 } });
    },

    async churn(c) {
      const body = await api("analytics/churn", scope + (scope ? "&" : "") + "limit=1");
      const draw_groups = (element, rows, label) => {
        if (!rows.length) return empty(element, say.no_data);
        draw(element, [
          {
            type: "bar", x: rows.map(label), y: rows.map((r) => r.mean_risk),
            customdata: rows.map((r) => r.link), name: say.mean_risk, marker: { color: COLOURS[0] },
            text: rows.map((r) => `${say.high_risk}: ${r.high_risk}`),
            textposition: "none",
            hovertemplate: `%{x}: %{y:.0%} · %{text}<extra></extra>`,
          },
        ], { yaxis: { tickformat: ".0%", range: [0, 1], title: { text: say.mean_risk } }, margin: { l: 60, r: 16, t: 8, b: 90 } });
      };
      draw_groups(c.main, body.by_tier, (r) => words.tiers[r.key] || r.key);
      draw_groups(c.part("segments"), body.by_segment, (r) => words.segments[r.key] || r.key);
    },

    diagnosticsFrom(clvBody) {
      const c = card("diagnostics");
      if (!c) return;
      const holdout = clvBody.models && clvBody.models.holdout;
      if (!fullView) return empty(c.main, say.not_for_you);
      if (!holdout || !holdout.by_frequency) return empty(c.main, say.no_data);
      const rows = holdout.by_frequency;
      draw(c.main, [
        { type: "bar", name: say.predicted, x: rows.map((r) => r.label), y: rows.map((r) => r.predicted), marker: { color: COLOURS[3] } },
        { type: "bar", name: say.actual, x: rows.map((r) => r.label), y: rows.map((r) => r.actual), marker: { color: COLOURS[2] } },
      ], { barmode: "group", showlegend: true, legend: { orientation: "h", y: 1.12 }, xaxis: { type: "category", title: { text: say.calibration_frequency } }, yaxis: { title: { text: say.repeat_purchases } }, margin: { l: 60, r: 16, t: 24, b: 48 } });
      const track = holdout.tracking || [];
      if (!track.length) return empty(c.part("tracking"), say.no_data);
      draw(c.part("tracking"), [
        { type: "scatter", mode: "lines", name: say.predicted, x: track.map((t) => t.period), y: track.map((t) => t.predicted), line: { color: COLOURS[3], dash: "dash" } },
        { type: "scatter", mode: "lines", name: say.actual, x: track.map((t) => t.period), y: track.map((t) => t.actual), line: { color: COLOURS[2] } },
      ], { showlegend: true, legend: { orientation: "h", y: 1.12 }, height: 240, xaxis: { title: { text: say.week } }, yaxis: { title: { text: say.cumulative_repeats } } });
    },
  };

  async function drawAll() {
    const names = ["tiers", "pareto", "rfm", "lifecycle", "clv", "cohorts", "funnel", "churn"];
    await Promise.all(names.map(async (name) => {
      const c = card(name);
      if (!c) return;
      try {
        await charts[name](c);
      } catch (error) {
        empty(c.main, `${say.failed} ${error.message}`);
      }
    }));
    board.dataset.ready = "yes";
  }

  // period presets fill the two dates
  function presets() {
    const select = document.querySelector("[data-period]");
    const from = document.querySelector('input[name="bought_from"]');
    const to = document.querySelector('input[name="bought_to"]');
    if (!select || !from || !to) return;
    select.value = from.value || to.value ? "custom" : "";
    select.addEventListener("change", () => {
      const today = new Date();
      const iso = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
      if (select.value === "") { from.value = ""; to.value = ""; return; }
      if (select.value === "custom") return;
      const start = select.value === "year" ? new Date(today.getFullYear(), 0, 1)
        : new Date(today.getFullYear(), today.getMonth(), today.getDate() - Number(select.value) + 1);
      from.value = iso(start);
      to.value = iso(today);
    });
  }

  function start() {
    presets();
    if (window.Plotly) drawAll();
    else window.addEventListener("load", drawAll);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
