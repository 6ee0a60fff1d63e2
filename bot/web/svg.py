"""Small inline SVG charts drawn on the server: no chart library to ship or load."""

from __future__ import annotations

from datetime import datetime

WIDTH, HEIGHT, PAD = 600, 120, 8


def health_points(history: list[tuple[datetime, int]]) -> str:
    """The `points` of a polyline for a health-score history (0–100), oldest left."""
    if not history:
        return ""
    if len(history) == 1:
        history = [history[0], history[0]]
    first, last = history[0][0], history[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    points = []
    for n, (at, score) in enumerate(history):
        if last == first:
            x = PAD + (WIDTH - 2 * PAD) * n / (len(history) - 1)
        else:
            x = PAD + (WIDTH - 2 * PAD) * (at - first).total_seconds() / span
        y = PAD + (HEIGHT - 2 * PAD) * (1 - max(0, min(100, score)) / 100)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)
