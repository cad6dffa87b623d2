"""The chart of docs/benchmarks.md, drawn in the tools venv (matplotlib is not a project dependency).

$BENCH_VENVS/tools/bin/python -m bench.chart bench/results/chart.json docs/benchmarks.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

PLAIN = FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}")


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    names = data["targets"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    x = range(len(names))
    width = 0.4
    json_bars = left.bar([i - width / 2 for i in x], data["rps_json"], width, label="JSON", color="#4C72B0")
    sse_bars = left.bar([i + width / 2 for i in x], data["rps_sse"], width, label="SSE (streamed)", color="#DD8452")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(PLAIN)
    left.set_ylabel("requests/s at 64 concurrent clients (log scale)")
    left.set_title("Throughput: more is better")
    left.set_xticks(list(x), names, rotation=25, ha="right")
    left.legend()
    for bars in (json_bars, sse_bars):
        for bar in bars:
            h = bar.get_height()
            if h and h == h:
                left.annotate(f"{h:,.0f}", (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom", fontsize=7)
    proxies = names[1:]
    added = data["added_ms"][1:]
    colors = ["#8C8C8C", "#8C8C8C", "#C44E52"] + ["#55A868"] * (len(proxies) - 3)
    bars = right.bar(range(len(proxies)), added, color=colors)
    right.set_ylabel("added latency at p50, ms")
    right.set_title("Sequential overhead over a direct call: less is better")
    right.set_xticks(range(len(proxies)), proxies, rotation=25, ha="right")
    for bar in bars:
        h = bar.get_height()
        if h and h == h:
            right.annotate(f"{h:.2f} ms", (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom", fontsize=8)
    fig.suptitle(f"IdeaForge gateway vs naive passthroughs vs LiteLLM proxy, 127.0.0.1, 2 cores ({data['title']})")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
