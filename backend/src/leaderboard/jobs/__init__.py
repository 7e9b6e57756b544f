"""Scheduled jobs: plain idempotent task functions (tasks), the Redis lock and per-tick guard (guard),
the APScheduler process that runs them (scheduler), and their state for operators (status)."""
