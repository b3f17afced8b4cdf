"""The benchmark's charts: time vs stream length (one write per event, ``server.py``)
and the two arrival patterns of issue 11 (``arrival_run.py``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from arrival_report import LABELS as ARRIVAL_LABELS

LABELS = {
    "raw_httpx": "(a) raw httpx, trio",
    "raw_sse": "(b) raw SSE + json.loads, trio",
    "raw_httpx_asyncio": "(a') raw httpx, asyncio",
    "raw_sse_asyncio": "(b') raw SSE + json.loads, asyncio",
    "sdk": "(c) anthropic SDK stream(), asyncio",
    "ours_stream": "(d) ours open_message_stream",
    "ours_raw": "(e) ours create(stream=True)",
    "ours_text": "(f) ours text_stream",
}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; no chart", file=sys.stderr)
        return None
    return plt


def chart_time_vs_length(results: dict[str, Any], path: Path) -> Path | None:
    plt = _pyplot()
    if plt is None:
        return None
    cells = [c for c in results.get("cells", []) if c["group"] == "scaling"]
    if not cells:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {
        "ours_stream": ("tab:blue", "o"),
        "sdk": ("tab:red", "s"),
        "raw_httpx": ("tab:gray", "^"),
        "raw_sse": ("tab:green", "v"),
    }
    for ax, kind, title in zip(
        axes,
        ("long_text", "big_tool"),
        ("long text (text deltas)", "big tool input (input_json deltas)"),
        strict=True,
    ):
        for contender, (color, marker) in styles.items():
            pts = sorted(
                (c["deltas"], c["wall"])
                for c in cells
                if c["key"].startswith(kind) and c["contender"] == contender and c.get("runs")
            )
            skipped = sorted(
                (c["deltas"], c["budget"])
                for c in cells
                if c["key"].startswith(kind) and c["contender"] == contender and c.get("skipped")
            )
            if pts:
                ax.plot(
                    *zip(*pts, strict=True),
                    marker=marker,
                    color=color,
                    label=LABELS.get(contender, contender),
                )
            if skipped:
                ax.scatter(
                    *zip(*skipped, strict=True),
                    marker="x",
                    color=color,
                    label=f"{contender}: over budget (skipped)",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("deltas in the stream")
        ax.set_ylabel("wall time, s (median)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(f"Time vs stream length — {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


STYLES = {
    "raw_httpx": ("tab:gray", "^"),
    "raw_sse": ("tab:green", "v"),
    "ours_stream": ("tab:blue", "o"),
    "ours_text": ("tab:cyan", "D"),
    "ours_handlers": ("tab:purple", "P"),
    "ours_raw": ("tab:orange", "s"),
    "ours_sync": ("tab:brown", "X"),
    "raw_httpx_sync": ("silver", "<"),
    "sdk": ("tab:red", "s"),
}


def _bulk_vs_per_event(ax: Any, arr: dict[str, Any], per_event: list[dict[str, Any]]) -> None:
    bulk = [c for c in arr.get("bulk", []) if c["scenario"] == "long_text" and c.get("runs")]
    names = [c["contender"] for c in bulk]
    ys = range(len(names))
    ax.barh(
        [y + 0.2 for y in ys],
        [c["us_per_event_cpu"] for c in bulk],
        height=0.4,
        color="tab:blue",
        label="bulk: whole body in one write",
    )
    pe = {c["contender"]: c for c in per_event if c["scenario"] == "long_text" and c.get("runs")}
    if pe:
        ax.barh(
            [y - 0.2 for y in ys],
            [pe[n]["us_per_event_cpu"] if n in pe else 0 for n in names],
            height=0.4,
            color="tab:gray",
            label="one write per event (server.py)",
        )
    ax.set_yticks(list(ys), [ARRIVAL_LABELS.get(n, n) for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("client CPU µs per event (median)")
    ax.set_title("long text: CPU per event by arrival pattern", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7)


def _bulk_scaling(ax: Any, arr: dict[str, Any]) -> None:
    cells = [c for c in arr.get("scaling", []) if c.get("runs") or c.get("skipped")]
    for contender in ("raw_httpx", "raw_sse", "ours_stream", "ours_raw", "sdk"):
        color, marker = STYLES[contender]
        for kind, ls in (("long_text", "-"), ("big_tool", "--")):
            pts = sorted(
                (c["deltas"], c["cpu"])
                for c in cells
                if c["contender"] == contender and c["scenario"].startswith(kind) and c.get("runs")
            )
            if pts:
                ax.plot(
                    *zip(*pts, strict=True),
                    ls=ls,
                    marker=marker,
                    color=color,
                    label=f"{contender} {kind}",
                )
            over = [
                (c["deltas"], c["budget"])
                for c in cells
                if c["contender"] == contender
                and c["scenario"].startswith(kind)
                and c.get("skipped")
            ]
            if over:
                ax.scatter(*zip(*over, strict=True), marker="x", color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("deltas in the stream")
    ax.set_ylabel("client CPU s (median); x = wall over budget")
    ax.set_title("bulk: CPU time vs length (solid text, dashed tool)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, ncol=2)


def _paced_knee(ax: Any, arr: dict[str, Any]) -> None:
    paced = arr.get("paced") or {}
    trials = paced.get("trials", []) + paced.get("fixed", [])
    for contender in paced.get("knees", {}):
        color, marker = STYLES.get(contender, ("black", "o"))
        pts = sorted(
            {
                (t["streams"], t["lag"]["p99"] * 1e3)
                for t in trials
                if t["contender"] == contender and t.get("lag")
            }
        )
        if pts:
            ax.plot(
                *zip(*pts, strict=True),
                marker=marker,
                color=color,
                label=f"{ARRIVAL_LABELS.get(contender, contender)}: knee "
                f"{paced['knees'][contender]}",
            )
    ax.axhline(100, color="black", ls=":", lw=1, label="lag p99 limit (100 ms)")
    ax.set_yscale("log")
    ax.set_xlabel("concurrent streams on one core")
    ax.set_ylabel("lag p99, ms")
    ax.set_title(
        f"paced {paced.get('rate', 0):g} deltas/s per stream, {paced.get('deltas', 0)} deltas",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def chart_arrivals(
    results: dict[str, Any], per_event: list[dict[str, Any]] | None, path: Path
) -> Path | None:
    """Both arrival patterns: bulk CPU per event (against one write per event), bulk
    time vs length, and paced lag p99 vs concurrent streams (the knee)."""
    plt = _pyplot()
    arr = results.get("arrivals") or {}
    if plt is None or not (arr.get("bulk") or arr.get("paced")):
        return None
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    _bulk_vs_per_event(axes[0], arr, per_event or [])
    _bulk_scaling(axes[1], arr)
    _paced_knee(axes[2], arr)
    m = results["machine"]
    fig.suptitle(
        f"Arrival patterns — {m['date']}, {m['nproc']} CPUs, {m['cpu']}, "
        f"Python {m['python']} (server and client on separate cores)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
