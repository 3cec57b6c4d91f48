"""Job metrics. Workers record durations and failures; ``/metrics`` adds queue depth, the
outbox backlog and the dead-letter count when scraped."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOB_DURATION = Histogram(
    "boxoffice_job_duration_seconds",
    "Time a job took, by outcome (ok, retry, dead).",
    ["job", "queue", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
JOB_FAILURES = Counter(
    "boxoffice_job_failures_total",
    "Job runs that raised (each retry counts).",
    ["job", "queue"],
)
QUEUE_DEPTH = Gauge(
    "boxoffice_job_queue_depth",
    "Messages waiting in the broker, by queue (delayed: retries waiting for their backoff).",
    ["queue", "state"],
    multiprocess_mode="livemax",
)
OUTBOX_PENDING = Gauge(
    "boxoffice_outbox_pending",
    "Outbox rows not yet completed.",
    multiprocess_mode="livemax",
)
DEAD_LETTERS = Gauge(
    "boxoffice_job_dead_letters",
    "Jobs in the dead-letter store, not requeued.",
    multiprocess_mode="livemax",
)
