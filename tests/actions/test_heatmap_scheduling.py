"""Heatmaps are drawn one at a time, after the assessments in flight: shoppers' turns go first."""

from __future__ import annotations

import itertools
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from actions import photos


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """A stand-in assessor whose heatmap takes 50 ms; records (start, end) of each drawing."""
    spans: list[tuple[float, float]] = []

    def heatmap_png(data: bytes) -> bytes:
        start = time.monotonic()
        time.sleep(0.05)
        spans.append((start, time.monotonic()))
        return b"\x89PNG" + data

    import vision.assess

    monkeypatch.setattr(vision.assess, "get_assessor", lambda: SimpleNamespace(heatmap_png=heatmap_png))
    return spans


def test_a_heatmap_waits_for_the_assessment_in_flight(drawn: list[tuple[float, float]]) -> None:
    released = threading.Event()

    def assessing() -> None:
        with photos._assessing:
            released.wait(5)

    worker = threading.Thread(target=assessing)
    worker.start()
    time.sleep(0.05)
    future: Any = photos._heatmap_pool.submit(photos._heatmap_sync, b"x")
    time.sleep(0.3)
    assert not future.done() and drawn == []  # still waiting for the assessment
    finished = time.monotonic()
    released.set()
    assert future.result(timeout=5)
    worker.join()
    assert drawn[0][0] >= finished


def test_a_heatmap_does_not_wait_forever(
    drawn: list[tuple[float, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photos, "HEATMAP_MAX_WAIT_S", 0.2)
    with photos._assessing:  # an assessment that never ends
        future: Any = photos._heatmap_pool.submit(photos._heatmap_sync, b"x")
        assert future.result(timeout=5)
    assert len(drawn) == 1


def test_heatmaps_are_drawn_one_at_a_time(drawn: list[tuple[float, float]]) -> None:
    futures = [photos._heatmap_pool.submit(photos._heatmap_sync, bytes([i])) for i in range(4)]
    for future in futures:
        future.result(timeout=5)
    spans = sorted(drawn)
    assert len(spans) == 4
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
