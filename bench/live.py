"""Live streams under load (part of `make bench`; alone: `python -m bench.live`): delivery latency from the 202
of a trade to its arrival at every subscriber, for 250, 1,000 and 2,000 concurrent subscribers, and the API's
own throughput (cached top-10 GET, wrk) with none and with 2,000 subscribers while trades are posted, in one
run. Writes bench/results/live-<date>.json, bench/results/live_subscribers.png and the "Live streams" section
of BENCHMARKS.md.

The throughput runs alternate without and with subscribers (without, with, ... without: API_ROUNDS runs with
subscribers, each between two without; wrk for BENCH_SECONDS, 3 to 5 s, each), so a drift of the machine's
other load between runs does not pass for the streams' cost: each run with subscribers is compared with the
mean of the two runs without around it, and the verdict is the median of those paired drops. Identical runs
of wrk on this shared machine differ by 10-25 %, hence many pairs rather than long runs; the same pairing
applied to the runs without subscribers alone (each against its two neighbours without) is reported beside
the verdict as the noise floor. A run starts once the previous run's subscribers are gone from the API (its
`leaderboard_live_subscribers` gauge is 0), so closing 2,000 streams is never billed to a run without them.
The API's CPU per GET (its processes' CPU over the run / GETs served) is reported beside it, paired the same
way."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis as redis_lib
import requests

from leaderboard import keys

from . import live_fanout, load, scenarios, servers

SUBSCRIBERS = (250, 1000, 2000)
TRADES_PER_STEP = 20  # one every TRADE_INTERVAL_S, each a new trader at the top of ETH
TRADE_INTERVAL_S = 0.25
# throughput runs with subscribers, each between two without
API_ROUNDS = int(os.environ.get("BENCH_LIVE_ROUNDS") or 8)
STREAMS = ["/v1/leaderboards/eth/stream?period=day", "/v1/leaderboards/eth/stream?period=all",
           "/v1/leaderboards/all-volume/stream?period=day", "/v1/leaderboards/all-volume/stream?period=all"]
GET_PATH = "/v1/leaderboards/eth?period=day&limit=10"
PRICES = itertools.count()  # every trade of the run above all before it: each one a new leader of ETH and all-volume
SECTION = ("<!-- live:start -->", "<!-- live:end -->")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class Poster:
    """Posts TRADES_PER_STEP trades (one new leader each) in a thread and keeps each 202's wall-clock time."""

    def __init__(self, base: str, token: str, tag: str, trades: int = TRADES_PER_STEP) -> None:
        self.base, self.token, self.tag, self.trades = base, token, tag, trades
        self.acked: dict[str, float] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as http:
            for number in range(self.trades):
                trader = f"live-{self.tag}-{number}"
                body = {"trade_id": f"{trader}-t", "trader_id": trader, "symbol": "ETH", "side": "buy",
                        "quantity": "1", "price": str(10**7 + next(PRICES) * 1000)}
                posted = http.post(f"{self.base}/v1/trades", json=body, timeout=10,
                                   headers={"Authorization": f"Bearer {self.token}"})
                if posted.status_code == 202:
                    self.acked[trader] = time.time()
                time.sleep(TRADE_INTERVAL_S)


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a worker respawned meanwhile
            total += sum(psutil.Process(pid).cpu_times()[:2])
    return total


def api_workers(api_pid: int) -> list[int]:
    import psutil

    return [api_pid, *(child.pid for child in psutil.Process(api_pid).children(recursive=True))]


def first_events(client: Any, path: str, traders: set[str]) -> dict[str, str]:
    """trader -> id of the first event of `path`'s board period that carries it (from its event stream)."""
    query = path.split("?", 1)
    board = query[0].split("/")[3]
    period = query[1].split("period=", 1)[1].split("&", 1)[0]
    found: dict[str, str] = {}
    for raw_id, fields in client.xrange(keys.live_events(board, period)):
        for row in json.loads(fields[b"data"])["rows"]:
            if row["user_id"] in traders:
                found.setdefault(row["user_id"], raw_id.decode())
    return found


METRICS_TOKEN = secrets.token_urlsafe(32)  # the API's /metrics, for the run's own use


def wait_streams_closed(base: str, timeout: float = 30.0) -> None:
    """Until the API holds no stream (its subscribers gauge, summed over its workers, is 0), then a moment more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            scraped = requests.get(f"{base}/metrics", timeout=5, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            for line in scraped.text.splitlines():
                if line.startswith("leaderboard_live_subscribers ") and float(line.split()[1]) == 0:
                    time.sleep(0.5)
                    return
        time.sleep(0.2)
    raise RuntimeError(f"the API still holds streams {timeout:.0f} s after its subscribers left")


def step(base: str, port: int, token: str, count: int, tag: str, client: Any, api_pid: int,
         wrk_seconds: int = 0) -> dict[str, Any]:
    out = Path(tempfile.mkstemp(prefix="live-clients-", suffix=".json")[1])
    clients = None
    if count:
        clients = subprocess.Popen([sys.executable, "-m", "bench.live_clients", str(port), str(count), str(out),
                                    *STREAMS], cwd=servers.REPO, stdout=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(servers.REPO)})
        assert clients.stdout is not None
        connected = int(clients.stdout.readline().split()[1])
    else:
        connected = 0
    # a throughput run posts for as long as wrk runs (the same trades per second as the delivery steps)
    poster = Poster(base, token, tag, int(wrk_seconds / TRADE_INTERVAL_S) if wrk_seconds else TRADES_PER_STEP)
    workers = api_workers(api_pid)
    api_cpu, client_cpu = cpu_seconds(workers), cpu_seconds([clients.pid] if clients else [])
    wrk_proc = load.start_wrk(base + GET_PATH.split("?")[0], wrk_seconds, 64, "get_fixed.lua",
                              {"BENCH_PATH": GET_PATH}) if wrk_seconds else None
    poster.thread.start()
    poster.thread.join()
    throughput = load.finish_wrk(wrk_proc, wrk_seconds) if wrk_proc else None
    time.sleep(2.0)  # the last trade's events arrive
    api_cpu = cpu_seconds(workers) - api_cpu
    latencies: list[float] = []
    received = snapshots_bytes = 0
    if clients is not None:
        client_cpu = cpu_seconds([clients.pid]) - client_cpu
        clients.send_signal(signal.SIGTERM)
        clients.wait(timeout=60)
        wait_streams_closed(base)
        report = json.loads(out.read_text())
        received, snapshots_bytes = report["bytes"] - report["bytes_at_ready"], report["bytes_at_ready"]
        for path, by_id in report["arrivals"].items():
            for trader, event_id in first_events(client, path, set(poster.acked)).items():
                latencies += [at - poster.acked[trader] for at in by_id.get(event_id, [])]
    else:
        client_cpu = 0.0
    out.unlink(missing_ok=True)
    result: dict[str, Any] = {"subscribers": count, "connected": connected, "trades": len(poster.acked),
                              "deliveries": len(latencies), "expected_deliveries": len(poster.acked) * connected,
                              "client_cpu_s": round(client_cpu, 2), "api_cpu_s": round(api_cpu, 2),
                              "received_mb": round(received / 1e6, 2),  # after the opening snapshots
                              "snapshots_mb": round(snapshots_bytes / 1e6, 2),
                              "bytes_per_delivery": round(received / len(latencies)) if latencies else None,
                              "load_average": round(os.getloadavg()[0], 2)}
    if latencies:
        result |= {"p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
                   "max_ms": max(latencies) * 1000, "mean_ms": statistics.fmean(latencies) * 1000}
    if throughput:
        result["api"] = throughput
    return result


def run(redis_url: str, client: Any, data_dir: Path, seconds: int, say: Any) -> dict[str, Any]:
    from leaderboard.embedded_redis import free_port

    say("live: the hub's Python cost per stream and event, in process")
    fanout_us = live_fanout.measure(redis_url)
    port = free_port()
    env = {**servers.service_env(redis_url, data_dir / "api", port), "LIVE_MAX_SUBSCRIBERS_PER_ADDRESS": "5000",
           "METRICS_TOKEN": METRICS_TOKEN}
    base = f"http://127.0.0.1:{port}"
    scheduler_env = {**servers.service_env(redis_url, data_dir / "scheduler", port)}
    steps: list[dict[str, Any]] = []
    with servers.process([sys.executable, "-m", "leaderboard", "serve"], env, f"{base}/ready") as api, \
            servers.process([sys.executable, "-m", "leaderboard", "scheduler"], scheduler_env):
        token = scenarios.service_token(base, client)
        wrk_seconds = max(3, min(seconds, int(TRADES_PER_STEP * TRADE_INTERVAL_S)))
        load.wrk(base + GET_PATH.split("?")[0], 2, 64, "get_fixed.lua", {"BENCH_PATH": GET_PATH})  # warm-up
        for count in SUBSCRIBERS:
            say(f"live: {count} subscribers")
            steps.append(step(base, port, token, count, f"s{count}", client, api.pid))
        runs: list[dict[str, Any]] = []
        for number in range(2 * API_ROUNDS + 1):  # without, with, without, ..., without
            count = max(SUBSCRIBERS) if number % 2 else 0
            say(f"live: API throughput, run {number + 1} of {2 * API_ROUNDS + 1}: {count} subscribers")
            runs.append(step(base, port, token, count, f"api{number}", client, api.pid, wrk_seconds))
    alone, loaded_runs = runs[0::2], runs[1::2]
    rps = [r["api"]["requests_per_second"] for r in runs]
    cpu_per_get = [r["api_cpu_s"] / r["api"]["requests"] for r in runs]
    # each run with subscribers against the mean of the runs without just before and after it
    paired_drops = [1 - rps[n] / statistics.fmean((rps[n - 1], rps[n + 1])) for n in range(1, len(runs), 2)]
    alone_rps = rps[0::2]  # the same pairing on the runs without subscribers alone: what noise alone reads as a drop
    placebo_drops = [1 - alone_rps[n] / statistics.fmean((alone_rps[n - 1], alone_rps[n + 1]))
                     for n in range(1, len(alone_rps) - 1)]
    paired_cpu = [cpu_per_get[n] / statistics.fmean((cpu_per_get[n - 1], cpu_per_get[n + 1])) - 1
                  for n in range(1, len(runs), 2)]
    without = statistics.median(r["api"]["requests_per_second"] for r in alone)
    with_subs = statistics.median(r["api"]["requests_per_second"] for r in loaded_runs)
    # delivery while wrk loads the API, over every run with subscribers: their median p50, the worst p99 and max
    loaded = {**loaded_runs[0], "deliveries": sum(r["deliveries"] for r in loaded_runs),
              "expected_deliveries": sum(r["expected_deliveries"] for r in loaded_runs)}
    latencies = [r for r in loaded_runs if "p99_ms" in r]
    if latencies:
        loaded |= {"p50_ms": statistics.median(r["p50_ms"] for r in latencies),
                   "p99_ms": max(r["p99_ms"] for r in latencies), "max_ms": max(r["max_ms"] for r in latencies)}
    cpu_alone = statistics.median(cpu_per_get[0::2])
    cpu_with = statistics.median(cpu_per_get[1::2])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "steps": steps, "loaded": loaded,
        "baseline": alone[0], "api_runs": runs, "load_average": [round(x, 2) for x in os.getloadavg()],
        "api_without_runs": [r["api"]["requests_per_second"] for r in alone],
        "api_with_runs": [r["api"]["requests_per_second"] for r in loaded_runs],
        "api_without": without, "api_with": with_subs, "api_drop_median_runs": 1 - with_subs / without,
        "api_paired_drops": paired_drops, "api_drop": statistics.median(paired_drops),
        "api_placebo_drops": placebo_drops,
        "api_placebo_drop": statistics.median(placebo_drops) if placebo_drops else float("nan"),
        "api_cpu_per_get_paired_increase": paired_cpu, "api_cpu_per_get_increase": statistics.median(paired_cpu),
        "api_cpu_us_per_get_without": cpu_alone * 1e6, "api_cpu_us_per_get_with": cpu_with * 1e6,
        "wrk_seconds": wrk_seconds, "fanout_us_per_stream_event": fanout_us,
        "command": f"python -m bench.live (serve with WEB_INTERFACE=asgi, {env.get('WEB_WORKERS', '2')} workers; "
                   f"scheduler LIVE_TICK_MS=500; subscribers over {len(STREAMS)} streams from bench/live_clients.py; "
                   f"a trade every {TRADE_INTERVAL_S} s; wrk -c64 -d{wrk_seconds}s GET {GET_PATH} in "
                   f"{2 * API_ROUNDS + 1} runs alternating 0 and {max(SUBSCRIBERS):,} subscribers)",
    }


def plot(results: dict[str, Any]) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    path = servers.REPO / "bench" / "results" / "live_subscribers.png"
    steps = [s for s in results["steps"] if "p50_ms" in s]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([s["subscribers"] for s in steps], [s["p50_ms"] for s in steps], "o-", label="p50")
    left.plot([s["subscribers"] for s in steps], [s["p99_ms"] for s in steps], "o-", label="p99")
    left.axhline(1000, color="red", linestyle="--", label="target p99 < 1 s")
    left.set_xlabel("concurrent subscribers")
    left.set_ylabel("202 -> event at subscriber (ms)")
    left.set_title("Delivery latency")
    left.legend()
    if "loaded" in results and "p99_ms" in results["loaded"]:
        loaded = results["loaded"]
        left.plot([loaded["subscribers"]] * 2, [loaded["p50_ms"], loaded["p99_ms"]], "x", color="black",
                  label="p50, p99 while wrk loads the API")
        left.legend()
    right.bar(["no subscribers", f"{steps[-1]['subscribers']:,} subscribers"],
              [results["api_without"], results["api_with"]], color=["#888", "#4a7"])
    right.set_ylabel("cached top-10 GET req/s")
    right.set_title(f"API throughput ({-results['api_drop'] * 100:+.1f} % with subscribers)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def markdown(results: dict[str, Any]) -> str:
    rows = ["| subscribers | connected | deliveries / expected | p50 | p99 | max | MB received after the snapshots "
            "| bytes / delivery "
            "| CPU: API workers | CPU: subscribers' process | load average |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in [*results["steps"], *results.get("api_runs", [])]:
        rate = f" + wrk ({s['api']['requests_per_second']:,.0f} req/s)" if "api" in s else ""
        label = f"{s['subscribers']:,}{rate}"
        ms = [f"{s[k]:.0f} ms" if k in s else "-" for k in ("p50_ms", "p99_ms", "max_ms")]
        rows.append(f"| {label} | {s['connected']:,} | {s['deliveries']:,} / {s['expected_deliveries']:,} "
                    f"| {ms[0]} | {ms[1]} | {ms[2]} | {s.get('received_mb', 0):.1f} "
                    f"| {s.get('bytes_per_delivery') or 0:,} "
                    f"| {s.get('api_cpu_s', float('nan')):.1f} s | {s['client_cpu_s']:.1f} s "
                    f"| {s.get('load_average', float('nan'))} |")
    drop = results["api_drop"] * 100
    verdict_p99 = "met" if all(s.get("p99_ms", 1e9) < 1000 for s in results["steps"]) else "MISSED"
    loaded_p99 = results.get("loaded", {}).get("p99_ms", float("nan"))
    verdict_api = "met" if drop < 10 else "MISSED"
    return "\n".join([
        SECTION[0],
        "## Live streams (Server-Sent Events)",
        "",
        f"Run {results['date']}: `{results['command']}`. Delivery = from the 202 of a trade to its `update` event "
        "at each subscriber of a board it changes (wall clock, same machine; the subscribers' process shares the "
        f"2 cores with the API, the scheduler, Redis and wrk; load average {results['load_average']} at the end: "
        "other work on the machine inflates every number).",
        "",
        *rows,
        "",
        "Rows marked + wrk are the throughput runs, in the order they ran: wrk on the cached GET, alternating "
        "without and with subscribers; the others measure delivery alone. CPU columns: seconds of CPU over the "
        "step (its trades, plus 2 s), summed over the API's processes, and of the one process that holds every "
        "subscriber (a bare asyncio Protocol per connection on uvloop that only scans each chunk for event ids: "
        "what remote clients would cost this machine is nothing; this is the least a local one costs).",
        "",
        f"API throughput (cached top-10 GET, wrk -c64, trades posted meanwhile), judged on the **median of the "
        f"paired drops**: each run with subscribers against the mean of the runs without just before and after it "
        f"({', '.join(f'{-d * 100:+.1f} %' for d in results.get('api_paired_drops', []))}): **{-drop:+.1f} %**. "
        f"Noise floor, the same pairing on the runs without subscribers alone (each against its two neighbours): "
        f"{', '.join(f'{-d * 100:+.1f} %' for d in results.get('api_placebo_drops', []))} (median "
        f"{-results.get('api_placebo_drop', float('nan')) * 100:+.1f} %). "
        f"Medians of the runs: {results['api_without']:,.0f} req/s without "
        f"({', '.join(f'{r:,.0f}' for r in results.get('api_without_runs', []))}), {results['api_with']:,.0f} "
        f"with {results['loaded']['connected']:,} subscribers "
        f"({', '.join(f'{r:,.0f}' for r in results.get('api_with_runs', []))}). The API's CPU per GET served (all "
        "its processes' CPU over the run / GETs; trades, and with subscribers the streams, included), paired the "
        f"same way: {', '.join(f'{c * 100:+.1f} %' for c in results.get('api_cpu_per_get_paired_increase', []))} "
        f"(median {results.get('api_cpu_per_get_increase', float('nan')) * 100:+.1f} %; medians of the runs "
        f"{results.get('api_cpu_us_per_get_without', float('nan')):.0f} us without, "
        f"{results.get('api_cpu_us_per_get_with', float('nan')):.0f} us with): the capacity cost of the streams, "
        "which other work on the machine blurs less than req/s.",
        "",
        *([f"Python cost of one event to one stream in the server, in process (`python -m bench.live_fanout`: "
           f"{live_fanout.STREAMS:,} streams on the real hub and stream pump, a `send` that only counts): "
           f"{results['fanout_us_per_stream_event']:.1f} us; each event is encoded once per process, so the rest of "
           "a delivery is the server's send, the socket and the client.", ""]
          if "fanout_us_per_stream_event" in results else []),
        f"- delivery p99 < 1 s at every step up to 2,000 subscribers: {verdict_p99} (with wrk loading the API "
        f"meanwhile: {loaded_p99:.0f} ms)",
        f"- API throughput down < 10 % with 2,000 subscribers: {verdict_api}",
        "",
        "![live subscribers](bench/results/live_subscribers.png)",
        SECTION[1],
    ])


def write(results: dict[str, Any]) -> None:
    stamp = results["date"].replace("-", "").replace(":", "")
    (servers.REPO / "bench" / "results" / f"live-{stamp}.json").write_text(json.dumps(results, indent=2))
    plot(results)
    path = servers.REPO / "BENCHMARKS.md"
    text = path.read_text()
    section = markdown(results)
    if SECTION[0] in text:
        before, rest = text.split(SECTION[0], 1)
        text = before + section + rest.split(SECTION[1], 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> int:
    say = lambda text: print(f"bench: {text}", file=sys.stderr, flush=True)  # noqa: E731
    seconds = int(os.environ.get("BENCH_SECONDS") or 5)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, servers.redis_server(Path(tmp) / "redis") as rs:
        client = redis_lib.Redis.from_url(rs.url)
        results = run(rs.url, client, Path(tmp) / "data", seconds, say)
        client.close()
    write(results)
    for s in [*results["steps"], results["loaded"]]:
        say(f"{s['subscribers']} subscribers: p50 {s.get('p50_ms', 0):.0f} ms, p99 {s.get('p99_ms', 0):.0f} ms "
            f"({s['deliveries']}/{s['expected_deliveries']}), {s['received_mb']} MB received, "
            f"{s.get('bytes_per_delivery')} bytes per delivery, load {s.get('load_average')}")
    say(f"API {results['api_without']:,.0f} -> {results['api_with']:,.0f} req/s (medians); paired drops "
        f"{[round(-d * 100, 1) for d in results['api_paired_drops']]} %, median {-results['api_drop'] * 100:+.1f} %; "
        f"CPU per GET {[round(c * 100, 1) for c in results['api_cpu_per_get_paired_increase']]} %, median "
        f"{results['api_cpu_per_get_increase'] * 100:+.1f} %; load average {results['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
