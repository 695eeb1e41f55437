"""dehaze: single-image dehazing with a U-Net generator and a dual spatial/frequency GAN critic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Dehazer", "__version__"]

if TYPE_CHECKING:
    from dehaze.inference import Dehazer


def __getattr__(name: str) -> Any:
    if name == "Dehazer":  # lazy: keep `import dehaze` light
        from dehaze.inference import Dehazer

        return Dehazer
    raise AttributeError(name)
