/* Hand-drawn SVG charts for the AutoSight dashboard (no library, no external request).
   Every figure drawn comes from the API; these functions only place it. */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  if (parent) parent.appendChild(el);
  return el;
}

function svgText(parent, x, y, text, attrs) {
  const el = svgEl("text", { x, y, ...(attrs || {}) }, parent);
  el.textContent = text;
  return el;
}

function shortMoney(value) {
  const abs = Math.abs(value);
  if (abs >= 1e9) return (value / 1e9).toFixed(1) + "B";
  if (abs >= 1e6) return (value / 1e6).toFixed(1) + "M";
  if (abs >= 1e3) return (value / 1e3).toFixed(abs >= 1e4 ? 0 : 1) + "k";
  return value.toFixed(0);
}

function niceTicks(low, high, count) {
  const span = high - low || 1;
  const rough = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) || rough;
  const ticks = [];
  // From the step at or below the lowest value to the one at or above the highest: nothing is drawn outside.
  const last = Math.ceil(high / step - 1e-9) * step;
  for (let t = Math.floor(low / step + 1e-9) * step; t <= last + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function dateLabel(iso, withYear) {
  const [y, m, d] = iso.split("-");
  return `${Number(d)} ${MONTHS[Number(m) - 1]}` + (withYear ? ` ${y}` : "");
}

/* Daily series with optional moving average, closed days and a forecast band.
   options: {points: [{date, value, closed, ma, info}], forecast: [{date, value, lower, upper, closed}], height} */
function timeChart(container, options, tooltip) {
  container.textContent = "";
  const points = options.points;
  const forecast = options.forecast || [];
  const all = points.concat(forecast.map((f) => ({ date: f.date, value: f.value, closed: f.closed })));
  if (!all.length) {
    container.appendChild(document.createTextNode("No days in this period."));
    return;
  }
  const width = Math.max(container.clientWidth || 800, 320);
  const height = options.height || 280;
  const pad = { left: 56, right: 14, top: 12, bottom: 26 };
  const values = points.map((p) => p.value).concat(forecast.flatMap((f) => [f.lower ?? f.value, f.upper ?? f.value]));
  const ticks = niceTicks(Math.min(0, ...values), Math.max(1, ...values), 5);
  const low = ticks[0];
  const high = ticks[ticks.length - 1];
  const n = all.length;
  const x = (i) => pad.left + (n === 1 ? (width - pad.left - pad.right) / 2 : (i / (n - 1)) * (width - pad.left - pad.right));
  const y = (v) => pad.top + (1 - (v - low) / (high - low || 1)) * (height - pad.top - pad.bottom);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" }, container);
  const slot = n > 1 ? (width - pad.left - pad.right) / (n - 1) : 10;

  for (const t of ticks) {
    svgEl("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t), stroke: t === 0 ? "#cbd5e1" : "#eef0f3" }, svg);
    svgText(svg, pad.left - 6, y(t) + 4, shortMoney(t), { "text-anchor": "end" });
  }
  all.forEach((p, i) => {
    if (p.closed) {
      svgEl("rect", { x: x(i) - Math.max(slot, 2) / 2, y: pad.top, width: Math.max(slot, 2),
        height: height - pad.top - pad.bottom, fill: "#eceef2", class: "closed-day" }, svg);
    }
  });
  if (forecast.length) {
    const start = points.length;
    const open = forecast.map((f, k) => [f, x(start + k)]).filter(([f]) => !f.closed);
    const band = open.map(([f, px]) => [px, y(f.upper ?? f.value)])
      .concat(open.map(([f, px]) => [px, y(f.lower ?? f.value)]).reverse());
    svgEl("rect", { x: x(start) - slot / 2, y: pad.top, width: x(n - 1) - x(start) + slot, height: height - pad.top - pad.bottom,
      fill: "#f0fdf4" }, svg);
    svgEl("polygon", { points: band.map((p) => p.join(",")).join(" "), fill: "#86efac", "fill-opacity": 0.45, class: "forecast-band" }, svg);
    const lastOpen = points.map((p, i) => [p, i]).filter(([p]) => !p.closed).pop();
    const join = lastOpen ? [[x(lastOpen[1]), y(lastOpen[0].value)]] : [];
    const line = join.concat(forecast.map((f, k) => [f, x(start + k)]).filter(([f]) => !f.closed).map(([f, px]) => [px, y(f.value)]));
    svgEl("polyline", { points: line.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#15803d",
      "stroke-width": 2, "stroke-dasharray": "5 3" }, svg);
  }
  // Closed days are drawn as grey columns, not as zeros: the line joins the trading days around them.
  const trading = points.map((p, i) => [p, i]).filter(([p]) => !p.closed).map(([p, i]) => [x(i), y(p.value)]);
  svgEl("polyline", { points: trading.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#2563eb",
    "stroke-width": n > 400 ? 1.2 : 1.8, "stroke-linejoin": "round", class: "revenue-line" }, svg);
  // The moving average comes with the data (report.json's trend_analysis.days[].moving_average): computed once,
  // by the batch's code, never here.
  const ma = points.map((p) => (p.ma === undefined ? null : p.ma));
  if (ma.some((v) => v !== null)) {
    let d = "";
    let pen = false;
    ma.forEach((v, i) => {
      if (v === null) { if (!points[i].closed) pen = false; return; }  // a closed day does not break the line
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    svgEl("path", { d, fill: "none", stroke: "#f59e0b", "stroke-width": 2, class: "ma-line" }, svg);
  }
  const spanDays = n;
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor((width - pad.left) / 80))));
  for (let i = 0; i < n; i += labelEvery) {
    const anchor = x(i) > width - pad.right - 30 ? "end" : i === 0 ? "start" : "middle";
    svgText(svg, x(i), height - 8, dateLabel(all[i].date, spanDays > 330 || i === 0), { "text-anchor": anchor });
  }
  const cursor = svgEl("line", { y1: pad.top, y2: height - pad.bottom, stroke: "#94a3b8", visibility: "hidden" }, svg);
  const overlay = svgEl("rect", { x: pad.left, y: 0, width: width - pad.left - pad.right, height, fill: "transparent" }, svg);
  overlay.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    const i = Math.max(0, Math.min(n - 1, Math.round(n === 1 ? 0 : ((px - pad.left) / (width - pad.left - pad.right)) * (n - 1))));
    cursor.setAttribute("x1", x(i)); cursor.setAttribute("x2", x(i)); cursor.setAttribute("visibility", "visible");
    const lines = i < points.length ? points[i].info : forecast[i - points.length].info;
    tooltip.show(event, lines);
  });
  overlay.addEventListener("mouseleave", () => { cursor.setAttribute("visibility", "hidden"); tooltip.hide(); });
}

/* Weekday (rows, Monday first) by week (columns) heatmap of daily revenue. */
function heatmap(container, days, tooltip, formatMoney) {
  container.textContent = "";
  if (!days.length) { container.appendChild(document.createTextNode("No days in this period.")); return; }
  const first = new Date(days[0].date + "T00:00:00Z");
  const offset = (first.getUTCDay() + 6) % 7;
  const weeks = Math.ceil((days.length + offset) / 7);
  const width = Math.max(container.clientWidth || 800, 320);
  const labelWidth = 34;
  const cell = Math.max(4, Math.min(34, Math.floor((width - labelWidth) / weeks) - 2));
  const height = 7 * (cell + 2) + 22;
  const svg = svgEl("svg", { viewBox: `0 0 ${Math.max(width, labelWidth + weeks * (cell + 2))} ${height}`, width, height }, container);
  const defs = svgEl("defs", {}, svg);
  const pattern = svgEl("pattern", { id: "hatch", width: 4, height: 4, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  svgEl("rect", { width: 4, height: 4, fill: "#f3f4f6" }, pattern);
  svgEl("line", { x1: 0, y1: 0, x2: 0, y2: 4, stroke: "#cbd5e1", "stroke-width": 2 }, pattern);
  const max = Math.max(1, ...days.filter((d) => !d.closed).map((d) => d.revenue));
  ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].forEach((name, row) => {
    svgText(svg, 0, row * (cell + 2) + cell * 0.75 + 2, name);
  });
  let lastMonth = "";
  days.forEach((day, index) => {
    const position = index + offset;
    const column = Math.floor(position / 7);
    const row = position % 7;
    const cx = labelWidth + column * (cell + 2);
    const cy = row * (cell + 2) + 2;
    let fill;
    if (day.closed) fill = "url(#hatch)";
    else if (day.revenue <= 0) fill = "#fee2e2";
    else {
      const t = Math.sqrt(day.revenue / max);
      fill = `rgb(${Math.round(239 - t * 210)},${Math.round(246 - t * 168)},${Math.round(255 - t * 20)})`;
    }
    const rect = svgEl("rect", { x: cx, y: cy, width: cell, height: cell, rx: 2, fill, class: "heat-cell" }, svg);
    rect.addEventListener("mousemove", (event) => tooltip.show(event, [
      `${day.date} (${["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][row]})`,
      day.closed ? "closed" : formatMoney(day.revenue)]));
    rect.addEventListener("mouseleave", () => tooltip.hide());
    const month = day.date.slice(0, 7);
    if (row === 0 && month !== lastMonth && cell >= 6) {
      svgText(svg, cx, height - 4, MONTHS[Number(day.date.slice(5, 7)) - 1]);
      lastMonth = month;
    }
  });
}

window.AutoSightCharts = { timeChart, heatmap };
