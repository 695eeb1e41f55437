"""The property every reader must keep, judged for one case: a result, or a :class:`~dehaze.errors.DehazeError`
whose message is one line naming the input; never another exception, never slower than :data:`TIME_BOUND_S`,
never more memory than :data:`MEMORY_BOUND_BYTES` (under :func:`memory_ceiling`)."""

from __future__ import annotations

import contextlib
import re
import resource
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dehaze
from dehaze.defaults import DEFAULT_MAX_PIXELS
from dehaze.errors import DehazeError
from fuzz.case import FuzzCase
from fuzz.targets import TARGETS, PropertyViolation

TIME_BOUND_S = 30.0  # the hang: more than 30 s for a file under 1 MB
# The documented memory promise: dehaze-infer needs about 35 bytes per colour pixel, ~2.1 GB at the pixel limit
MEMORY_BOUND_BYTES = 35 * DEFAULT_MAX_PIXELS
MAX_MESSAGE_CHARS = 600  # beyond the input's own path (a list of the known options fits)
PACKAGE = Path(dehaze.__file__).resolve().parent  # the frames of the project's own code
_OPTION = re.compile(r"\b(model|critic|loss|train|haze|real)\.\w+")


@dataclass(frozen=True)
class Verdict:
    """``accepted`` (a result), ``refused`` (a DehazeError with a good message) or ``failed``; ``signature`` groups
    failures of one cause (kind, exception type, where it was raised), ``detail`` is the message or the error."""

    status: str
    detail: str
    seconds: float
    signature: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _names_input(message: str, case: FuzzCase, path: Path) -> bool:
    """Whether ``message`` names what was handed over: the file, or for configs the option or ``--set`` item."""
    if str(path) in message or (case.target == "upload" and message.startswith(path.name + ": ")):
        return True
    if case.target == "config_yaml":
        return bool(_OPTION.search(message))
    if case.target == "config_set":
        return "--set" in message or bool(_OPTION.search(message)) or "unknown option" in message
    return False


def message_problem(message: str, case: FuzzCase, path: Path) -> str | None:
    """Why a refusal's message breaks the property (not one line, too long, input not named), or None."""
    if "\n" in message or "\r" in message:
        return "message of several lines"
    if len(message) > MAX_MESSAGE_CHARS + len(str(path)):
        return "message too long"
    if not _names_input(message, case, path):
        return "message does not name the input"
    return None


def where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame of the project (else the innermost) where ``exc`` was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if Path(frame.filename).resolve().is_relative_to(PACKAGE)]
    frame = (ours or frames or [None])[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"


def check_case(case: FuzzCase, folder: Path) -> Verdict:
    """Hand ``case`` to its reader (its input written into ``folder``) and judge what came back."""
    path = case.write_input(Path(folder))
    start = time.perf_counter()
    try:
        TARGETS[case.target].run(case, path)
        status, detail, signature = "accepted", "", ""
    except DehazeError as exc:
        status, detail, signature = "refused", str(exc), ""
        problem = message_problem(detail, case, path)
        if problem:
            status, signature = "failed", f"{problem} ({type(exc).__name__} at {where(exc)})"
    except PropertyViolation as exc:
        status, detail, signature = "failed", str(exc), f"bad result ({exc}) at {where(exc)}"
    except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - any other exception breaks the property
        status, detail = "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
        signature = f"{type(exc).__name__} at {where(exc)}"
    seconds = time.perf_counter() - start
    if seconds > TIME_BOUND_S and status != "failed":
        status, signature = "failed", f"slow (over {TIME_BOUND_S:g} s, {case.target})"
    return Verdict(status, detail, seconds, signature)


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux), or 0 where unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    return 0


@contextlib.contextmanager
def memory_ceiling(headroom: int = MEMORY_BOUND_BYTES) -> Iterator[None]:
    """Allow the process ``headroom`` bytes of address space beyond what it holds now (``RLIMIT_AS``): an
    allocation beyond it fails (a MemoryError, so a failed case) instead of taking the machine's memory."""
    used = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if not used:
        yield
        return
    ceiling = used + headroom if hard == resource.RLIM_INFINITY else min(hard, used + headroom)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
