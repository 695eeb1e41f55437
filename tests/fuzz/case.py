"""One generated input (:class:`FuzzCase`) and its file form in the reproducer corpus (``tests/fuzz_corpus``)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dehaze.atomic import atomic_write_text


@dataclass(frozen=True)
class FuzzCase:
    """The bytes a reader is handed (written to ``input`` + ``suffix``) and the reader's other arguments.

    ``options`` holds plain JSON values only (e.g. the ``--set`` strings, the colour mode of an upload), so a case
    is stored and replayed exactly.
    """

    target: str
    data: bytes
    suffix: str = ".bin"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """A short content hash: the corpus file name, so one input is stored once."""
        text = json.dumps([self.target, self.suffix, self.options], sort_keys=True).encode()
        return hashlib.sha256(text + self.data).hexdigest()[:16]

    def input_path(self, folder: Path) -> Path:
        """Where the reader finds the input inside ``folder``."""
        return Path(folder) / f"input{self.suffix}"

    def write_input(self, folder: Path) -> Path:
        """Write the input bytes into ``folder`` and return their path."""
        path = self.input_path(folder)
        path.write_bytes(self.data)
        return path

    def to_json(self, found: dict[str, Any] | None = None) -> str:
        """The corpus form: JSON with the data in base64 and, optionally, how the case was found."""
        record: dict[str, Any] = {"target": self.target, "suffix": self.suffix, "options": self.options}
        record["data"] = base64.b64encode(self.data).decode("ascii")
        if found:
            record["found"] = found
        return json.dumps(record, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> FuzzCase:
        """Read a corpus file's text (see :meth:`to_json`)."""
        record = json.loads(text)
        return cls(record["target"], base64.b64decode(record["data"]), record["suffix"], record.get("options", {}))


def save_reproducer(case: FuzzCase, corpus: Path, found: dict[str, Any]) -> Path:
    """Keep ``case`` as ``corpus/<target>/<digest>.json`` (atomically); returns the path."""
    path = Path(corpus) / case.target / f"{case.digest}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, case.to_json(found))
    return path


def corpus_files(corpus: Path) -> list[Path]:
    """Every reproducer under ``corpus``, sorted."""
    return sorted(Path(corpus).glob("*/*.json"))
