// The live pages: one Server-Sent Events stream per page (`/admin/live/events?view=…`) that
// starts with a snapshot and then carries each change. Everything in it was redacted on the
// server; this file only puts it on the page, always as text (never as HTML).
"use strict";

const MAX_ROWS = 500;
const WIRE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;  // RFC 3339 UTC, as on the wire

function liveSettings() {
  const island = document.getElementById("live-settings");
  return island ? JSON.parse(island.textContent) : null;
}

function say(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, name) => String(values[name]));
}

function formatters(settings) {
  const money = new Intl.NumberFormat(settings.locale, { style: "currency", currency: settings.currency });
  const number = new Intl.NumberFormat(settings.locale, { maximumFractionDigits: 1 });
  const axis = new Intl.NumberFormat(settings.locale, { maximumSignificantDigits: 3 });
  const percent = new Intl.NumberFormat(settings.locale, { style: "percent", maximumFractionDigits: 1 });
  const moment = new Intl.DateTimeFormat(settings.locale, {
    dateStyle: "short", timeStyle: "medium", timeZone: settings.zone,
  });
  const clock = new Intl.DateTimeFormat(settings.locale, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: settings.zone,
  });
  return {
    money: (cents) => money.format(cents / 100),
    number: (value) => (value == null ? "" : number.format(value)),
    axis: (value) => axis.format(value),
    percent: (value) => percent.format(value),
    time: (text) => clock.format(new Date(text)),
    moment: (text) => moment.format(new Date(text)),
    // A field of a summary as [name, value] to show: money for *_cents, seconds for *_s (the
    // unit then leaves the name), else as sent.
    field: (name, value) => {
      if (typeof value === "number" && name.endsWith("_cents")) {
        return [name.slice(0, -"_cents".length), money.format(value / 100)];
      }
      if (typeof value === "number" && name.endsWith("_s")) {
        return [name.slice(0, -"_s".length), `${number.format(value)} s`];
      }
      if (typeof value === "string" && WIRE_TIME.test(value)) return [name, moment.format(new Date(value))];
      return [name, value === null ? "–" : String(value)];
    },
  };
}

// Keeps the page's line to the server: the connection notice says when it is lost, and the
// browser reconnects by itself (EventSource), getting a fresh snapshot.
function connect(settings, onEvent) {
  const notice = document.getElementById("live-connection");
  const words = settings.words;
  const show = (text, ok) => {
    if (!notice) return;
    notice.textContent = text;
    notice.dataset.connected = ok ? "true" : "false";
  };
  const source = new EventSource(settings.stream);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "snapshot" || event.type === "connection") {
      show(event.connected ? words.connected : words.broker_lost, event.connected);
    }
    onEvent(event);
  };
  source.onerror = () => show(words.stream_lost, false);
  return source;
}

// -- traffic ---------------------------------------------------------------------------------

function trafficPage(settings) {
  const body = document.querySelector("#live-traffic tbody");
  const count = document.getElementById("live-count");
  const pauseButton = document.getElementById("live-pause");
  const filters = document.getElementById("live-filters");
  const words = settings.words;
  const format = formatters(settings);
  let rows = [];          // newest last, at most MAX_ROWS
  let paused = false;
  let waiting = 0;        // rows received while paused
  let lastSeq = 0;        // rows up to this one are here already (a snapshot may overlap the stream)

  const chosen = () => ({
    device: filters.elements.device.value,
    kind: filters.elements.kind.value,
    op: filters.elements.op.value,
    errors: filters.elements.errors.checked,
  });
  const isError = (row) => row.result != null && row.result !== "ok";
  const matches = (row, filter) =>
    (!filter.device || row.device === filter.device) &&
    (!filter.kind || row.kind === filter.kind) &&
    (!filter.op || row.op === filter.op) &&
    (!filter.errors || isError(row));

  // One line of fields: the name muted, the value plain, all as text.
  const summary = (fields, className) => {
    const line = document.createElement("span");
    line.className = className;
    fields.forEach(([name, value], index) => {
      const [shownName, shownValue] = format.field(name, value);
      const key = document.createElement("span");
      key.className = "field-name";
      key.textContent = `${index ? " · " : ""}${shownName} `;
      line.append(key, shownValue);
    });
    return line;
  };
  const resultText = (row) => {
    if (row.kind !== "request") return "";
    // A request without a readable id cannot be paired: its answer shows as a row of its own.
    if (row.result == null) return row.request_id == null ? "" : words.waiting;
    if (row.result === "no_answer") return words.no_answer;
    return row.result;
  };
  const cell = (tr, text, className) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  };
  const rowElement = (row) => {
    const tr = document.createElement("tr");
    tr.dataset.seq = row.seq;
    tr.dataset.device = row.device;
    tr.dataset.arrived = String(row.arrived);
    cell(tr, format.time(row.at));
    cell(tr, row.device);
    cell(tr, words[row.kind] || row.kind);
    cell(tr, row.op);
    cell(tr, resultText(row), isError(row) ? "error" : row.result === "ok" ? "status-online" : "").dataset.field = "result";
    cell(tr, row.latency_ms == null ? "" : `${format.number(row.latency_ms)} ms`, "money").dataset.field = "latency";
    const details = cell(tr, "", "details");
    details.dataset.field = "details";
    if (row.summary.length) details.append(summary(row.summary, "asked"));
    if (row.answer.length) details.append(summary(row.answer, "answered"));
    return tr;
  };
  const redraw = () => {
    const filter = chosen();
    const shown = rows.filter((row) => matches(row, filter));
    body.replaceChildren(...shown.slice().reverse().map(rowElement));
    count.textContent = paused
      ? say(words.paused, { count: waiting })
      : say(words.shown, { shown: shown.length, count: rows.length });
  };
  const add = (row) => {
    if (row.seq <= lastSeq) return;
    lastSeq = row.seq;
    row.arrived = Date.now();
    rows.push(row);
    if (rows.length > MAX_ROWS) rows = rows.slice(rows.length - MAX_ROWS);
    if (paused) {
      waiting += 1;
      count.textContent = say(words.paused, { count: waiting });
      return;
    }
    if (matches(row, chosen())) {
      body.prepend(rowElement(row));
      while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
    }
    count.textContent = say(words.shown, { shown: body.children.length, count: rows.length });
  };
  const answer = (event) => {
    const row = rows.find((candidate) => candidate.seq === event.seq);
    if (!row) return;
    Object.assign(row, { result: event.result, latency_ms: event.latency_ms, answer: event.answer });
    if (paused) return;
    const old = body.querySelector(`tr[data-seq="${event.seq}"]`);
    if (!old) return;
    if (matches(row, chosen())) old.replaceWith(rowElement(row));
    else old.remove();
  };

  filters.addEventListener("change", redraw);
  filters.addEventListener("submit", (event) => event.preventDefault());
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    waiting = 0;
    pauseButton.textContent = paused ? words.resume : words.pause;
    pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
    redraw();
  });
  connect(settings, (event) => {
    if (event.type === "snapshot") {
      const now = Date.now();
      rows = event.rows.map((row) => ({ ...row, arrived: now }));
      lastSeq = rows.length ? rows[rows.length - 1].seq : 0;
      redraw();
    } else if (event.type === "row") {
      add(event.row);
    } else if (event.type === "result") {
      answer(event);
    }
  });
}

// -- presence --------------------------------------------------------------------------------

function presencePage(settings) {
  const words = settings.words;
  const format = formatters(settings);
  let refreshing = null;
  // A session started or ended somewhere: fetch the table again (at most once a second).
  const refresh = () => {
    if (refreshing) return;
    refreshing = setTimeout(async () => {
      refreshing = null;
      const response = await fetch("/admin/live/presence/rows", { credentials: "same-origin" });
      if (!response.ok) return;
      const html = new DOMParser().parseFromString(`<table>${await response.text()}</table>`, "text/html");
      const fresh = html.getElementById("live-presence-rows");
      const old = document.getElementById("live-presence-rows");
      if (fresh && old) old.replaceWith(fresh);
    }, 1000);
  };
  const mark = (event) => {
    const row = document.querySelector(`#live-presence-rows tr[data-device="${CSS.escape(event.device)}"]`);
    if (!row) return refresh();  // a device this page does not list yet
    const place = row.querySelector('[data-field="connection"]');
    const span = document.createElement("span");
    if (event.online == null) {
      span.textContent = words.unknown;
    } else {
      span.textContent = event.online ? words.online : words.offline;
      span.className = event.online ? "status-online" : "status-offline";
    }
    place.replaceChildren(span);
    if (event.fw != null) row.querySelector('[data-field="fw"]').textContent = event.fw;
    if (event.heard_at != null) row.querySelector('[data-field="seen"]').textContent = format.moment(event.heard_at);
  };
  connect(settings, (event) => {
    if (event.type === "presence") mark(event);
    // The stream of this page carries only session answers and commands besides presence.
    else if (event.type === "result" || event.type === "row") refresh();
    else if (event.type === "snapshot") refresh();
  });
}

// -- health ----------------------------------------------------------------------------------

function healthPage(settings) {
  const words = settings.words;
  const format = formatters(settings);
  const charts = {};
  const holder = (name) => document.querySelector(`[data-live-chart="${name}"]`);
  const width = (element) => Math.max(200, element.clientWidth);
  const chart = (name, labels, colours) => {
    const element = holder(name);
    if (!element || typeof uPlot === "undefined") return null;
    const when = new Intl.DateTimeFormat(settings.locale, { timeStyle: "short", timeZone: settings.zone });
    const plot = new uPlot(
      {
        width: width(element),
        height: 220,
        series: [{}, ...labels.map((label, i) => ({ label, stroke: colours[i], spanGaps: true }))],
        axes: [
          { values: (u, values) => values.map((t) => when.format(new Date(t * 1000))), space: 70 },
          { values: (u, values) => values.map(format.axis), size: 60 },
        ],
      },
      [[], ...labels.map(() => [])],
      element,
    );
    window.addEventListener("resize", () => plot.setSize({ width: width(element), height: 220 }));
    return plot;
  };
  charts.rates = chart("rates", [words.requests_per_s, words.errors_per_s], ["#1e88e5", "#d32f2f"]);
  charts.latency = chart("latency", [words.p50, words.p99], ["#43a047", "#fb8c00"]);

  const table = document.querySelector("#live-ops tbody");
  const show = (stats) => {
    const series = stats.series;
    if (charts.rates) charts.rates.setData([series.t, series.requests_per_s, series.errors_per_s]);
    if (charts.latency) charts.latency.setData([series.t, series.p50_ms, series.p99_ms]);
    for (const element of document.querySelectorAll("[data-total]")) {
      element.textContent = format.number(stats[element.dataset.total]);
    }
    if (!stats.ops.length) return;
    table.replaceChildren(...stats.ops.map((op) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = op.op;
      tr.appendChild(th);
      for (const text of [
        format.number(op.requests), format.number(op.per_s), format.number(op.errors),
        format.percent(op.error_rate), format.number(op.p50_ms), format.number(op.p99_ms),
      ]) {
        const td = document.createElement("td");
        td.className = "money";
        td.textContent = text;
        tr.appendChild(td);
      }
      return tr;
    }));
  };
  connect(settings, (event) => {
    if (event.type === "snapshot" || event.type === "stats") show(event.stats);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const settings = liveSettings();
  if (!settings) return;
  const pages = { traffic: trafficPage, presence: presencePage, health: healthPage };
  pages[settings.view](settings);
});
