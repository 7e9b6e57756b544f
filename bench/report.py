"""Results -> bench/results/*.json, two PNG plots, and BENCHMARKS.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .servers import REPO

RESULTS = REPO / "bench" / "results"
TARGETS = {  # from issue 13: scenario -> (text, ceiling measured in the same run, share of it, req/s floor)
    "post_single": ("≥ 70 % of the Flask hello-world POST and ≥ 6,000 req/s, p99 < 20 ms at 64 connections",
                    "flask hello POST", 0.70, 6000),
    "get_top10": ("≥ 80 % of the bare-app ceiling (the server's own: WSGI or ASGI callable)", "bare app GET", 0.80, 0),
    "get_rank": ("≥ 60 % of the Flask hello-world GET", "flask hello GET", 0.60, 0),
    "get_around": ("≥ 60 % of the Flask hello-world GET", "flask hello GET", 0.60, 0),
}
GLB_PUBLISHED = {"score": 15_700, "top": 14_800, "rank": 14_600}  # go-leader-board's published req/s per part
# each mix part's own ceiling in the same run: the request of its kind on the same server doing nothing else
GLB_CEILINGS = {"score": "flask hello POST", "top": "bare app GET", "rank": "flask hello GET"}
IDLE_CORE_TARGET = 0.01  # an idle API uses less than this share of one core
TRADES_TARGET = 100_000  # batched or stream ingestion, trades/s end to end
RANK_P99_TARGET_US = 1000  # rank p99 server-side at 1M members
P99_TARGET_MS = {"post_single": 20.0}  # scenario -> its p99 bound (wrk -c64), where the issue sets one


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}{unit}" if value >= 100 else f"{value:,.2f}{unit}"


def ceiling_value(results: dict[str, Any], name: str) -> float | None:
    ceiling = results["ceilings"].get(name) or {}
    return ceiling.get("requests_per_second")


def glb_verdict(mix: dict[str, Any], results: dict[str, Any]) -> str:
    """The go-leader-board target's line: met when every part reaches its published rate; else each part's share
    of it, and the ratio stated with its reason (the issue accepts that) only when the reason holds in this run:
    the published rates, measured on their machine, add up to more than this run's bare app GET ceiling (the most
    an app that does nothing serves here, with the load generator on the same cores), so no server reaches them
    here; then each part is also given against this run's ceiling of its kind. Otherwise: MISSED."""
    parts = {name: mix["parts"][name]["requests_per_second"] for name in GLB_PUBLISHED if name in mix["parts"]}
    shares = "; ".join(f"{name} {rate:,.0f}/s = {rate / GLB_PUBLISHED[name]:.0%} of {GLB_PUBLISHED[name]:,}"
                       for name, rate in parts.items())
    head = f"go-leader-board mix, each part ≥ its published rate or the ratio stated with the reason: {shares}"
    if all(rate >= GLB_PUBLISHED[name] for name, rate in parts.items()):
        return f"{head} — met"
    bare, published = ceiling_value(results, "bare app GET"), sum(GLB_PUBLISHED.values())
    if not bare or published <= bare:
        return f"{head} — MISSED"
    own = "; ".join(f"{name} {rate / ceiling:.0%} of {GLB_CEILINGS[name]}" for name, rate in parts.items()
                    if (ceiling := ceiling_value(results, GLB_CEILINGS[name])))
    return (f"{head}. Reason: published on their machine; together {published:,} req/s, {published / bare:.1f}x "
            f"this run's bare app GET ceiling ({bare:,.0f} req/s: an app that does nothing, the load generator on "
            f"the same cores), so out of reach here for any server. Against this run's own ceilings (the three "
            f"parts at once, 21 connections each; each ceiling alone at 64): {own}; the mix's total "
            f"{sum(parts.values()):,.0f} req/s = {sum(parts.values()) / bare:.0%} of the bare app GET — ratio stated")


def plot(results: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = {}
    names, ratios = [], []
    for scenario in results["scenarios"]:
        if scenario.get("available") and scenario.get("ratio") is not None:
            names.append(scenario["name"])
            ratios.append(scenario["ratio"] * 100)
    labels = ["http GET ceiling", "http POST ceiling", *names]
    values = [100.0, 100.0, *ratios]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.2))
    ax.barh(labels, values, color=["#999", "#999"] + ["#2a7" for _ in ratios])
    ax.axvline(100, color="k", lw=0.8)
    ax.set_xlabel("% of its ceiling measured in the same run")
    ax.set_title("Throughput vs its ceiling in the same run\n"
                 "(HTTP: hello-world Flask; trades: redis-benchmark ZINCRBY -P16)")
    fig.tight_layout()
    files["throughput"] = "bench/results/throughput_vs_ceiling.png"
    fig.savefig(REPO / files["throughput"], dpi=100)
    plt.close(fig)

    sizes = results.get("scale", {}).get("sizes", [])
    if sizes:
        fig, ax = plt.subplots(figsize=(8, 3.8))
        members = [s["members"] for s in sizes]
        for function, colour in (("rank", "#2a7"), ("around", "#27a"), ("top", "#a72")):
            ax.plot(members, [s[function]["p50_us"] for s in sizes], marker="o", color=colour,
                    label=f"{function} p50 (client)")
            ax.plot(members, [s[function]["p99_us"] for s in sizes], marker="o", ls="--", color=colour,
                    label=f"{function} p99 (client)")
            ax.plot(members, [s[function]["server_us_per_call"] or 0 for s in sizes], marker="x", ls=":",
                    color=colour, label=f"{function} in Redis (µs/call)")
        ax.axhline(RANK_P99_TARGET_US, color="#c33", lw=0.8, label="1 ms")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("members on the board")
        ax.set_ylabel("µs per call")
        ax.set_title("store.member_ranks / around / top latency vs board size")
        ax.legend(fontsize=7, ncol=3)
        fig.tight_layout()
        files["latency"] = "bench/results/latency_vs_board_size.png"
        fig.savefig(REPO / files["latency"], dpi=100)
        plt.close(fig)
    return files


def write_json(results: dict[str, Any], latest: bool = True) -> Path:
    """bench/results/run-<date>.json, and latest.json unless `latest` is False (a partial run)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = results["date"].replace(":", "").replace("-", "")[:15]
    path = RESULTS / f"run-{stamp}.json"
    text = json.dumps(results, indent=2, default=str)
    path.write_text(text)
    if latest:
        (RESULTS / "latest.json").write_text(text)
    return path


def _servers_table(comparison: dict[str, Any] | None) -> list[str]:
    """The server comparison (bench/compare.py): requests/s per round, each server alone, alternating."""
    if not comparison:
        return []
    names = list(comparison["servers"])
    lines = ["", "## Servers side by side (same run)", "",
             f"Each server alone with the same app code, {comparison['rounds']} alternating round(s) of "
             f"{comparison['seconds']} s, wrk -t1 -c64; requests/s per round (p99 of the first round). Columns "
             "are NAME/INTERFACE: `gunicorn/wsgi` = gthread, 2 workers x 4 threads, the config shipped before "
             "granian; `granian/wsgi` = granian on Flask alone, 2 workers x 1 blocking thread; `granian` = the "
             "default: granian's ASGI interface, the live router in front of Flask through a2wsgi.", "",
             "| request | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for request in next(iter(comparison["servers"].values())):
        cells = []
        for server in names:
            rates = comparison["servers"][server][request]
            p99 = comparison["p99_ms"][server][request]
            cells.append(" / ".join(_fmt(r) for r in rates) + (f" (p99 {_fmt(p99[0], ' ms')})" if p99 else ""))
        lines.append(f"| {request} | " + " | ".join(cells) + " |")
    for ratio in next(iter(comparison["ratios"].values())):
        lines.append(f"| {ratio} | " + " | ".join(f"{comparison['ratios'][s][ratio] * 100:.0f} %" for s in names)
                     + " |")
    return lines


def markdown(results: dict[str, Any], plots: dict[str, str]) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/); do not edit by hand. Absolute numbers drift 10-20 % between runs:",
        "compare each scenario with its ceiling measured in the same run.",
        "",
        f"- Date: {results['date']} (run length {results['seconds']} s per measurement"
        f"{', BENCH_QUICK' if results['quick'] else ''})",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}; load generator shares the cores; all on 127.0.0.1",
        f"- Versions: Python {m['python']}, {m['redis']}, granian {m.get('granian', '-')}, gunicorn {m['gunicorn']}, "
        f"{m['wrk']}",
        f"- Server: `python -m leaderboard serve` ({results['server']}); the ceilings run under the same server",
        f"- Load average (1/5/15 min) when the run started: {' / '.join(map(str, m['load_average']))}"
        + (" — **the machine was busy with other work: every number here is depressed; rerun `make bench` on an "
           "idle machine before judging a target**" if m["load_average"][0] > 0.5 * (m["nproc"] or 1) else ""),
        "",
        "## Ceilings (same run)",
        "",
        "| ceiling | requests/s | p50 | p99 |",
        "|---|---|---|---|",
    ]
    for name, ceiling in results["ceilings"].items():
        if ceiling.get("available", True):
            lines.append(f"| {name} | {_fmt(ceiling['requests_per_second'])} | {_fmt(ceiling.get('p50_ms'), ' ms')} "
                         f"| {_fmt(ceiling.get('p99_ms'), ' ms')} |")
        else:
            lines.append(f"| {name} | {ceiling['note']} | | |")
    lines += ["", "## Scenarios", "",
              "HTTP write scenarios: trades/s acknowledged (in the WAL) during the run, and end to end: acknowledged "
              "and applied to Redis (run time plus the time the flushers took to catch up). Stream scenarios: from "
              "the first XADD until every entry is acknowledged by the consumer group (acknowledged in the same "
              "transaction that applies its last trades). Kafka scenarios: from the first produced message until the "
              "all-volume board holds every trade (offsets are committed after the apply); `exact` = the all-volume "
              "total equals the trades' notional.",
              "", "| scenario | requests/s | trades/s acknowledged | trades/s end to end | p50 | p99 | vs ceiling "
              "| non-2xx |", "|---|---|---|---|---|---|---|---|"]
    for s in results["scenarios"]:
        if not s.get("available"):
            lines.append(f"| {s['title']} | {s['note']} | | | | | | |")
            continue
        ratio = f"{s['ratio'] * 100:.0f} % of {s['ceiling_name']}" if s.get("ratio") is not None else "-"
        stream = s["name"].startswith(("stream", "kafka"))
        end_to_end = s.get("trades_per_second") if stream else s.get("applied_trades_per_second")
        extra = f" (exact: {s.get('exact')})" if stream else ""
        lines.append(f"| {s['title']} | {_fmt(s.get('requests_per_second'))} "
                     f"| {'-' if stream else _fmt(s.get('trades_per_second'))} | {_fmt(end_to_end)}{extra} "
                     f"| {_fmt(s.get('p50_ms'), ' ms')} | {_fmt(s.get('p99_ms'), ' ms')} | {ratio} "
                     f"| {s.get('non_2xx', 0)} |")
    mix = next((s for s in results["scenarios"] if s["name"] == "glb_mix" and s.get("available")), None)
    if mix:
        lines += ["", "go-leader-board mix, per part: " + "; ".join(
            f"{name} {_fmt(part['requests_per_second'])} req/s (p99 {_fmt(part.get('p99_ms'), ' ms')})"
            for name, part in mix["parts"].items())]
    lines += _servers_table(results.get("servers"))
    lines += ["", "## Targets (from the issue)", ""]
    lines += [f"- {t}" for t in results["targets"]]
    if "throughput" in plots:
        lines += ["", f"![throughput vs ceiling]({plots['throughput']})"]
    scale = results.get("scale", {})
    if scale.get("sizes"):
        lines += ["", "## Scale: the read path's functions at growing board sizes", "",
                  "The board is grown through the real apply path (Applier + apply script: exactly-once markers, "
                  "all-time, day and hour sets). Then `store.member_ranks` (one member), `store.around` (10 rows) and "
                  "`store.top` (10 rows) are called from one Python client (hiredis): client round trip p50 / p99, and "
                  "Redis' own time (`INFO commandstats` µs per call; p99 upper bound from `LATENCY HISTOGRAM`, "
                  "power-of-two buckets) of the EVALSHA (rank, around) or ZREVRANGE (top) they run.", "",
                  "| members | rank p50 / p99 client | rank in Redis: µs/call, p99 ≤ | around p50 / p99 client "
                  "| around in Redis: µs/call, p99 ≤ | top p50 / p99 client | apply rate while growing |",
                  "|---|---|---|---|---|---|---|"]
        for s in scale["sizes"]:
            cells = []
            for function in ("rank", "around", "top"):
                f = s[function]
                cells.append(f"{_fmt(f['p50_us'])} / {_fmt(f['p99_us'])} µs")
                if function != "top":
                    cells.append(f"{_fmt(f['server_us_per_call'])}, ≤ {_fmt(f['server_p99_us_bound'])} µs")
            lines.append(f"| {s['members']:,} | " + " | ".join(cells)
                         + f" | {_fmt(s['populate_writes_per_second'])} writes/s |")
        mem = scale.get("memory") or {}
        if mem:
            lines += ["", f"Memory at {mem['members']:,} members (names like `{mem['member_name']}`): the all-time "
                          f"sorted set takes {mem['sorted_set_bytes_per_member']:.0f} bytes per member "
                          "(`MEMORY USAGE`); "
                          f"everything one member's write costs through the apply path (all-time, day and hour sets "
                          f"and its exactly-once marker) is {mem['total_bytes_per_member']:.0f} bytes per member "
                          f"(`INFO memory` before/after)."]
        if "latency" in plots:
            lines += ["", f"![latency vs board size]({plots['latency']})"]
    flush = results.get("flush", {})
    if flush.get("batches"):
        lines += ["", "## Flush time by batch size (the real Applier)", "",
                  f"One flush of N buffered trades (each on SOL: symbol board and all-volume; traders Zipf-active) "
                  f"through `Applier.apply`: as the service does it (at most {flush['chunk_writes']} writes per board "
                  f"per MULTI/EXEC) and with the whole flush in one transaction per board (how long one EXEC blocks "
                  f"Redis as N grows).", "",
                  "| trades per flush | chunked: median / max | chunked: trades/s | one EXEC per board: median / max "
                  "| one EXEC: trades/s |", "|---|---|---|---|---|"]
        for b in flush["batches"]:
            c, o = b["chunked"], b["one_exec"]
            lines.append(f"| {b['batch']:,} | {c['median_ms']:.2f} / {c['max_ms']:.2f} ms | "
                         f"{_fmt(c['trades_per_second'])} | {o['median_ms']:.2f} / {o['max_ms']:.2f} ms "
                         f"| {_fmt(o['trades_per_second'])} |")
    lines += ["", "Profiles, the fixes they led to and before/after numbers: [bench/PROFILE.md](bench/PROFILE.md).",
              "", "## Commands", "", "```", *results["commands"], "```", ""]
    return "\n".join(lines)
