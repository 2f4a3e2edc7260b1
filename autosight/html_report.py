"""report.html: the morning report for people, from the very same data as report.json.

One self-contained file (inline CSS, inline SVG charts, no script, no external resource), so that it
opens offline, from a mail attachment or a file share, and prints well. It is rendered from the
report dictionary that report.json is written from: it computes no figure of its own, only positions
on the charts. Written atomically and privately (0600) like every output.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from atomic_io import write_bytes_atomically

CHART_WIDTH = 760
CHART_HEIGHT = 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 16, 16, 28
TOP_PRODUCTS = 10
NONE = "\u2013"  # en dash: a figure that does not exist
INK, MUTED, ACCENT, GOOD, BAD, CLOSED = "#1f2937", "#6b7280", "#2563eb", "#15803d", "#b91c1c", "#d1d5db"

CSS = """
body{margin:0;background:#f3f4f6;color:#1f2937;
  font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}
.page{max-width:800px;margin:0 auto;padding:24px 16px;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.sub{color:#6b7280;margin:0 0 16px}
.kpis{width:100%;border-collapse:separate;border-spacing:8px 0;margin:0 -8px}
.kpis td{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:10px 12px;vertical-align:top;width:20%}
.kpis .label{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpis .value{font-size:20px;font-weight:600}
.kpis .value.name{font-size:16px;overflow-wrap:anywhere}
.kpis .note{color:#6b7280;font-size:12px}
table.data{width:100%;border-collapse:collapse;font-size:13px}
table.data th{text-align:left;color:#6b7280;font-weight:600;border-bottom:1px solid #e5e7eb;padding:4px 6px}
table.data td{border-bottom:1px solid #f3f4f6;padding:4px 6px;overflow-wrap:anywhere}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.notes{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 12px}
.notes,p.bad{overflow-wrap:anywhere}
.good{color:#15803d} .bad{color:#b91c1c} .muted{color:#6b7280}
svg{max-width:100%;height:auto}
@media (max-width:600px){.kpis,.kpis tbody,.kpis tr{display:block;margin:0}
  .kpis td{display:block;width:auto;margin-bottom:8px}
  table.data{font-size:12px}}
@media print{body{background:#fff}.page{padding:0}}
"""


def write_report_html(path: Path, report: dict[str, Any]) -> None:
    """Render ``report`` (the content of report.json) and replace ``path`` atomically."""
    write_bytes_atomically(Path(path), render_report_html(report).encode("utf-8"))


def render_report_html(report: dict[str, Any]) -> str:
    summary = report["executive_summary"]
    period = report["period"]
    currency = report.get("currency")
    title = f"AutoSight sales report {_period_text(period)}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">Generated {escape(report["generated_at"])} · run {escape(str(report.get("run_id", "")))}</p>',
        _notes(report.get("notes", [])),
        _kpis(summary, report["prediction"], currency),
        "<h2>Daily revenue</h2>",
        _revenue_chart(report["trend_analysis"]["days"], report["prediction"]),
        "<h2>Products</h2>",
        _products_chart(report["product_performance"]),
        _products_table(report["product_performance"], currency),
        "<h2>Trends</h2>",
        _trend_table(report["trend_analysis"]),
        "<h2>Forecast</h2>",
        _forecast_table(report["prediction"], currency),
        "<h2>Data quality</h2>",
        _quality(report["data_quality"]),
    ]
    body = "\n".join(section for section in sections if section)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f'<body><div class="page">\n{body}\n</div></body></html>\n')


def _period_text(period: dict[str, Any]) -> str:
    if not period.get("start"):
        return "(no data)"
    return f"{period['start']} to {period['end']} ({period['days']} days)"


def money(value: float | None, currency: str | None = None) -> str:
    if value is None:
        return NONE
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<div class="notes">' + "".join(f"<p>{escape(note)}</p>" for note in notes) + "</div>"


def _kpi(label: str, value: str, note: str = "", value_class: str = "value") -> str:
    return (f'<td><div class="label">{escape(label)}</div><div class="{value_class}">{escape(value)}</div>'
            f'<div class="note">{note}</div></td>')


def _kpis(summary: dict[str, Any], prediction: dict[str, Any], currency: str | None) -> str:
    change = summary.get("latest_change") or {}
    pct = change.get("change_pct")
    change_note = (f'<span class="{"good" if pct >= 0 else "bad"}">{pct:+.2f} %</span> {escape(change["trend"])}'
                   if pct is not None else escape(change.get("trend", "")))
    best = summary.get("best_day") or {}
    top = summary.get("top_product") or {}
    cells = [
        _kpi("Total revenue", money(summary["total_revenue"], currency),
             f'{summary["transactions"]:,} sales · {summary["total_quantity"]:,} units'),
        _kpi("Average day", money(summary["average_daily_revenue"], currency),
             f'best {escape(str(best.get("date", NONE)))}: {escape(money(best.get("revenue"), currency))}'),
        _kpi("Latest day", change.get("date", NONE), change_note),
        _kpi(f"Forecast {prediction.get('date') or ''}", money(prediction["value"], currency),
             f"by {escape(prediction['method'])}"),
        _kpi("Top product", top.get("product", NONE), escape(money(top.get("revenue"), currency)),
             "value name"),  # a product name may be long, even without a space: it wraps within its card
    ]
    return f'<table class="kpis" role="presentation"><tr>{"".join(cells)}</tr></table>'


def _scale(low: float, high: float, out_low: float, out_high: float) -> Any:
    span = (high - low) or 1.0
    return lambda value: out_low + (value - low) / span * (out_high - out_low)


def _revenue_chart(days: list[dict[str, Any]], prediction: dict[str, Any]) -> str:
    """Line of daily revenue over the trading days (closed days as grey ticks, which the line crosses without a dip
    to 0, as revenue.png and the dashboard draw them), the forecast point with its interval."""
    if not days:
        return '<p class="muted">No days in the period.</p>'
    points = [day["revenue"] for day in days]
    upper = prediction.get("upper") if prediction.get("upper") is not None else prediction["value"]
    high = max([*points, upper, 0.0]) * 1.08 or 1.0
    low = min([*points, 0.0])
    slots = len(days) + 1  # one more for the forecast
    x = _scale(0, max(slots - 1, 1), PAD_LEFT, CHART_WIDTH - PAD_RIGHT)
    y = _scale(low, high, CHART_HEIGHT - PAD_BOTTOM, PAD_TOP)
    parts = [_axes(y, low, high)]
    closed = [i for i, day in enumerate(days) if day.get("trend") == "Closed" or day.get("closed")]
    parts += [f'<rect x="{x(i) - 1:.1f}" y="{PAD_TOP}" width="2" height="{CHART_HEIGHT - PAD_TOP - PAD_BOTTOM}" '
              f'fill="{CLOSED}"><title>{escape(days[i]["date"])} closed</title></rect>' for i in closed]
    closed_days = set(closed)
    path = " ".join(f"{x(i):.1f},{y(value):.1f}" for i, value in enumerate(points) if i not in closed_days)
    parts.append(f'<polyline fill="none" stroke="{ACCENT}" stroke-width="1.6" points="{path}"/>')
    last = len(days)
    if prediction.get("lower") is not None and prediction.get("upper") is not None:
        parts.append(f'<line x1="{x(last):.1f}" x2="{x(last):.1f}" y1="{y(prediction["lower"]):.1f}" '
                     f'y2="{y(prediction["upper"]):.1f}" stroke="{GOOD}" stroke-width="6" stroke-opacity=".3"/>')
    if prediction.get("date"):  # none when no trading day is ahead
        parts.append(f'<circle cx="{x(last):.1f}" cy="{y(prediction["value"]):.1f}" r="4" fill="{GOOD}">'
                     f'<title>forecast {escape(prediction["date"])}: {money(prediction["value"])}</title></circle>')
    parts.append(_x_labels(days, x))
    return _svg(parts, f"Daily revenue {days[0]['date']} to {days[-1]['date']}, with the forecast")


def _axes(y: Any, low: float, high: float) -> str:
    ticks = [low + (high - low) * step / 4 for step in range(5)]
    return "".join(
        f'<line x1="{PAD_LEFT}" x2="{CHART_WIDTH - PAD_RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e5e7eb"/>'
        f'<text x="{PAD_LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">'
        f"{_short_money(t)}</text>" for t in ticks)


def _x_labels(days: list[dict[str, Any]], x: Any) -> str:
    step = max(1, len(days) // 6)
    return "".join(f'<text x="{x(i):.1f}" y="{CHART_HEIGHT - 8}" text-anchor="{_anchor(x(i))}" font-size="11" '
                   f'fill="{MUTED}">{escape(days[i]["date"])}</text>' for i in range(0, len(days), step))


def _anchor(position: float) -> str:
    """Labels near the right edge end at their tick, so that none is cut off."""
    return "end" if position > CHART_WIDTH - PAD_RIGHT - 40 else "middle"


def _short_money(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def _svg(parts: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
            f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" aria-label="{escape(label)}">'
            f"<title>{escape(label)}</title>{''.join(parts)}</svg>")


def _products_chart(products: list[dict[str, Any]]) -> str:
    top = products[:TOP_PRODUCTS]
    if not top:
        return '<p class="muted">No product sold in the period.</p>'
    bar_height, label_width = 20, 220
    height = bar_height * len(top) + 8
    high = max(max(product["revenue"] for product in top), 1.0)
    width = CHART_WIDTH - label_width - 90
    rows = []
    for i, product in enumerate(top):
        bar = max(product["revenue"], 0) / high * width
        top_y = 4 + i * bar_height
        name = product["product"] if len(product["product"]) <= 32 else product["product"][:31] + "…"
        rows.append(f'<text x="{label_width - 8}" y="{top_y + 14}" text-anchor="end" font-size="12" fill="{INK}">'
                    f'{escape(name)}</text><rect x="{label_width}" y="{top_y + 3}" width="{bar:.1f}" '
                    f'height="{bar_height - 6}" fill="{ACCENT}" rx="2"/><text x="{label_width + bar + 6:.1f}" '
                    f'y="{top_y + 14}" font-size="12" fill="{MUTED}">{money(product["revenue"])}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
            f'viewBox="0 0 {CHART_WIDTH} {height}" role="img" aria-label="Top products by revenue">'
            f"<title>Top {len(top)} products by revenue</title>{''.join(rows)}</svg>")


def _products_table(products: list[dict[str, Any]], currency: str | None) -> str:
    if not products:
        return ""
    rows = "".join(f'<tr><td class="num">{p["rank"]}</td><td>{escape(p["product"])}</td>'
                   f'<td class="num">{p["quantity"]:,}</td><td class="num">{money(p["revenue"], currency)}</td>'
                   f'<td class="num">{_pct(p["revenue_share_pct"])}</td></tr>' for p in products)
    return ('<table class="data"><tr><th class="num">#</th><th>Product</th><th class="num">Units</th>'
            f'<th class="num">Revenue</th><th class="num">Share</th></tr>{rows}</table>')


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f} %"


def _trend_table(trends: dict[str, Any]) -> str:
    counts = "".join(f'<tr><td>{escape(label)}</td><td class="num">{count}</td></tr>'
                     for label, count in trends["counts"].items())
    recent = "".join(f'<tr><td>{escape(day["date"])}</td><td class="num">{money(day["revenue"])}</td>'
                     f'<td class="num">{_pct(day["change_pct"])}</td><td>{escape(day["trend"])}</td></tr>'
                     for day in trends["days"][-7:][::-1])
    threshold = trends["thresholds"]["strong_growth_pct"]
    return (f'<p class="muted">Day-over-day change; "Strong Growth" above {threshold:g} %.</p>'
            '<table class="data"><tr><th>Trend</th><th class="num">Days</th></tr>' + counts + "</table>"
            '<p class="muted">Last 7 days, newest first:</p><table class="data"><tr><th>Date</th>'
            '<th class="num">Revenue</th><th class="num">Change</th><th>Trend</th></tr>' + recent + "</table>")


def _forecast_table(prediction: dict[str, Any], currency: str | None) -> str:
    interval = ""
    if prediction.get("lower") is not None:
        interval = (f" ({prediction['interval_level_pct']} % interval {money(prediction['lower'], currency)} to "
                    f"{money(prediction['upper'], currency)})")
    rows = "".join(f'<tr><td>{escape(m["name"])}</td><td>{escape(m["description"])}</td>'
                   f'<td class="num">{money(m["value"], currency)}</td>'
                   f'<td class="num">{money(m["backtest"]["mae"])}</td></tr>' for m in prediction.get("models", []))
    headline = (f'Next trading day {escape(prediction["date"])}: <b>{money(prediction["value"], currency)}</b> by '
                f'{escape(prediction["method"])}{escape(interval)}' if prediction.get("date")
                else "No trading day ahead to forecast (no data, or every day ahead is expected closed)")
    return (f'<p>{headline}; the seed\'s moving average gives {money(prediction["moving_average"], currency)}.</p>'
            + ('<table class="data"><tr><th>Model</th><th>How</th><th class="num">Forecast</th>'
               f'<th class="num">Backtest MAE</th></tr>{rows}</table>' if rows else ""))


def _quality(quality: dict[str, Any]) -> str:
    """The totals, a row for each file this run loaded, replaced or refused, and one line for the files unchanged
    since loaded: after ten years the inbox holds 3,650 of those, a table no reader wants every morning (they are
    all listed in report.json)."""
    reasons = "".join(f'<tr><td>{escape(reason)}</td><td class="num">{count:,}</td></tr>'
                      for reason, count in quality.get("rejections_by_reason", {}).items())
    shown = [f for f in quality.get("files", []) if f["status"] != "unchanged"]
    unchanged = len(quality.get("files", [])) - len(shown)
    files = "".join(f'<tr><td>{escape(Path(f["path"]).name)}</td><td>{escape(f["status"])}</td>'
                    f'<td class="num">{f["rows_read"]:,}</td><td class="num">{f["rows_loaded"]:,}</td>'
                    f'<td class="num">{f["rows_rejected"]:,}</td></tr>' for f in shown)
    text = (f'<p>All files loaded: {quality["rows_read"]:,} rows read, {quality["rows_loaded"]:,} loaded, '
            f'{quality["rows_rejected"]:,} rejected.</p>')
    if files:
        text += ('<p class="muted">This run\'s files:</p><table class="data"><tr><th>File</th><th>Outcome</th>'
                 '<th class="num">Read</th><th class="num">Loaded</th><th class="num">Rejected</th></tr>'
                 f"{files}</table>")
    if unchanged:
        text += (f'<p class="muted">{unchanged:,} file(s) unchanged since loaded, not read again '
                 "(listed in report.json).</p>")
    if reasons:
        text += f'<table class="data"><tr><th>Rejection reason</th><th class="num">Rows</th></tr>{reasons}</table>'
    warnings = quality.get("warnings") or []
    text += "".join(f'<p class="bad">{escape(str(warning))}</p>' for warning in warnings)
    return text
