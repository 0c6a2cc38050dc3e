/* convolve-explain.c: saliency and Grad-CAM maps at the input's size, from
 * the engine's gradients (convolve-model-explain.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-explain.h"

#include <glib/gi18n.h>
#include <math.h>

/* The source coordinate of destination cell i, and its two neighbours and
 * weight, as PyTorch's area_pixel_compute_source_index does. */
static void
source_index (int i, double scale, int src_n, int *i0, int *i1, double *weight)
{
  double s = ((double) i + 0.5) * scale - 0.5;

  if (s < 0.0)
    s = 0.0;
  *i0 = MIN ((int) s, src_n - 1);
  *i1 = *i0 < src_n - 1 ? *i0 + 1 : *i0;
  *weight = s - *i0;
}

void
convolve_explain_upsample (const float *src,
                           int          src_h,
                           int          src_w,
                           float       *dst,
                           int          dst_h,
                           int          dst_w)
{
  double scale_y = (double) src_h / dst_h, scale_x = (double) src_w / dst_w;

  g_return_if_fail (src != NULL && dst != NULL);
  g_return_if_fail (src_h > 0 && src_w > 0 && dst_h > 0 && dst_w > 0);

  for (int y = 0; y < dst_h; y++)
    {
      int y0, y1;
      double wy;

      source_index (y, scale_y, src_h, &y0, &y1, &wy);
      for (int x = 0; x < dst_w; x++)
        {
          const float *r0 = src + (gsize) y0 * src_w, *r1 = src + (gsize) y1 * src_w;
          int x0, x1;
          double wx, top, bottom;

          source_index (x, scale_x, src_w, &x0, &x1, &wx);
          top = (1.0 - wx) * r0[x0] + wx * r0[x1];
          bottom = (1.0 - wx) * r1[x0] + wx * r1[x1];
          dst[(gsize) y * dst_w + x] = (float) ((1.0 - wy) * top + wy * bottom);
        }
    }
}

void
convolve_explain_normalize (float *map,
                            gsize  n)
{
  float max = 0.0f;

  g_return_if_fail (map != NULL || n == 0);

  for (gsize i = 0; i < n; i++)
    if (map[i] > max)
      max = map[i];
  for (gsize i = 0; i < n; i++)
    {
      float v = max > 0.0f ? map[i] / max : 0.0f;

      /* written so that NaN becomes 0 */
      map[i] = v > 0.0f ? MIN (v, 1.0f) : 0.0f;
    }
}

static gboolean
saliency (ConvolveModel *model, const float *x, int class_index, float *map, GError **error)
{
  ConvolveShape input = convolve_model_get_input (model);
  gsize spatial = (gsize) input.h * input.w;
  g_autofree float *grad = g_try_new (float, input.c * spatial);

  if (grad == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                   _("Not enough memory for %zu MB of model data"),
                   (input.c * spatial * sizeof (float)) >> 20);
      return FALSE;
    }
  if (!convolve_model_input_gradient (model, x, class_index, grad, error))
    return FALSE;
  for (gsize p = 0; p < spatial; p++)
    {
      float m = 0.0f;

      for (int c = 0; c < input.c; c++)
        m = MAX (m, fabsf (grad[c * spatial + p]));
      map[p] = m;
    }
  return TRUE;
}

static gboolean
grad_cam (ConvolveModel *model, const float *x, int class_index, float *map, GError **error)
{
  ConvolveShape input = convolve_model_get_input (model);
  int last = convolve_model_find_last_conv (model);
  const ConvolveLayerInfo *info;
  g_autofree float *cam = NULL;

  if (last < 0)
    /* the engine says why, in its own words */
    return convolve_model_grad_cam (model, x, class_index, map, error);
  info = convolve_model_get_layer (model, last);
  cam = g_try_new (float, (gsize) info->shape[1] * info->shape[2]);
  if (cam == NULL)
    {
      g_set_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_NO_MEMORY,
                   _("Not enough memory for %zu MB of model data"),
                   ((gsize) info->shape[1] * info->shape[2] * sizeof (float)) >> 20);
      return FALSE;
    }
  if (!convolve_model_grad_cam (model, x, class_index, cam, error))
    return FALSE;
  convolve_explain_upsample (cam, info->shape[1], info->shape[2], map, input.h, input.w);
  return TRUE;
}

gboolean
convolve_explain (ConvolveModel         *model,
                  const float           *x,
                  int                    class_index,
                  ConvolveExplainMethod  method,
                  float                 *map,
                  GError               **error)
{
  ConvolveShape input;
  gboolean ok;

  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (method == CONVOLVE_EXPLAIN_SALIENCY || method == CONVOLVE_EXPLAIN_GRAD_CAM, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (map == NULL)
    /* let the engine report it as it reports a missing image */
    return convolve_model_input_gradient (model, x, class_index, NULL, error);

  if (method == CONVOLVE_EXPLAIN_SALIENCY)
    ok = saliency (model, x, class_index, map, error);
  else
    ok = grad_cam (model, x, class_index, map, error);
  if (!ok)
    return FALSE;
  input = convolve_model_get_input (model);
  convolve_explain_normalize (map, (gsize) input.h * input.w);
  return TRUE;
}

gboolean
convolve_explain_map_is_empty (const float *map,
                               gsize        n)
{
  g_return_val_if_fail (map != NULL || n == 0, TRUE);

  for (gsize i = 0; i < n; i++)
    if (map[i] > 0.0f)
      return FALSE;
  return TRUE;
}
