// The little the pages do in the browser: copy buttons and charts. Everything else is a
// plain form or link, so that every page works without this file too.
"use strict";

function setUpCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = button.dataset.copied || button.textContent;
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
    });
  }
}

// A chart reads its points from a JSON data island (`<script type="application/json">`,
// which is data, not script): {"label": "...", "x": [unix seconds], "y": [values],
// "format": {"locale": "de-DE", "currency": "EUR", "divisor": 100, "zone": "Europe/Berlin"}}
// (times on the axis in the space's zone, as the page shows them).
function setUpCharts() {
  if (typeof uPlot === "undefined") return;
  for (const holder of document.querySelectorAll("[data-chart]")) {
    const island = document.getElementById(holder.dataset.chart);
    if (!island) continue;
    const data = JSON.parse(island.textContent);
    if (!data.x.length) continue;
    const format = data.format || {};
    const money = format.currency
      ? new Intl.NumberFormat(format.locale, { style: "currency", currency: format.currency })
      : new Intl.NumberFormat(format.locale);
    const divisor = format.divisor || 1;
    const show = (value) => (value == null ? "" : money.format(value / divisor));
    const width = () => Math.max(200, holder.clientWidth);
    const span = data.x[data.x.length - 1] - data.x[0];
    const when = new Intl.DateTimeFormat(
      format.locale,
      span < 2 * 86400
        ? { timeStyle: "short", timeZone: format.zone }
        : { day: "numeric", month: "short", timeZone: format.zone },
    );
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        series: [{}, { label: data.label, stroke: "#1e88e5", fill: "rgba(30,136,229,0.1)", value: (u, v) => show(v) }],
        axes: [
          { values: (u, values) => values.map((t) => when.format(new Date(t * 1000))), space: 70 },
          { values: (u, values) => values.map(show), size: 80 },
        ],
        legend: { show: false },  // the caption beside the chart says it in words
      },
      [data.x, data.y],
      holder,
    );
    window.addEventListener("resize", () => plot.setSize({ width: width(), height: 220 }));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons();
  setUpCharts();
});
