"""Tables and the issue 11 target verdicts of the arrival-pattern benchmark."""

from __future__ import annotations

from typing import Any

LABELS = {
    "raw_httpx": "(a) raw httpx, trio",
    "raw_sse": "(b) raw SSE + json.loads, trio",
    "ours_stream": "(d) open_message_stream, get_final_message",
    "ours_text": "(f) open_message_stream, text_stream",
    "ours_handlers": "(h) handlers (on_text subclass)",
    "ours_raw": "(e) create(stream=True), raw events",
    "ours_sync": "(s) sync Client, stream()",
    "raw_httpx_sync": "(a-sync) raw httpx.Client",
    "sdk": "(c) anthropic SDK, asyncio",
    "raw_httpx2": "(a2) raw httpx2, trio",
    "ours_stream_httpx2": "(d2) open_message_stream, get_final_message, on httpx2",
    "ours_text_httpx2": "(f2) open_message_stream, text_stream, on httpx2",
}


def _find(cells: list[dict[str, Any]], contender: str, scenario: str | None = None) -> Any:
    for c in cells:
        if c["contender"] == contender and (scenario is None or c["scenario"] == scenario):
            return c if c.get("runs") else None
    return None


def _target(
    name: str, now: str, limit: str, value: float | None, met: bool | None, shown: str | None = None
) -> dict[str, Any]:
    return {
        "measure": name,
        "issue_now": now,
        "target": limit,
        "value": value,
        "shown": shown if shown is not None else ("-" if value is None else f"{value:.2f}"),
        "met": met,
    }


def evaluate(arr: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the issue's targets table, each a ratio measured in this run."""
    out: list[dict[str, Any]] = []
    bulk = [c for c in arr.get("bulk", []) if c["scenario"] == "long_text"]
    sse = _find(bulk, "raw_sse")
    for contender, name, now, limit in (
        ("ours_stream", "bulk, open_message_stream / raw SSE + json.loads", "1.45-1.5", 1.0),
        ("ours_raw", "bulk, create(stream=True) / raw SSE + json.loads", "1.7-2.2", 1.1),
    ):
        ours = _find(bulk, contender)
        v = ours["cpu"] / sse["cpu"] if ours and sse else None
        out.append(
            _target(name + " (CPU)", now, f"≤ {limit}", v, None if v is None else v <= limit)
        )
    h, s = _find(bulk, "ours_handlers"), _find(bulk, "ours_stream")
    v = h["cpu"] / s["cpu"] if h and s else None
    out.append(
        _target(
            "bulk, handlers (on_text) / open_message_stream (CPU)",
            "1.2",
            "≤ 1.1",
            v,
            None if v is None else v <= 1.1,
        )
    )
    paced = arr.get("paced")
    if paced:
        knees = paced["knees"]
        if "raw_httpx" in knees and "ours_text" in knees:
            base, ours = knees["raw_httpx"], knees["ours_text"]
            v = ours / base if base else None
            out.append(
                _target(
                    "paced 60 ev/s: streams sustained on one core, ours / raw httpx",
                    "~0.75",
                    "≥ 0.9",
                    v,
                    None if v is None else v >= 0.9,
                    f"{ours} / {base} = {v:.2f}" if v else None,
                )
            )
        fixed = paced["fixed"]
        raw = _find(fixed, "raw_httpx")
        for contender in ("ours_text", "ours_stream"):
            ours = _find(fixed, contender)
            v = ours["cpu"] / raw["cpu"] if ours and raw else None
            out.append(
                _target(
                    f"paced: CPU per event / raw httpx at {paced['fixed_streams']} streams "
                    f"({contender})",
                    "1.4-1.5",
                    "≤ 1.2",
                    v,
                    None if v is None else v <= 1.2,
                )
            )
    slow = arr.get("slow")
    if slow:
        raw = _find(slow, "raw_httpx")
        for contender in ("ours_text", "ours_stream"):
            ours = _find(slow, contender)
            if not (ours and raw):
                continue
            v = ours["wall"] / raw["wall"]
            kib = ours.get("kib_per_stream_in_flight")
            out.append(
                _target(
                    f"1,000 slow streams: wall / raw httpx ({contender})",
                    "1.6",
                    "≤ 1.15",
                    v,
                    v <= 1.15,
                )
            )
            out.append(
                _target(
                    f"1,000 slow streams: KiB per stream in flight ({contender})",
                    "52",
                    "≤ 35",
                    kib,
                    None if kib is None else kib <= 35,
                    "-" if kib is None else f"{kib:.1f}",
                )
            )
    first = arr.get("first_byte")
    if first:
        raw, ours = _find(first, "raw_httpx"), _find(first, "ours_text")
        if raw and ours and raw.get("first_item") and ours.get("first_item"):
            a, b = raw["first_item"]["p50"] * 1e3, ours["first_item"]["p50"] * 1e3
            out.append(
                _target(
                    "first byte → first text_stream item, warm (median ms; raw httpx first chunk)",
                    "1.0-1.3 ms",
                    "≤ raw httpx + 0.3 ms",
                    b - a,
                    b - a <= 0.3,
                    f"{b:.3f} vs {a:.3f} (+{b - a:.3f})",
                )
            )
    for kind in ("long_text", "big_tool"):
        cells = [
            c
            for c in arr.get("scaling", [])
            if c["scenario"].startswith(kind) and c["contender"] == "ours_stream" and c.get("runs")
        ]
        cells.sort(key=lambda c: c["deltas"])
        if len(cells) >= 2:
            a, b = cells[-2], cells[-1]
            factor = b["deltas"] / a["deltas"]
            v = b["cpu"] / a["cpu"]
            out.append(
                _target(
                    f"scaling: {factor:.0f}x stream → CPU time, {kind} (open_message_stream)",
                    "3.95",
                    "≤ 4.2",
                    v,
                    v <= 4.2 if round(factor) == 4 else None,
                    f"{v:.2f} (wall {b['wall'] / a['wall']:.2f})",
                )
            )
    return out


def _us(c: dict[str, Any] | None, key: str = "us_per_event_cpu") -> str:
    return "-" if not c or key not in c else f"{c[key]:.2f}"


def _ratio(c: dict[str, Any], ref: dict[str, Any] | None) -> str:
    if not ref or not c.get("runs"):
        return "-"
    return f"{c['wall'] / ref['wall']:.2f} / {c['cpu'] / ref['cpu']:.2f}"


def _state(c: dict[str, Any]) -> str | None:
    if c.get("error"):
        return "error: " + str(c["error"])[:60]
    if c.get("skipped"):
        return f"> {c['budget']:.0f} s (skipped)"
    if not c.get("runs"):
        return "-"
    return None


def bulk_table(cells: list[dict[str, Any]], title: str) -> list[str]:
    lines = [
        "",
        f"| {title} | contender | events | wall s | cpu s | µs/ev cpu | x raw httpx (wall/cpu) "
        "| x raw SSE (wall/cpu) | GC ms | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by.setdefault(c["scenario"], []).append(c)
    for scenario, group in by.items():
        raw, sse = _find(group, "raw_httpx"), _find(group, "raw_sse")
        for c in group:
            label = LABELS.get(c["contender"], c["contender"])
            state = _state(c)
            if state:
                lines.append(f"| {scenario} | {label} | {c['events']} | {state} | | | | | | |")
                continue
            lines.append(
                f"| {scenario} | {label} | {c['events']} | {c['wall']:.3f} | {c['cpu']:.3f} | "
                f"{_us(c)} | {_ratio(c, raw)} | {_ratio(c, sse)} | {c['gc_s'] * 1e3:.1f} | "
                f"{c['peak_rss_kib'] / 1024:.1f} |"
            )
    return lines


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:.1f}"


def concurrent_table(cells: list[dict[str, Any]], title: str) -> list[str]:
    lines = [
        "",
        f"| {title} | contender | wall s | cpu s | µs/ev cpu | x raw httpx cpu | lag p50 ms "
        "| lag p99 ms | lag max ms | GC ms (max pause) | KiB/stream in flight | max in flight |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    raw = _find(cells, "raw_httpx")
    for c in cells:
        label = LABELS.get(c["contender"], c["contender"])
        state = _state(c)
        if state:
            lines.append(f"| {c['scenario']} | {label} | {state} | | | | | | | | | |")
            continue
        lag = c.get("lag") or {}
        kib = c.get("kib_per_stream_in_flight")
        if kib is not None and not c.get("all_in_flight", True):
            kib_s = f"{kib:.1f} (at {c.get('max_concurrent')})"
        else:
            kib_s = "-" if kib is None else f"{kib:.1f}"
        lines.append(
            f"| {c['scenario']} | {label} | {c['wall']:.2f} | {c['cpu']:.2f} | {_us(c)} | "
            f"{c['cpu'] / raw['cpu'] if raw else float('nan'):.2f} | {_ms(lag.get('p50'))} | "
            f"{_ms(lag.get('p99'))} | {_ms(lag.get('max'))} | {c['gc_s'] * 1e3:.0f} "
            f"({_ms(c.get('gc_max_pause_s'))}) | {kib_s} | "
            f"{c.get('max_concurrent')} |"
        )
    return lines


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    arr = results["arrivals"]
    lines = [
        f"arrival patterns, {m['date']}: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}; "
        f"server CPU {arr['pinning']['server_cpu']}, client CPU {arr['pinning']['client_cpu']}"
        + (" (QUICK: smoke sizes, numbers not meaningful)" if arr.get("quick") else ""),
    ]
    load = arr.get("load") or {}
    if load.get("busy_share") is not None:
        lines.append(
            f"machine load during the run: {load['busy_share']:.0%} of the CPUs' time busy, "
            "this benchmark included (alone it keeps about one of the two cores busy); load "
            f"average {load['start'].get('loadavg')} at the start, "
            f"{load['end'].get('loadavg')} at the end"
        )
    if arr.get("bulk"):
        lines += bulk_table(arr["bulk"], "bulk")
    if arr.get("scaling"):
        lines += bulk_table(arr["scaling"], "bulk scaling")
    paced = arr.get("paced")
    if paced:
        lines += [
            "",
            f"paced: {paced['rate']:g} deltas/s per stream, {paced['deltas']} deltas "
            f"({paced['duration_s']:.2f} s); sustained = {paced['criterion']}",
            "",
            "| paced knee | streams sustained | streams one core's CPU could carry at the "
            f"CPU per event of x{paced['fixed_streams']} "
            "| trials (streams: lag p99 ms, wall s, ok) |",
            "|---|---|---|---|",
        ]
        per_stream = (paced["deltas"] + 6) / paced["duration_s"]  # events/s of one stream
        for contender, knee in paced["knees"].items():
            at = _find(paced["fixed"], contender)
            cap = f"{1e6 / (at['us_per_event_cpu'] * per_stream):.0f}" if at else "-"
            trials = ", ".join(
                f"{t['streams']}: {_ms((t.get('lag') or {}).get('p99'))}, "
                f"{t.get('wall', float('nan')):.2f}, {'ok' if t['sustained'] else 'NO'}"
                for t in paced["trials"]
                if t["contender"] == contender
            )
            lines.append(f"| {LABELS.get(contender, contender)} | {knee} | {cap} | {trials} |")
        lines += concurrent_table(paced["fixed"], f"paced x{paced['fixed_streams']}")
    if arr.get("slow"):
        lines += concurrent_table(arr["slow"], "slow")
    if arr.get("first_byte"):
        lines += [
            "",
            "| first item, warm connection | median ms | p90 ms | max ms | rounds |",
            "|---|---|---|---|---|",
        ]
        for c in arr["first_byte"]:
            f = c.get("first_item")
            label = LABELS.get(c["contender"], c["contender"])
            if not f:
                lines.append(f"| {label} | {c.get('error', '-')} | | | |")
                continue
            lines.append(
                f"| {label} | {f['p50'] * 1e3:.3f} | {f['p90'] * 1e3:.3f} | {f['max'] * 1e3:.3f} "
                f"| {f['n']} |"
            )
    targets = results.get("issue11_targets")
    if targets:
        lines += [
            "",
            "| issue 11 target | issue's 'now' | target | measured | met |",
            "|---|---|---|---|---|",
        ]
        for t in targets:
            met = "-" if t["met"] is None else "yes" if t["met"] else "NO"
            lines.append(
                f"| {t['measure']} | {t['issue_now']} | {t['target']} | {t['shown']} | {met} |"
            )
    return "\n".join(lines)
