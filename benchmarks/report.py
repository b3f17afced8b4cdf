"""Tables and target verdicts of the one-write-per-event benchmark (``run.py``)."""

from __future__ import annotations

from typing import Any

from charts import LABELS

# ------------------------------------------------------------------------------ targets

TARGETS = {  # scenario -> the largest allowed ratio to raw httpx
    "short_chat": 2.0,
    "long_text": 1.5,
    "big_tool": 2.0,
    "fanout": 1.5,
}


def _find(results: dict[str, Any], scenario: str, contender: str) -> dict[str, Any] | None:
    for cell in results.get("cells", []):
        if cell["scenario"] == scenario and cell["contender"] == contender and cell.get("runs"):
            return cell
    return None


def evaluate_targets(results: dict[str, Any], scales: list[float]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for scenario, limit in TARGETS.items():
        base = _find(results, scenario, "raw_httpx")
        ours = _find(results, scenario, "ours_stream")
        if not (base and ours):
            continue
        for metric in ("wall", "cpu"):
            ratio = ours[metric] / base[metric]
            out.append(
                {
                    "target": f"{scenario}: ours_stream / raw httpx ({metric})",
                    "limit": limit,
                    "value": ratio,
                    "met": ratio <= limit,
                }
            )
    if 4.0 in scales and 1.0 in scales:
        for kind in ("long_text", "big_tool"):
            a = _find(results, f"{kind} x1", "ours_stream")
            b = _find(results, f"{kind} x4", "ours_stream")
            if a and b:
                ratio = b["wall"] / a["wall"]
                out.append(
                    {
                        "target": f"scaling {kind}: time at 4x / time at 1x (wall)",
                        "limit": 4.4,
                        "value": ratio,
                        "met": ratio <= 4.4,
                    }
                )
    core = results.get("core") or []
    for row in core:
        for part in ("accumulate", "engine"):
            value = row[f"{part}_us_per_event"]
            out.append(
                {
                    "target": f"core {part} µs/event, {row['scenario']}"
                    + ("" if part == "accumulate" else " (decode+parse+accumulate; info)"),
                    "limit": 3.0 if part == "accumulate" else None,
                    "value": value,
                    "met": value <= 3.0 if part == "accumulate" else None,
                }
            )
    for cell in results.get("memory") or []:
        if cell["contender"] == "ours_stream" and "rss_growth_kib_per_stream" in cell:
            v = cell["rss_growth_kib_per_stream"]
            out.append(
                {
                    "target": "memory: RSS growth KiB per concurrent stream",
                    "limit": 64,
                    "value": v,
                    "met": v <= 64,
                }
            )
    ours = _find(results, "short_chat", "ours_stream")
    sdk = _find(results, "short_chat", "sdk")
    if ours and sdk:
        ratio = ours["peak_rss_kib"] / sdk["peak_rss_kib"]
        out.append(
            {
                "target": "short chat peak RSS, ours / SDK",
                "limit": 0.5,
                "value": ratio,
                "met": ratio <= 0.5,
            }
        )
    return out


# ------------------------------------------------------------------------------- output


def _fmt_time(cell: dict[str, Any]) -> str:
    if cell.get("skipped"):
        return f"> {cell['budget']:.0f} s (skipped)"
    if cell.get("error"):
        return "error"
    return f"{cell['wall']:.3f}"


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"trio_msgstream benchmark, {m['date']}: {m['nproc']} CPUs, {m['cpu']}, "
        f"Python {m['python']}",
        "ratios: time of the contender / time of raw httpx (a), or of the SDK (c), on the "
        "same bytes; wall and client CPU",
        "",
    ]
    header = (
        f"| {'scenario':<16} | {'contender':<36} | {'events':>8} | {'wall s':>18} | "
        f"{'cpu s':>7} | {'events/s':>9} | {'µs/ev cpu':>9} | {'x raw (wall/cpu)':>16} | "
        f"{'x SDK (wall/cpu)':>16} | {'peak MiB':>8} |"
    )
    lines.append(header)
    lines.append("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for cell in results.get("cells", []):
        by_scenario.setdefault(cell["scenario"], []).append(cell)
    for scenario, cells in by_scenario.items():
        base = next((c for c in cells if c["contender"] == "raw_httpx" and c.get("runs")), None)
        sdk = next((c for c in cells if c["contender"] == "sdk" and c.get("runs")), None)
        for cell in cells:
            label = LABELS.get(cell["contender"], cell["contender"])
            if not cell.get("runs"):
                lines.append(
                    f"| {scenario:<16} | {label:<36} | {cell['events']:>8} | "
                    f"{_fmt_time(cell):>18} | {'':>7} | {'':>9} | {'':>9} | {'':>16} | "
                    f"{'':>16} | {'':>8} |"
                )
                continue

            def ratio(ref: dict[str, Any] | None, cell: dict[str, Any] = cell) -> str:
                if ref is None:
                    return "-"
                return f"{cell['wall'] / ref['wall']:.2f} / {cell['cpu'] / ref['cpu']:.2f}"

            lines.append(
                f"| {scenario:<16} | {label:<36} | {cell['events']:>8} | {cell['wall']:>18.3f} | "
                f"{cell['cpu']:>7.3f} | {cell['events_per_s']:>9.0f} | "
                f"{cell['us_per_event_cpu']:>9.2f} | {ratio(base):>16} | {ratio(sdk):>16} | "
                f"{cell['peak_rss_kib'] / 1024:>8.1f} |"
            )
    mem = results.get("memory")
    if mem:
        lines += [
            "",
            "| memory: concurrent slow streams | max concurrent | RSS growth KiB/stream |"
            " tracemalloc peak KiB/stream |",
            "|---|---|---|---|",
        ]
        for cell in mem:
            label = LABELS.get(cell["contender"], cell["contender"])
            if not cell.get("runs"):
                lines.append(f"| {label} | {_fmt_time(cell)} | | |")
                continue
            tm = cell.get("tracemalloc_kib_per_stream")
            lines.append(
                f"| {label} | {cell['max_concurrent']} | "
                f"{cell['rss_growth_kib_per_stream']:.1f} | "
                f"{'-' if tm is None else f'{tm:.1f}'} |"
            )
    core = results.get("core")
    if core:
        lines += [
            "",
            "| core (sans-IO, µs/event, best of N) | events | decode | parse | "
            "accumulate | engine (all) | engine (stream) | engine raw |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in core:
            stream = row.get("engine_stream_us_per_event")
            lines.append(
                f"| {row['scenario']} | {row['events']} | {row['decode_us_per_event']:.2f} | "
                f"{row['parse_us_per_event']:.2f} | {row['accumulate_us_per_event']:.2f} | "
                f"{row['engine_us_per_event']:.2f} | "
                f"{'-' if stream is None else f'{stream:.2f}'} | "
                f"{row['engine_raw_us_per_event']:.2f} |"
            )
    targets = results.get("targets")
    if targets:
        lines += ["", "| target | limit | measured | met |", "|---|---|---|---|"]
        for t in targets:
            lines.append(
                f"| {t['target']} | {'-' if t['limit'] is None else format(t['limit'], 'g')} | "
                f"{t['value']:.2f} | {'-' if t['met'] is None else 'yes' if t['met'] else 'NO'} |"
            )
    return "\n".join(lines)
