/* AutoSight dashboard: reads /api/v1 and draws it. All text from the data goes through textContent; inside a
   sentence it is isolated (isolated()), so that a bidi override in a name cannot reorder the words around it. */
"use strict";

const API = "/api/v1";
const TOP_PRODUCTS = 15;
const REJECTS_PAGE = 20;
const RECENT_RUNS = 10;
/* A nightly tool: a day and a half without an ingestion run (cron's or the schedule's) means last night's did not happen. */
const STALE_AFTER_HOURS = 36;
const RUN_KINDS = { batch: ["cron / manual", "python main.py: cron's run, or one by hand"],
  inbox: ["scheduled", "the server's scheduled inbox run"], upload: ["upload", "a file uploaded to the server"] };
const state = { period: { days: "90" }, currency: null, closedDates: new Set(), products: [], showAll: false, selected: null,
  rejects: { fileId: null, offset: 0, total: 0 }, forecast: null };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

/* Text from the data inside the dashboard's own words: a <bdi>, whose direction controls end with it. */
function isolated(text) {
  return el("bdi", {}, text);
}

function money(value) {
  if (value === null || value === undefined) return "–";
  const text = Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return state.currency ? `${text} ${state.currency}` : text;
}

function pct(value) {
  if (value === null || value === undefined) return "–";
  return `${value > 0 ? "+" : ""}${Number(value).toFixed(2)} %`;
}

const tooltip = {
  node: null,
  show(event, lines) {
    this.node = this.node || $("tooltip");
    this.node.textContent = "";
    lines.forEach((line, i) => this.node.append(i ? el("div", {}, line) : el("strong", {}, line)));
    this.node.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - this.node.offsetWidth - 8);
    this.node.style.left = `${x}px`;
    this.node.style.top = `${event.clientY + 14}px`;
  },
  hide() { if (this.node) this.node.hidden = true; },
};

/* ---------------------------------------------------------------- fetching */

function periodParams() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state.period)) if (value) params.set(key, value);
  return params;
}

class Unauthorized extends Error {}

function authorization() {
  const token = sessionStorage.getItem("autosight-token");
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function fetchApi(path, params) {
  const query = params && params.toString() ? `?${params}` : "";
  const response = await fetch(`${API}${path}${query}`, { headers: authorization() });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.detail || `${response.status} ${response.statusText}`);
  }
  return response;
}

async function getJson(path, params) {
  return (await fetchApi(path, params)).json();
}

/* The latest report.html, on a server that wants the token: a plain link cannot send it (401), so the page fetches
   the file with it and hands it over as a download, which opens offline with its own stylesheet. */
async function downloadReport(event) {
  if (!sessionStorage.getItem("autosight-token")) return;  // no token in use: the plain link works
  event.preventDefault();
  const blob = await (await fetchApi("/report.html")).blob();
  const url = URL.createObjectURL(blob);
  el("a", { href: url, download: "report.html" }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function showNotice(text, isError, detail) {
  const notice = $("notice");
  notice.hidden = !text;
  notice.replaceChildren(text || "", ...(detail ? [isolated(detail)] : []));
  notice.className = isError ? "notice error" : "notice";
}

async function load() {
  const params = periodParams();
  document.body.setAttribute("aria-busy", "true");
  try {
    const [summary, days, forecast, products] = await Promise.all([
      getJson("/summary", params), getJson("/days", params), getJson("/forecast", params),
      getJson("/products", new URLSearchParams([...params, ["limit", "1000"]])),
    ]);
    $("token-form").hidden = true;
    state.currency = summary.currency || null;
    state.forecast = forecast;
    showNotice(summary.notes && summary.notes.length ? summary.notes.join(" ") : "", false);
    renderPeriod(summary.period);
    renderKpis(summary, forecast);
    renderRevenue(days, forecast);
    renderHeatmap(days);
    state.products = products.items;
    renderProducts();
    const keep = state.selected && state.products.some((p) => p.product === state.selected);
    if (keep) await selectProduct(state.selected); else clearProduct();
    await Promise.all([loadFiles(), loadRuns()]);
  } catch (error) {
    failed("the figures")(error);
  } finally {
    document.body.setAttribute("aria-busy", "false");
  }
}

/* What a failed request does (on loading, or on a click later): ask for the token, or say so on the page; a click's
   failure is never an unhandled rejection that leaves the page as it was without a word. */
function failed(what) {
  return (error) => {
    if (error instanceof Unauthorized) askToken();
    else showNotice(`Could not load ${what}: `, true, error.message);
  };
}

function askToken() {
  $("token-form").hidden = false;
  showNotice("", false);
  $("token").focus();
}

/* ---------------------------------------------------------------- header and KPIs */

function renderPeriod(period) {
  $("period-text").textContent = period.start ? `${period.start} → ${period.end} · ${period.days} days` : "no data";
  document.querySelectorAll(".presets button").forEach((button) => {
    button.classList.toggle("active", !state.period.from && !state.period.to && button.dataset.days === (state.period.days || ""));
  });
  $("from").value = state.period.from || period.start || "";
  $("to").value = state.period.to || period.end || "";
}

function kpi(id, label, value, note, noteClass, isText) {
  return el("div", { class: "kpi", id },
    el("div", { class: "label" }, label),
    el("div", { class: isText ? "value text" : "value", title: value }, value),
    el("div", { class: `note ${noteClass || ""}` }, note || ""));
}

function renderKpis(summary, forecast) {
  const s = summary.executive_summary;
  const change = s.latest_change;
  const lastWeek = summary.periods && summary.periods.last_7_days;
  const closed = s.closed_days ?? (summary.calendar ? summary.calendar.closed_days : null);
  const trading = s.trading_days ?? (summary.calendar ? summary.calendar.trading_days : null);
  const cards = [
    kpi("kpi-revenue", "Total revenue", money(s.total_revenue), `${s.transactions.toLocaleString("en-US")} sales · ${s.total_quantity.toLocaleString("en-US")} units`),
    kpi("kpi-average", "Average trading day", money(s.average_daily_revenue),
      trading !== null ? `${trading} trading days · ${closed ?? 0} closed` : ""),
    kpi("kpi-latest", `Latest day ${change ? change.date : ""}`, change ? pct(change.change_pct) : "–",
      change ? `${change.trend}${change.week_over_week_pct !== undefined && change.week_over_week_pct !== null ? ` · week over week ${pct(change.week_over_week_pct)}` : ""}` : "",
      change && change.change_pct !== null ? (change.change_pct >= 0 ? "up" : "down") : ""),
    kpi("kpi-week", "Last 7 days", lastWeek ? money(lastWeek.current.revenue) : "–",
      lastWeek && lastWeek.change_pct !== null ? `${pct(lastWeek.change_pct)} vs the 7 days before` : "",
      lastWeek && lastWeek.change_pct !== null ? (lastWeek.change_pct >= 0 ? "up" : "down") : ""),
    kpi("kpi-forecast", `Forecast ${forecast.date || ""}`, money(forecast.value),
      forecast.lower !== null && forecast.lower !== undefined ? `${forecast.interval_level_pct} %: ${money(forecast.lower)} – ${money(forecast.upper)}` : forecast.method),
    kpi("kpi-top", "Top product", s.top_product ? s.top_product.product : "–", s.top_product ? money(s.top_product.revenue) : "", "", true),
  ];
  $("kpis").replaceChildren(...cards);
}

/* ---------------------------------------------------------------- charts */

function dayInfo(day) {
  const lines = [day.date, day.trend === "Closed" ? `closed${day.closed_reason ? ` (${day.closed_reason.replaceAll("_", " ")})` : ""}` : money(day.revenue)];
  if (day.trend !== "Closed") lines.push(`${day.trend}${day.change_pct !== null ? ` ${pct(day.change_pct)}` : ""}`);
  if (day.week_over_week_pct !== undefined && day.week_over_week_pct !== null) lines.push(`week over week ${pct(day.week_over_week_pct)}`);
  return lines;
}

function forecastPoints(days) {
  return (days || []).map((f) => ({ ...f, info: [`${f.date} forecast`, f.closed ? "closed" : money(f.value),
    f.lower !== null && f.lower !== undefined ? `80 %: ${money(f.lower)} – ${money(f.upper)}` : ""] }));
}

function renderRevenue(days, forecast) {
  state.closedDates = new Set(days.days.filter((d) => d.trend === "Closed").map((d) => d.date));
  const points = days.days.map((d) => ({ date: d.date, value: d.revenue, closed: d.trend === "Closed", ma: d.moving_average,
    info: dayInfo(d) }));
  const week = forecast.week || (forecast.date ? [{ date: forecast.date, value: forecast.value, lower: forecast.lower, upper: forecast.upper, closed: false }] : []);
  const legend = $("revenue-legend");
  legend.replaceChildren(
    el("span", { style: { "--c": "#2563eb" } }, "revenue"),
    el("span", { style: { "--c": "#f59e0b" } }, `${forecast.window}-trading-day average`),
    el("span", { class: "band", style: { "--c": "#cbd5e1" } }, "closed"),
    el("span", { class: "band", style: { "--c": "#22c55e" } }, `forecast, ${forecast.interval_level_pct || 80} % band`));
  window.AutoSightCharts.timeChart($("revenue-chart"), { points, forecast: forecastPoints(week) }, tooltip);
}

function renderHeatmap(days) {
  const cells = days.days.map((d) => ({ date: d.date, revenue: d.revenue, closed: d.trend === "Closed" }));
  window.AutoSightCharts.heatmap($("heatmap"), cells, tooltip, money);
}

/* ---------------------------------------------------------------- products */

function renderProducts() {
  const shown = state.showAll ? state.products : state.products.slice(0, TOP_PRODUCTS);
  const max = Math.max(1, ...state.products.map((p) => p.revenue));
  const rows = shown.map((p) => el("tr", { class: `clickable${p.product === state.selected ? " selected" : ""}`, tabindex: "0",
    "data-product": p.product, onclick: () => selectProduct(p.product).catch(failed("the product")),
    onkeydown: (event) => { if (event.key === "Enter") selectProduct(p.product).catch(failed("the product")); } },
  el("td", { class: "num" }, String(p.rank)),
  el("td", { class: "name", title: p.product }, p.product),
  el("td", { class: "num" }, p.quantity.toLocaleString("en-US")),
  el("td", { class: "num" }, money(p.revenue)),
  el("td", {}, el("div", { class: "bar" }, el("i", { style: { width: `${Math.max(0, (p.revenue / max) * 100).toFixed(1)}%` } }),
    el("b", {}, p.revenue_share_pct === null ? "" : `${p.revenue_share_pct.toFixed(1)} %`)))));
  $("products-table").tBodies[0].replaceChildren(...rows);
  $("products-note").textContent = `${state.products.length} products`;
  const more = $("more-products");
  more.hidden = state.products.length <= TOP_PRODUCTS;
  more.textContent = state.showAll ? `Show the top ${TOP_PRODUCTS} only` : `Show all ${state.products.length} products`;
}

function clearProduct() {
  state.selected = null;
  $("product-title").textContent = "Product detail";
  $("product-note").textContent = "";
  $("product-hint").hidden = false;
  $("product-chart").textContent = "";
}

async function selectProduct(name) {
  state.selected = name;
  renderProducts();
  const detail = await getJson(`/products/${encodeURIComponent(name)}`, periodParams());
  $("product-title").textContent = detail.product;
  $("product-note").textContent = `#${detail.rank} · ${money(detail.revenue)} · ${detail.quantity.toLocaleString("en-US")} units`;
  $("product-hint").hidden = true;
  const own = (state.forecast.products || []).find((p) => p.product === name);
  const points = detail.days.map((d) => ({ date: d.date, value: d.revenue, closed: state.closedDates.has(d.date),
    info: state.closedDates.has(d.date) ? [d.date, "closed"] : [d.date, money(d.revenue), `${d.quantity} units in ${d.transactions} sales`] }));
  window.AutoSightCharts.timeChart($("product-chart"), { points, forecast: own ? forecastPoints(own.days) : [], height: 220 }, tooltip);
}

/* ---------------------------------------------------------------- data quality */

async function loadFiles() {
  const files = await getJson("/files", new URLSearchParams({ limit: "50" }));
  const rows = files.items.map((f) => el("tr", { class: f.rows_rejected ? "clickable" : "", "data-file": String(f.file_id),
    onclick: () => { if (f.rows_rejected) showRejects(f, 0).catch(failed("the rejected rows")); } },
  el("td", { class: "name", title: f.source_path }, f.source_path.split("/").pop()),
  el("td", {}, el("span", { class: `status ${f.status}` }, f.status)),
  el("td", { class: "num" }, f.rows_read.toLocaleString("en-US")),
  el("td", { class: "num" }, f.rows_loaded.toLocaleString("en-US")),
  el("td", { class: "num" }, f.rows_rejected ? `${f.rows_rejected.toLocaleString("en-US")} ›` : "0"),
  el("td", { title: `${f.finished_at} (UTC)` }, localTime(f.finished_at))));
  $("files-table").tBodies[0].replaceChildren(...rows);
  $("quality-note").textContent = `${files.total} file loads · click a file with rejects to see its rows`;
}

async function showRejects(file, offset) {
  state.rejects = { fileId: file.file_id, offset, total: file.rows_rejected, file };
  const page = await getJson(`/files/${file.file_id}/rejects`, new URLSearchParams({ limit: String(REJECTS_PAGE), offset: String(offset) }));
  $("rejects").hidden = false;
  $("rejects-title").replaceChildren("Rejected rows of ", isolated(file.source_path.split("/").pop()), ` (${page.total})`);
  $("rejects-table").tBodies[0].replaceChildren(...page.items.map((r) => el("tr", {},
    el("td", { class: "num" }, String(r.line)), el("td", { class: "reason" }, r.reason, ...(r.detail ? [": ", isolated(r.detail)] : [])),
    el("td", { class: "raw" }, r.raw_text))));
  $("rejects-page").textContent = `${offset + 1}–${Math.min(offset + REJECTS_PAGE, page.total)} of ${page.total}`;
  $("rejects-prev").disabled = offset === 0;
  $("rejects-next").disabled = offset + REJECTS_PAGE >= page.total;
}

/* ---------------------------------------------------------------- runs */

function localTime(iso) {
  const time = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())} ${two(time.getHours())}:${two(time.getMinutes())}`;
}

function count(value) {
  return value === null || value === undefined ? "–" : value.toLocaleString("en-US");
}

function runRows(run) {
  const [kind, kindTitle] = RUN_KINDS[run.kind] || [run.kind, ""];
  const rows = [el("tr", { class: `run ${run.outcome}`, "data-run": String(run.run_id), "data-kind": run.kind },
    el("td", { class: "when", title: `${run.started_at} – ${run.finished_at} (UTC)` }, localTime(run.started_at)),
    el("td", { title: kindTitle }, kind),
    el("td", {}, el("span", { class: `status ${run.outcome}`, title: run.exit_code === null ? "" : `exit code ${run.exit_code}` }, run.outcome)),
    el("td", { class: "num", "data-label": run.files === 1 ? "file" : "files" }, count(run.files)),
    el("td", { class: "num", "data-label": "loaded" }, count(run.rows_loaded)),
    el("td", { class: "num", "data-label": "rejected" }, count(run.rows_rejected)))];
  if (run.message) rows.push(el("tr", { class: `run-message ${run.outcome}`, "data-run": String(run.run_id) }, el("td", { colspan: "6" }, run.message)));
  return rows;
}

/* The newest ingestion run (cron's or the schedule's; an upload is not "last night's run") at the top of the page. */
function renderLastRun(run) {
  const line = $("last-run");
  line.hidden = !run;
  if (!run) return;
  const hours = (Date.now() - new Date(run.finished_at).getTime()) / 3.6e6;
  const stale = hours > STALE_AFTER_HOURS;
  line.className = `last-run ${run.outcome}${stale ? " stale" : ""}`;
  const silence = stale ? `No ingestion run for ${hours < 48 ? `${Math.floor(hours)} hours` : `${Math.floor(hours / 24)} days`} · ` : "";
  const figures = run.files === null ? "" : ` · ${count(run.files)} file${run.files === 1 ? "" : "s"}, ${count(run.rows_loaded)} rows loaded, ${count(run.rows_rejected)} rejected`;
  line.replaceChildren(el("span", {}, el("strong", {}, `${silence}Last run ${run.outcome === "ok" ? "ok" : run.outcome.toUpperCase()}`),
    ` · ${localTime(run.started_at)} (${RUN_KINDS[run.kind][0]})${figures}`), el("span", { class: "more" }, "recent runs ›"));
}

async function loadRuns() {
  const runs = await getJson("/runs", new URLSearchParams({ limit: String(RECENT_RUNS) }));
  $("runs-table").tBodies[0].replaceChildren(...runs.items.flatMap(runRows));
  $("runs-table").hidden = runs.items.length === 0;
  $("runs-empty").hidden = runs.items.length > 0;
  $("runs-note").textContent = runs.total > runs.items.length ? `the last ${runs.items.length} of ${runs.total} · local time` : "local time";
  renderLastRun(runs.items.find((run) => run.kind !== "upload"));
}

/* ---------------------------------------------------------------- wiring */

function setPeriod(period) {
  state.period = period;
  const params = new URLSearchParams(Object.entries(period).filter(([, v]) => v));
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  load();
}

document.addEventListener("DOMContentLoaded", () => {
  const initial = new URLSearchParams(location.search);
  if ([...initial.keys()].length) state.period = Object.fromEntries(["from", "to", "days"].map((k) => [k, initial.get(k) || ""]));
  document.querySelectorAll(".presets button").forEach((button) => {
    button.addEventListener("click", () => setPeriod({ days: button.dataset.days }));
  });
  $("period-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setPeriod({ from: $("from").value, to: $("to").value });
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("autosight-token", $("token").value);
    load();
  });
  $("report-link").addEventListener("click", (event) => downloadReport(event).catch(failed("report.html")));
  $("more-products").addEventListener("click", () => { state.showAll = !state.showAll; renderProducts(); });
  const page = (offset) => showRejects(state.rejects.file, offset).catch(failed("the rejected rows"));
  $("rejects-prev").addEventListener("click", () => page(Math.max(0, state.rejects.offset - REJECTS_PAGE)));
  $("rejects-next").addEventListener("click", () => page(state.rejects.offset + REJECTS_PAGE));
  let resize = null;
  window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(load, 250); });
  load();
});
