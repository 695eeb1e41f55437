"""dehaze: single-image dehazing. The default generator sees the whole scene at a fixed small size, starts from the
dark channel prior and predicts smooth affine maps applied at full resolution through a guided filter; it is trained
with L1 and one adversarial signal from a spatial and a frequency critic. A U-Net generator remains as an ablation.

The version below is the only one: ``setup.cfg`` reads it (``attr:``), the tools print it (``--version``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.4.0"
__all__ = ["Dehazer", "__version__"]

if TYPE_CHECKING:
    from dehaze.inference import Dehazer


def __getattr__(name: str) -> Any:
    if name == "Dehazer":  # lazy: keep `import dehaze` light
        from dehaze.inference import Dehazer

        return Dehazer
    raise AttributeError(name)
