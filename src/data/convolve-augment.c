/* convolve-augment.c: random shifts and flips, as Keras's
 * ImageDataGenerator(width_shift_range, height_shift_range, horizontal_flip).
 *
 * Keras draws, per image, tx = uniform(-height_shift_range,
 * height_shift_range) * h and ty = uniform(-width_shift_range,
 * width_shift_range) * w (a range of 1 or more counts pixels instead of a
 * fraction), then calls scipy.ndimage.affine_transform with order=1 and
 * fill_mode='nearest' on the shift matrix [[1, 0, tx], [0, 1, ty]]. There
 * output[r, c] = input[r + tx, c + ty]: Keras shifts the sampling
 * coordinates, so the content moves by (-ty, -tx). Here dx and dy are the
 * movement of the content (out[y, x] = in[y - dy, x - dx]), so dx = -ty and
 * dy = -tx; as both draws are symmetric around 0 we draw dx and dy directly.
 * A horizontal flip (probability 0.5) follows the shift, as in Keras.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "convolve-data-private.h"

void
convolve_augment_init_tutorial (ConvolveAugment *augment)
{
  g_return_if_fail (augment != NULL);

  augment->width_shift_range = 0.1f;
  augment->height_shift_range = 0.1f;
  augment->horizontal_flip = TRUE;
}

/* Keras: uniform(-range, range), times the size when range < 1. */
static float
draw_shift (float        range,
            int          size,
            ConvolveRng *rng)
{
  float shift;

  if (!(range > 0.0f))
    return 0.0f;

  shift = (2.0f * convolve_rng_uniform (rng) - 1.0f) * range;
  if (range < 1.0f)
    shift *= (float) size;

  return shift;
}

void
convolve_augment_draw (const ConvolveAugment *augment,
                       ConvolveRng           *rng,
                       int                    h,
                       int                    w,
                       float                 *dx,
                       float                 *dy,
                       gboolean              *flip)
{
  g_return_if_fail (augment != NULL && rng != NULL);
  g_return_if_fail (dx != NULL && dy != NULL && flip != NULL);

  /* Keras's order: the height shift (tx), the width shift (ty), the flip. */
  *dy = draw_shift (augment->height_shift_range, h, rng);
  *dx = draw_shift (augment->width_shift_range, w, rng);
  *flip = augment->horizontal_flip && convolve_rng_uniform (rng) < 0.5f;
}

/* For one axis: the source of output coordinate i is i + offset + frac,
 * read as (1 - frac) * in[i + offset] + frac * in[i + offset + 1] with
 * both indices clamped to the image ('nearest' fill). Shifts beyond the
 * image size give the same result as a shift by the size itself. */
static void
axis_setup (float  shift,
            int    size,
            int   *offset,
            float *frac)
{
  float source;
  float whole;

  if (!isfinite (shift))
    shift = 0.0f;
  shift = CLAMP (shift, (float) -size, (float) size);

  source = -shift;
  whole = floorf (source);
  *offset = (int) whole;
  *frac = source - whole;
}

static inline int
clamp_index (int i,
             int size)
{
  return i < 0 ? 0 : (i >= size ? size - 1 : i);
}

/* One kernel for float and uint8 input; exactly one of in_f, in_u8 is
 * non-NULL, and inlining into the two callers removes the test. uint8 is
 * scaled by division, like the plain batch path, so an integer shift gives
 * the very same floats. */
static inline G_ALWAYS_INLINE float
load_pixel (const float  *in_f,
            const guint8 *in_u8,
            gsize         i)
{
  return in_u8 != NULL ? (float) in_u8[i] / 255.0f : in_f[i];
}

static inline G_ALWAYS_INLINE void
shift_and_flip (const float  *in_f,
                const guint8 *in_u8,
                float        *out,
                int           c,
                int           h,
                int           w,
                float         dx,
                float         dy,
                gboolean      flip)
{
  int ox, oy;
  float fx, fy;
  gsize plane = (gsize) h * (gsize) w;

  axis_setup (dx, w, &ox, &fx);
  axis_setup (dy, h, &oy, &fy);

  for (int ch = 0; ch < c; ch++)
    {
      gsize base = (gsize) ch * plane;
      float *out_plane = out + base;

      for (int y = 0; y < h; y++)
        {
          gsize row0 = base + (gsize) clamp_index (y + oy, h) * (gsize) w;
          gsize row1 = base + (gsize) clamp_index (y + oy + 1, h) * (gsize) w;
          float *out_row = out_plane + (gsize) y * (gsize) w;

          for (int x = 0; x < w; x++)
            {
              int x0 = clamp_index (x + ox, w);
              int x1 = clamp_index (x + ox + 1, w);
              float top = load_pixel (in_f, in_u8, row0 + x0) * (1.0f - fx) +
                          load_pixel (in_f, in_u8, row0 + x1) * fx;
              float bottom = load_pixel (in_f, in_u8, row1 + x0) * (1.0f - fx) +
                             load_pixel (in_f, in_u8, row1 + x1) * fx;

              out_row[flip ? w - 1 - x : x] = top * (1.0f - fy) + bottom * fy;
            }
        }
    }
}

void
convolve_augment_apply (const float *in,
                        float       *out,
                        int          c,
                        int          h,
                        int          w,
                        float        dx,
                        float        dy,
                        gboolean     flip)
{
  g_return_if_fail (in != NULL && out != NULL && in != out);
  g_return_if_fail (c > 0 && h > 0 && w > 0);

  shift_and_flip (in, NULL, out, c, h, w, dx, dy, flip);
}

void
convolve_augment_apply_u8 (const guint8 *in,
                           float        *out,
                           int           c,
                           int           h,
                           int           w,
                           float         dx,
                           float         dy,
                           gboolean      flip)
{
  g_return_if_fail (in != NULL && out != NULL);
  g_return_if_fail (c > 0 && h > 0 && w > 0);

  shift_and_flip (NULL, in, out, c, h, w, dx, dy, flip);
}
