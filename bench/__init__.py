"""`make bench`: this service's throughput and latency, measured beside this machine's ceilings in one run.

Run from the repository root with the project's venv: `.venv/bin/python -m bench` (BENCH_QUICK=1 for 3 s runs,
BENCH_SECONDS=N to choose). Writes bench/results/*.json, the plots and BENCHMARKS.md.
"""
