"""The upload gate of ``dehaze-app`` (issue 37): past a full queue, an upload is refused at once, unread.

:class:`dehaze.app.gate.UploadGate` driven by a tiny ASGI harness (no server), and its test of the queue on fakes
and on a real Gradio queue. ``tests/test_app_gate_live.py`` sends real uploads to a real app whose queue is full.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import dehaze.app.gate as gate_module
from dehaze.app.gate import BUSY_TEXT, RETRY_AFTER, UploadGate, queue_busy


class Inner:
    """The app behind the gate: reads the whole body, answers 200; ``hold`` keeps it inside until set."""

    def __init__(self) -> None:
        self.calls, self.hold = 0, asyncio.Event()
        self.hold.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        while (await receive()).get("more_body"):
            pass
        await self.hold.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _request(gate: UploadGate, path: str, method: str = "POST") -> tuple[list[dict], int]:
    """One request of a 3-chunk body through ``gate``: (messages sent, chunks the app asked for)."""
    sent: list[dict] = []
    asked = 0

    async def receive() -> dict:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": asked < 3}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b"upload_id=a"}
    asyncio.run(gate(scope, receive, send))
    return sent, asked


def test_full_queue_refuses_an_upload_at_once_without_reading_it() -> None:
    inner = Inner()
    sent, asked = _request(UploadGate(inner, busy=lambda uploading: True), "/gradio_api/upload")
    assert asked == 0 and inner.calls == 0
    start, body = sent
    headers = dict(start["headers"])
    assert start["status"] == 503 and headers[b"retry-after"] == str(RETRY_AFTER).encode()
    assert headers[b"connection"] == b"close" and headers[b"content-type"].startswith(b"text/plain")
    assert body["body"].decode() == BUSY_TEXT and "busy" in BUSY_TEXT and "try again" in BUSY_TEXT


def test_room_in_the_queue_lets_the_upload_through() -> None:
    inner, seen = Inner(), []
    gate = UploadGate(inner, busy=lambda uploading: seen.append(uploading) or False)
    sent, asked = _request(gate, "/gradio_api/upload")
    assert sent[0]["status"] == 200 and asked == 3 and inner.calls == 1
    assert seen == [0] and gate.uploading == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/gradio_api/queue/join"),
        ("GET", "/gradio_api/upload"),
        ("GET", "/gradio_api/upload_progress"),
        ("POST", "/gradio_api/uploads"),
        ("GET", "/"),
    ],
)
def test_other_routes_are_never_gated(method: str, path: str) -> None:
    def busy(uploading: int) -> bool:
        raise AssertionError("the gate asked about a request that is not an upload")

    inner = Inner()
    sent, asked = _request(UploadGate(inner, busy=busy), path, method)
    assert sent[0]["status"] == 200 and inner.calls == 1


class FakeQueue:
    """What the gate reads of Gradio's queue: ``max_size``, ``len`` (waiting) and the concurrency groups."""

    def __init__(self, max_size: int | None, waiting: int = 0, running: int | None = None) -> None:
        self.max_size, self.waiting = max_size, waiting
        group = SimpleNamespace(concurrency_limit=1, current_concurrency=running)
        self.event_queue_per_concurrency_id = {} if running is None else {"dehaze": group}

    def __len__(self) -> int:
        return self.waiting


def _upload(gate: UploadGate, statuses: list[int], path: str = "/gradio_api/upload") -> Any:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    return gate({"type": "http", "method": "POST", "path": path}, receive, send)


def test_uploads_on_their_way_count_until_they_join_or_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst on an idle app (max_size 2, 1 job at once): three uploads pass, the fourth is refused, also once
    they have arrived; a join takes one off; one that never joins is forgotten after JOIN_GRACE."""

    async def burst() -> list[int]:
        inner, statuses = Inner(), []
        inner.hold.clear()
        gate = UploadGate(inner, busy=queue_busy(SimpleNamespace(_queue=FakeQueue(2)), "dehaze", 1))
        held = [asyncio.create_task(_upload(gate, statuses)) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert gate.uploading == 3
        await _upload(gate, statuses)  # 503: three under way
        inner.hold.set()
        await asyncio.gather(*held)
        assert gate.uploading == 0 and gate.on_their_way() == 3
        await _upload(gate, statuses)  # 503: three arrived, not joined
        await _upload(gate, statuses, "/gradio_api/queue/join")
        assert gate.on_their_way() == 2
        await _upload(gate, statuses)  # 200: room for one
        monkeypatch.setattr(gate_module, "JOIN_GRACE", -1.0)
        assert gate.on_their_way() == 0
        return statuses

    assert asyncio.run(burst()) == [503, 200, 200, 200, 503, 200, 200]


def test_queue_busy_is_gradios_own_test_plus_the_requests_on_their_way() -> None:
    def busy(queue: FakeQueue | None, on_their_way: int) -> bool:
        return queue_busy(SimpleNamespace(_queue=queue), "dehaze", 1)(on_their_way)

    assert busy(FakeQueue(2, waiting=2), 0)  # full: Gradio would refuse a join
    assert not busy(FakeQueue(2, waiting=1, running=1), 0) and busy(FakeQueue(2, waiting=1, running=1), 1)
    assert not busy(FakeQueue(2, waiting=1, running=0), 1) and busy(FakeQueue(2, waiting=1, running=0), 2)
    assert not busy(FakeQueue(2), 2) and busy(FakeQueue(2), 3)  # no job yet: the group's limit is free
    assert not busy(FakeQueue(None, waiting=50), 50) and not busy(None, 50)  # no max_size, no queue: never


def test_queue_busy_reads_a_real_gradio_queue(tmp_path: Path) -> None:
    pytest.importorskip("gradio", reason="dehaze-app needs the app extra: pip install -e '.[app]'")
    from gradio.queueing import Event

    from dehaze.app.page import JOBS, build_page
    from dehaze.app.service import DehazeService
    from dehaze.pipeline import RunOptions

    page = build_page(DehazeService(RunOptions(dcp=True), tmp_path), concurrency=1).queue(max_size=2)
    busy = queue_busy(page, JOBS, 1)
    api = next(fn for fn in page.fns.values() if fn.concurrency_id == JOBS and fn.api_name == "dehaze")
    page._queue.create_event_queue_for_fn(api)
    group = page._queue.event_queue_per_concurrency_id[JOBS]
    assert not busy(2) and busy(3)
    group.current_concurrency = 1  # a job running: its place is taken
    assert not busy(1) and busy(2)
    group.queue.append(Event(None, api, None, None))
    assert not busy(0) and busy(1)
    group.queue.append(Event(None, api, None, None))
    assert busy(0)
