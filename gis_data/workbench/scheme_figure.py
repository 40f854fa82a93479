"""The cooperation scheme diagram as a PNG picture (matplotlib), for the Word file.

python-docx places raster pictures only, so the Word 実施方針 gets the scheme drawn from the same
layout as the pages' SVG (`gis_data.planning.cooperation.scheme_layout`). With no CJK font the
Japanese names would be empty boxes: `scheme_png` then returns None and the document shows the
scheme as a table instead (`gis_data.workbench.report_doc.render_docx`).
"""

from __future__ import annotations

import io

from gis_data.planning.cooperation import Scheme, scheme_layout
from gis_data.workbench.cjk_font import use_japanese_font

DPI = 150


def scheme_png(scheme: Scheme, *, width: int = 640) -> bytes | None:
    """The scheme as a PNG at `DPI` (one SVG pixel = one point), or None without a CJK font."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if not use_japanese_font(plt):
        return None
    lay = scheme_layout(scheme, width=width)
    fig = plt.figure(figsize=(lay.width / 72.0, lay.height / 72.0), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)  # y down, as in the SVG
    ax.set_axis_off()
    ax.text(8, 20, lay.title, fontsize=14, va="baseline")  # the CJK fonts have no bold face
    for line in lay.lines:
        xs, ys = zip(*line.points, strict=True)
        ax.plot(
            xs, ys, color=line.color, linewidth=1.5, linestyle=(0, (5, 4)) if line.dashed else "-"
        )
        if line.label_at is not None:
            lx, ly = line.label_at
            ha = "left" if line.label_anchor == "start" else "center"
            ax.text(lx, ly, line.link.label, fontsize=10, color=line.color, ha=ha, va="baseline")
    for box in lay.boxes:
        ax.add_patch(
            FancyBboxPatch(
                (box.x - box.width / 2, box.y - lay.box_height / 2),
                box.width,
                lay.box_height,
                boxstyle="round,pad=0,rounding_size=4",
                facecolor=box.fill,
                edgecolor="#333333",
                linewidth=1.0,
            )
        )
        ax.text(box.x, box.y, box.name, fontsize=12, ha="center", va="center")
    ax.text(8, lay.height - 8, lay.legend, fontsize=10, color="#555555", va="baseline")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()
