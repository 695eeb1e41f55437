"""FID/PSNR/SSIM/spectral-distance report of dehazing checkpoints: a thin wrapper around ``dehaze-fid``.

Example: ``python scripts/fid_report.py --checkpoint runs/a/best.safetensors --data TEST_ROOT --out-md report.md``
"""

from __future__ import annotations

import sys

from dehaze.cli.fid import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
