"""Reading YAML from untrusted configs: safe types only, no aliases, a bounded depth, one-line errors."""

from __future__ import annotations

from typing import Any

import yaml

from dehaze.errors import DehazeError

MAX_YAML_DEPTH = 32  # a config nests 3 levels; PyYAML's composer recurses once per level (1000 → RecursionError)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases (a few hundred bytes of nested aliases expand to gigabytes) and at most
    :data:`MAX_YAML_DEPTH` levels deep."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed in configs", mark)
        if self.depth >= MAX_YAML_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` without aliases; DehazeError with a short message for bad YAML."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: no Python objects
    except yaml.YAMLError as exc:
        raise DehazeError(f"invalid YAML: {str(exc).splitlines()[0][:200]}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tag's constructor refusing its text, e.g. "!!int 3.5"
        raise DehazeError(f"invalid YAML value: {str(exc).splitlines()[0][:200]}") from None
