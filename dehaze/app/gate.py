"""A gate in front of Gradio's upload route: "busy, try again" at once when the queue is full (issue 37).

Gradio refuses a request only when it asks to join its queue, which a client does after uploading its photo; so a
busy answer used to wait for the whole upload. :class:`UploadGate`, a pure ASGI middleware, answers a ``POST`` to
``/gradio_api/upload`` with HTTP 503, ``Retry-After`` and a plain-text body while the app is busy, before it reads a
byte of the body, and closes the connection so that the rest of the upload is not received either.

Busy (:func:`queue_busy`): Gradio's queue is full, as Gradio itself decides when a request joins; or the requests on
their way would overfill it once they join. On their way: the uploads the gate let through that are still arriving
or that have arrived but not yet joined (a join takes one off; one that never joins is forgotten after
:data:`JOIN_GRACE` seconds). Without them a burst would pass whole: hundreds of uploads start while the queue is
still empty. Every other request, and every upload while there is room, passes through untouched. No Gradio here.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATH = "/gradio_api/upload"  # gradio_client and the page both upload here (API_PREFIX + "/upload")
JOIN_PATH = "/gradio_api/queue/join"  # then ask to join the queue here
RETRY_AFTER = 5  # seconds, sent as Retry-After
JOIN_GRACE = 10.0  # seconds an arrived upload counts as on its way to the queue, unless a join comes first
BUSY_TEXT = "dehaze-app is busy: its queue is full. Please try again in a few seconds."  # the page shows it as is


class UploadGate:
    """ASGI middleware: refuse an upload with 503, unread, when ``busy(requests on their way)``; pass the rest on.

    Everything here runs on the server's event loop, where Gradio's queue changes: no locks."""

    def __init__(self, app: ASGIApp, busy: Callable[[int], bool], retry_after: int = RETRY_AFTER) -> None:
        self.app, self.busy, self.retry_after = app, busy, retry_after
        self.uploading = 0  # let through, still arriving
        self.arrived: deque[float] = deque()  # when each upload let through was answered 2xx, oldest first

    def on_their_way(self) -> int:
        """Uploads still arriving, and those arrived in the last :data:`JOIN_GRACE` seconds and not yet joined."""
        while self.arrived and self.arrived[0] < time.monotonic() - JOIN_GRACE:
            self.arrived.popleft()
        return self.uploading + len(self.arrived)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_post(scope, JOIN_PATH):
            try:
                await self.app(scope, receive, send)
            finally:  # joined (or refused) now: no longer on its way
                if self.arrived:
                    self.arrived.popleft()
            return
        if not is_post(scope, UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        if self.busy(self.on_their_way()):
            await refuse(send, self.retry_after)
            return
        await self._let_through(scope, receive, send)

    async def _let_through(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.uploading += 1
        try:
            await self.app(scope, receive, watch)
        finally:
            self.uploading -= 1
            if 200 <= status < 300:
                self.arrived.append(time.monotonic())


def is_post(scope: Scope, route: str) -> bool:
    """A ``POST`` to ``route`` (under any root path the server adds in front)."""
    if scope.get("type") != "http" or scope.get("method") != "POST":
        return False
    return str(scope.get("path", "")).endswith(route)


async def refuse(send: Send, retry_after: int = RETRY_AFTER) -> None:
    """Send the busy answer: 503, ``Retry-After``, ``Connection: close`` (the server then stops reading the body;
    httpx, as ``gradio_client`` uses it, still reads the answer after its write fails)."""
    body = BUSY_TEXT.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def queue_busy(blocks: Any, group: str, limit: int) -> Callable[[int], bool]:
    """The gate's test on ``blocks``'s queue, read when called with the number of requests on their way (private
    attributes of ``gradio>=6,<7``, checked on real ones by ``tests/test_app_gate.py``). Busy when Gradio would
    refuse a join now (``gradio.queueing.Queue.push``: ``max_size is not None and len(queue) >= max_size``; ``len``
    counts waiting requests, not running ones), or when the waiting requests and those on their way fill what is
    left: ``max_size`` plus the free places of concurrency group ``group`` (``limit`` jobs at once)."""

    def busy(on_their_way: int) -> bool:
        queue = getattr(blocks, "_queue", None)
        if queue is None or queue.max_size is None:
            return False
        waiting = len(queue)
        events = queue.event_queue_per_concurrency_id.get(group)
        free = limit if events is None else max(0, (events.concurrency_limit or limit) - events.current_concurrency)
        return waiting >= queue.max_size or waiting + on_their_way >= queue.max_size + free

    return busy


def upload_gate(blocks: Any, group: str, limit: int) -> Any:
    """The gate for ``blocks`` (queued) as a Starlette ``Middleware``, for ``launch(app_kwargs={"middleware": [...]})``:
    Gradio passes ``app_kwargs`` to the FastAPI app it builds and serves."""
    from starlette.middleware import Middleware

    return Middleware(UploadGate, busy=queue_busy(blocks, group, limit))
