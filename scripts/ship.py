"""Ship a candidate only if the scorecard says no row is worse than the shipped models beyond its noise margin.

    python benchmarks/scorecard.py new=runs/universal/ship.safetensors      # score it next to the shipped models
    python scripts/ship.py new                                              # the gate, then the install

The scorecard JSON must have been made against the models shipped now and the candidate's files as they are now
(both are checked by hash). A candidate that is one RGB checkpoint becomes the RGB model and also serves gray
photos (the gray model file is removed); a ``GRAY+RGB`` pair replaces both. Exit 1 with the failing rows otherwise.

Every row is gated, the real-photo rows included: FADE, artefact gain, NIQE, BRISQUE and the crushed share on
``real_val`` (lower is better for each), so a candidate cannot pass by darkening fog to black. The mean luminance
change is shown in the scorecard but not gated: removing haze may rightly darken a photo and brighter is not better
either, so no direction is an improvement (``dehaze/metrics/scorecard.py`` says more); harmful darkening shows in
the crushed share, NIQE and BRISQUE. A scorecard made by an older scorecard version (without these rows) is refused
by the hash check, since the column keys include the score version.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from dehaze.atomic import atomic_write_all
from dehaze.checkpoint import default_checkpoint_path, shipped_checkpoint_files
from dehaze.metrics.scorecard import column_key


def refusal(card: dict, name: str, shipped: tuple[Path, ...]) -> str | None:
    """Why ``name`` may not ship according to ``card``, or None."""
    if name not in card.get("gate", {}):
        return f"{name}: not a candidate of this scorecard (candidates: {', '.join(card.get('gate', {})) or 'none'})"
    if card["hashes"].get("shipped") != column_key("model", shipped):
        return (
            "the scorecard was made against other shipped models, or by an older scorecard version: "
            "run benchmarks/scorecard.py again"
        )
    files = [Path(p) for p in card["files"][name]]
    if not all(p.is_file() for p in files) or card["hashes"][name] != column_key("model", files):
        return f"{name}: its files changed (or are gone) since the scorecard was made: score it again"
    worse = [v for v in card["gate"][name] if v["worse"]]
    if worse:
        rows = "; ".join(f"{v['row']} {v['improvement']:+.3f} (margin {v['margin']:.3f})" for v in worse)
        return f"{name}: worse than the shipped models beyond the noise margin on {rows}"
    return None


def install(files: list[Path]) -> list[Path]:
    """Copy the candidate's files into the shipped slots, as a pair that a failed write leaves unchanged (fsync'd
    temp files, then renames); returns the files written."""
    gray_slot, rgb_slot = default_checkpoint_path(1), default_checkpoint_path(3)
    targets = [rgb_slot] if len(files) == 1 else [gray_slot, rgb_slot]
    atomic_write_all(
        [
            (target, lambda tmp, source=source: shutil.copyfile(source, tmp))
            for source, target in zip(files, targets, strict=True)
        ]
    )
    if len(files) == 1 and gray_slot.is_file():
        gray_slot.unlink()
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", help="the candidate's name in the scorecard")
    parser.add_argument("--scorecard", type=Path, default=Path("benchmarks/results/scorecard.json"))
    parser.add_argument("--dry-run", action="store_true", help="only say whether it passes")
    args = parser.parse_args(argv)
    card = json.loads(args.scorecard.read_text())
    problem = refusal(card, args.candidate, shipped_checkpoint_files())
    if problem:
        print(f"not shipped: {problem}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{args.candidate} passes the gate")
        return 0
    written = install([Path(p) for p in card["files"][args.candidate]])
    print(f"shipped {args.candidate}: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
