/* convolve-colormap.c: table look-up with linear interpolation.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-colormap.h"
#include "convolve-colormap-data.h"

static const float (*
table_for (ConvolveColormap colormap))[3]
{
  switch (colormap)
    {
    case CONVOLVE_COLORMAP_CIVIDIS:
      return convolve_colormap_cividis;
    case CONVOLVE_COLORMAP_VIRIDIS:
    default:
      return convolve_colormap_viridis;
    }
}

void
convolve_colormap_lookup (ConvolveColormap  colormap,
                          double            t,
                          double           *red,
                          double           *green,
                          double           *blue)
{
  const float (*table)[3] = table_for (colormap);
  double position, fraction;
  int low, high;

  if (!(t > 0.0))            /* also NaN */
    t = 0.0;
  if (t > 1.0)
    t = 1.0;
  position = t * 255.0;
  low = (int) floor (position);
  high = MIN (low + 1, 255);
  fraction = position - low;

  *red = table[low][0] + fraction * (table[high][0] - table[low][0]);
  *green = table[low][1] + fraction * (table[high][1] - table[low][1]);
  *blue = table[low][2] + fraction * (table[high][2] - table[low][2]);
}

void
convolve_colormap_lookup_rgb8 (ConvolveColormap  colormap,
                               double            t,
                               guint8            rgb[3])
{
  double r, g, b;

  convolve_colormap_lookup (colormap, t, &r, &g, &b);
  rgb[0] = (guint8) lround (r * 255.0);
  rgb[1] = (guint8) lround (g * 255.0);
  rgb[2] = (guint8) lround (b * 255.0);
}

static double
linear (double c)
{
  return c <= 0.04045 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

gboolean
convolve_colormap_text_is_dark (ConvolveColormap colormap,
                                double           t)
{
  double r, g, b, luminance;

  convolve_colormap_lookup (colormap, t, &r, &g, &b);
  luminance = 0.2126 * linear (r) + 0.7152 * linear (g) + 0.0722 * linear (b);
  /* The luminance where black and white text have equal WCAG contrast. */
  return luminance > 0.179;
}
