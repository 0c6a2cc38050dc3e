#!/usr/bin/env python3
"""Writes src/report/convolve-colormap-data.h: matplotlib's perceptually
uniform colour maps (viridis, and cividis for colour-blind readers) as
256-entry sRGB tables, so Convolve's heatmaps use the reference values.

Run with Debian's python3-matplotlib: /usr/bin/python3 scripts/make-colormaps.py
"""
import os
import sys

import matplotlib

MAPS = ["viridis", "cividis"]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "report",
                       "convolve-colormap-data.h")
    lines = [
        "/* convolve-colormap-data.h: 256-entry tables of matplotlib's colour maps",
        " * (matplotlib %s), made by scripts/make-colormaps.py; do not edit." % matplotlib.__version__,
        " *",
        " * SPDX-License-Identifier: GPL-3.0-or-later",
        " */",
        "#pragma once",
        "",
    ]
    for name in MAPS:
        cmap = matplotlib.colormaps[name].resampled(256)
        lines.append("static const float convolve_colormap_%s[256][3] = {" % name)
        for i in range(256):
            r, g, b, _ = cmap(i)
            lines.append("  { %.6ff, %.6ff, %.6ff }," % (r, g, b))
        lines.append("};")
        lines.append("")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print("wrote", os.path.relpath(out), file=sys.stderr)


if __name__ == "__main__":
    main()
