"""A Japanese (CJK) font for matplotlib figures, or the knowledge that there is none.

The figures of the reports (region map, scheme diagram, charts) carry Japanese text. Without a
CJK font matplotlib draws empty boxes (tofu), so every figure asks `use_japanese_font` first and
falls back (English labels, or no picture) when it returns False. The Docker image and CI install
the Debian package ``fonts-ipafont-gothic``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CJK_FONTS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "IPAPGothic", "TakaoGothic")


def use_japanese_font(plt: Any) -> bool:
    """Use an installed CJK font in ``plt`` (matplotlib.pyplot); False when there is none."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed & set(CJK_FONTS):
        # matplotlib's cache may predate system fonts: register known CJK font files once.
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower() for key in ("ipag", "ipaexg", "notosanscjk")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError):
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            plt.rcParams["font.family"] = name
            return True
    return False
