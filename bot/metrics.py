"""Prometheus metrics: one registry per process, served at GET /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

CALLBACKS = Counter(
    "salesbot_callbacks_total",
    "Platform callbacks accepted, by platform and outcome (new, duplicate)",
    ["platform", "outcome"],
    registry=REGISTRY,
)
REJECTIONS = Counter(
    "salesbot_callback_rejections_total",
    "Callbacks refused, by platform and reason",
    ["platform", "reason"],
    registry=REGISTRY,
)
CALLBACK_SECONDS = Histogram(
    "salesbot_callback_seconds",
    "Time from request to ack",
    ["platform"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
INBOX_LAG = Gauge(
    "salesbot_inbox_lag_seconds", "Age of the oldest unhandled inbox row", registry=REGISTRY
)
INBOX_PENDING = Gauge("salesbot_inbox_pending", "Unhandled inbox rows", registry=REGISTRY)
OUTBOX_DEPTH = Gauge("salesbot_outbox_rows", "Outbox rows by status", ["status"], registry=REGISTRY)
DELIVERIES = Counter(
    "salesbot_deliveries_total",
    "Outbox delivery attempts by platform, channel and outcome",
    ["platform", "channel", "outcome"],
    registry=REGISTRY,
)
ASR_SECONDS = Histogram(
    "salesbot_asr_job_seconds",
    "Voice job duration (download, decode, transcribe, extract)",
    ["engine"],
    buckets=(0.5, 1, 2, 3, 5, 10, 20, 40, 80),
    registry=REGISTRY,
)
ALERTS_RAISED = Counter(
    "salesbot_alerts_raised_total",
    "Alerts raised by rule and level",
    ["rule", "level"],
    registry=REGISTRY,
)
STREAM_CONNECTED = Gauge(
    "salesbot_dingtalk_stream_connected",
    "1 while the DingTalk stream is connected",
    registry=REGISTRY,
)
INBOX_DEAD = Gauge(
    "salesbot_inbox_dead",
    "Inbox rows that failed every attempt (listed by `salesbot inbox list --dead`)",
    registry=REGISTRY,
)
INBOX_DEAD_TOTAL = Counter(
    "salesbot_inbox_given_up",
    "Inbox rows given up on after their last attempt, by this process",
    ["platform"],
    registry=REGISTRY,
)

# Every outbox status has a sample from the first scrape: a dashboard shows 0, not "no data".
for _status in ("new", "taken", "done", "dead"):
    OUTBOX_DEPTH.labels(status=_status)
