"""`make bench` is not part of the suite; its parsers of wrk and redis-benchmark output are."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

PARSE_PY = Path(__file__).resolve().parents[2] / "bench" / "parse.py"


@pytest.fixture(scope="module")
def parse():
    spec = importlib.util.spec_from_file_location("bench_parse", PARSE_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.49ms    1.04ms  26.72ms   91.41%
    Req/Sec     6.12k   275.23     6.55k    83.00%
  Latency Distribution
     50%  812.00us
     75%   10.73ms
     90%   11.14ms
     99%    1.20s
  60917 requests in 10.00s, 9.35MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 3, write 0, timeout 2
Requests/sec:   6091.43
Transfer/sec:    956.39KB
"""


def test_wrk_output_is_parsed_with_units(parse):
    result = parse.parse_wrk(WRK_OUTPUT)
    assert result["requests_per_second"] == 6091.43
    assert result["p50_ms"] == pytest.approx(0.812)
    assert result["p90_ms"] == pytest.approx(11.14)
    assert result["p99_ms"] == pytest.approx(1200.0)
    assert result["requests"] == 60917 and result["seconds"] == 10.0
    assert result["non_2xx"] == 12 and result["socket_errors"] == 5


def test_wrk_output_without_errors_and_garbage(parse):
    clean = WRK_OUTPUT.replace("  Non-2xx or 3xx responses: 12\n", "").replace(
        "  Socket errors: connect 0, read 3, write 0, timeout 2\n", "")
    assert parse.parse_wrk(clean)["non_2xx"] == 0
    assert parse.parse_wrk(clean)["socket_errors"] == 0
    with pytest.raises(ValueError, match="Requests/sec"):
        parse.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_redis_benchmark_csv_with_and_without_header(parse):
    with_header = ('"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms"\n'
                   '"ZINCRBY lb 1 member:__rand_int__","98039.22","0.287","0.064","0.279"\n')
    assert parse.parse_redis_benchmark_csv(with_header) == 98039.22
    assert parse.parse_redis_benchmark_csv('"ZINCRBY lb 1 member:__rand_int__","251256.28"\n') == 251256.28
    with pytest.raises(ValueError):
        parse.parse_redis_benchmark_csv("")


def test_the_go_leader_board_verdict_states_the_ratio_only_when_its_reason_holds(monkeypatch):
    """report.glb_verdict: met when every part reaches its published rate; the ratio stated (with each part
    against this run's own ceilings) only when the published rates add up to more than this run's bare app GET
    ceiling, so no server reaches them here; else MISSED."""
    monkeypatch.syspath_prepend(str(PARSE_PY.parents[1]))
    report = importlib.import_module("bench.report")
    parts = {"score": 963, "top": 3699, "rank": 806}
    mix = {"parts": {name: {"requests_per_second": rate} for name, rate in parts.items()}}

    def run(bare: float) -> dict:
        return {"ceilings": {"bare app GET": {"requests_per_second": bare},
                             "flask hello GET": {"requests_per_second": 3006},
                             "flask hello POST": {"requests_per_second": 2359}}}

    stated = report.glb_verdict(mix, run(27_572))
    assert stated.endswith("— ratio stated") and "score 963/s = 6% of 15,700" in stated
    assert "1.6x this run's bare app GET ceiling" in stated and "score 41% of flask hello POST" in stated
    assert "rank 27% of flask hello GET" in stated and "top 13% of bare app GET" in stated
    assert report.glb_verdict(mix, run(50_000)).endswith("— MISSED")  # a box that could: no excuse
    fast = {"parts": {name: {"requests_per_second": 20_000} for name in parts}}
    assert report.glb_verdict(fast, run(27_572)).endswith("— met")
