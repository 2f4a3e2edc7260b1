"""Time of the charts step of a nightly run, as main.py runs it: import the drawing code, draw both PNGs.

Why: issue 13 asks for charts in 0.5 s on the 1M-row run (three years of daily sales, ten products). The step
is measured in fresh interpreters, because the first import of matplotlib (fonts, rc parameters) is part of
what a nightly run pays. Wall time depends on the load of the machine, so CPU time is reported beside it.

Run from the repository root: ``python bench/charts.py [--days 1095] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, random, sys, tempfile, time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from autosight.run_results import DailyRevenue, Period, ProductPerformance
from forecasting import forecast_next_day
from scripts.generate_sample_data import PRODUCTS

days = int(sys.argv[2])
rng = random.Random(20240401)
first = date(2021, 1, 4)
daily = [DailyRevenue(first + timedelta(n), Decimal(0) if (first + timedelta(n)).weekday() == 0
                      else Decimal(str(round(rng.uniform(600, 1800), 2))), 10, 10,
                      closed_reason="detected_closed_weekday" if (first + timedelta(n)).weekday() == 0 else None)
         for n in range(days)]
forecast = forecast_next_day([d.day for d in daily], [d.revenue for d in daily], 5,
                             closed_days={d.day for d in daily if not d.trading},
                             is_closed_ahead=lambda day: day.weekday() == 0)
products = [ProductPerformance(name, 100, Decimal(90000 - 7000 * i), None, i + 1)
            for i, (name, _price, _weight) in enumerate(PRODUCTS[:10])]  # the sample's names, as in the 1M-row run
with tempfile.TemporaryDirectory() as folder:
    wall, cpu = time.perf_counter(), time.process_time()
    from visualization import draw_products_chart, draw_revenue_chart
    imported_wall, imported_cpu = time.perf_counter(), time.process_time()
    draw_revenue_chart(Path(folder) / "revenue.png", daily, forecast, 5, currency="USD")
    draw_products_chart(Path(folder) / "products.png", products, period=Period(daily[0].day, daily[-1].day),
                        currency="USD")
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                      "draw_wall": time.perf_counter() - imported_wall,
                      "draw_cpu": time.process_time() - imported_cpu}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1095, help="days of history (default 1095, the 1M-row run)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(args.days)], check=True,
                                      capture_output=True, text=True).stdout) for _ in range(args.repeat)]
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"charts step, {args.days} days, 10 products, median of {args.repeat} fresh interpreters (load {load}):")
    for key, meaning in (("wall", "import + both charts, wall"), ("cpu", "import + both charts, CPU"),
                         ("draw_wall", "both charts after the import, wall"),
                         ("draw_cpu", "both charts after the import, CPU")):
        print(f"  {meaning:38s} {statistics.median(run[key] for run in runs):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
