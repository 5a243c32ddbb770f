"""Draws loadtest/results/<run>/chart.png from result.json: per scenario, throughput per mode
(requests/s and bookings/s) beside latency percentiles per mode (log scale).

Usage: python chart.py result.json chart.png   (run by the harness from its own venv)
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402


def main(src: str, dst: str) -> None:
    with open(src, encoding="utf-8") as f:
        report = json.load(f)
    runs = report["runs"]
    scenarios = list(dict.fromkeys(r["scenario"] for r in runs))
    fig, axes = plt.subplots(len(scenarios), 2, figsize=(13, 3.6 * len(scenarios)), squeeze=False)
    host = report["meta"]["host"]
    fig.suptitle(
        f"Booking load test {report['meta']['date'][:16]}Z - {host['cores']} cores, Node {host['node']}"
        f" - design claim {report['meta']['designClaim']['bookingsPerS'][0]}-{report['meta']['designClaim']['bookingsPerS'][1]} bookings/s",
        fontsize=11,
    )
    for row, scenario in enumerate(scenarios):
        rs = [r for r in runs if r["scenario"] == scenario]
        labels = [r["label"].replace(" ", "\n", 1) for r in rs]
        x = range(len(rs))

        ax = axes[row][0]
        width = 0.38
        req_bars = ax.bar([i - width / 2 for i in x], [r["requestsPerS"] for r in rs], width, label="requests/s", color="#9ecae1")
        book_bars = ax.bar([i + width / 2 for i in x], [r["bookingsPerS"] for r in rs], width, label="bookings/s", color="#3182bd")
        # The ratio to (d) is of bookings/s, except for the hot slot (attempts/s: seats cap bookings).
        on_requests = scenario == "hot"
        for bar, r in zip(req_bars if on_requests else book_bars, rs):
            ratio = r.get("ratioToPgbench")
            value = r["requestsPerS"] if on_requests else r["bookingsPerS"]
            text = f"{value:.0f}" + (f"\n{ratio:.2f}x (d)" if ratio is not None else "")
            # Answers refused by the edge's rate limiter measure the limiter, not booking: say so.
            if r.get("rateLimited", 0) > 0:
                text += f"\n{r['rateLimited']} x 429!"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(list(x), labels, fontsize=8)
        ax.set_title(f"{scenario}: throughput", fontsize=10)
        ax.legend(fontsize=7)
        ax.margins(y=0.25)

        ax = axes[row][1]
        width = 0.2
        for k, (key, color) in enumerate([("p50", "#a1d99b"), ("p95", "#41ab5d"), ("p99", "#006d2c"), ("max", "#bdbdbd")]):
            values = [max(r["latency"][key], 0.01) for r in rs]
            ax.bar([i + (k - 1.5) * width for i in x], values, width, label=key, color=color)
        ax.set_yscale("log")
        ax.set_ylabel("ms")
        ax.set_xticks(list(x), labels, fontsize=8)
        ax.set_title(f"{scenario}: latency percentiles", fontsize=10)
        ax.legend(fontsize=7, ncol=4)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py result.json chart.png")
    main(sys.argv[1], sys.argv[2])
