/* test-winograd.c: the Conv2D layers that go through Winograd's F(2x2, 3x3)
 * (3x3 kernels with 8 or more input channels) against the direct loops:
 * 'same' and 'valid', even and ragged image sizes, images smaller than a
 * tile, ReLU and linear, the forward pass, the full backward pass, the one
 * without din and the input-only one, at one to three threads; at a
 * thread count two passes agree to the bit.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-layers.h"
#include "convolve-winograd.h"

typedef struct {
  int b, c, h, w, oc;
  ConvolvePadding pad;
  ConvolveActivation act;
} Case;

static const Case cases[] = {
  { 3, 8, 9, 7, 5, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU },
  { 2, 12, 8, 8, 16, CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_LINEAR },
  { 4, 8, 6, 5, 9, CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_RELU },
  { 2, 9, 3, 4, 3, CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_LINEAR },
  { 3, 10, 1, 2, 4, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU },
  { 2, 32, 16, 16, 32, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_LINEAR },
};

static void
fill_uniform (float *x, gsize n, ConvolveRng *rng, float lo, float hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = lo + (hi - lo) * convolve_rng_uniform (rng);
}

static void
assert_close (const char *what, const float *x, const float *ref, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!(fabsf (x[i] - ref[i]) <= 1e-4f * (1.0f + fabsf (ref[i]))))
      g_error ("%s[%" G_GSIZE_FORMAT "]: %.8g, direct loops %.8g", what, i, x[i], ref[i]);
}

static void
check_case (const Case *t)
{
  int k = 3;
  int oh = convolve_conv2d_output_size (t->h, k, t->pad);
  int ow = convolve_conv2d_output_size (t->w, k, t->pad);
  gsize nx = (gsize) t->b * t->c * t->h * t->w, nk = (gsize) t->oc * t->c * k * k;
  gsize ny = (gsize) t->b * t->oc * oh * ow;
  gsize block = convolve_conv2d_workspace_size (t->c, t->h, t->w, t->oc, k, t->pad);
  g_autofree float *x = g_new (float, nx), *kernel = g_new (float, nk), *bias = g_new (float, t->oc);
  g_autofree float *y = g_new (float, ny), *y_naive = g_new (float, ny);
  g_autofree float *d0 = g_new (float, ny), *d = g_new (float, ny), *d_naive = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx), *dx_naive = g_new (float, nx), *dx_again = g_new (float, nx);
  g_autofree float *dk = g_new (float, nk), *dk_naive = g_new (float, nk), *dk_again = g_new (float, nk);
  g_autofree float *db = g_new (float, t->oc), *db_naive = g_new (float, t->oc);
  g_autofree float *db_again = g_new (float, t->oc);
  g_autofree float *ws = g_new (float, 3 * block);
  ConvolveWorkspace cws = { ws, block, 3 };
  int saved = convolve_engine_get_threads ();
  ConvolveRng rng;

  g_assert_true (convolve_winograd_applies (t->c, t->oc, k));
  convolve_rng_init (&rng, (guint64) (t->c * 1000 + t->h * 10 + t->w));
  fill_uniform (x, nx, &rng, -1, 1);
  fill_uniform (kernel, nk, &rng, -0.5f, 0.5f);
  fill_uniform (bias, t->oc, &rng, -0.3f, 0.3f);
  fill_uniform (d0, ny, &rng, -1, 1);
  /* a workspace full of NaN: nothing may be read before it is written */
  for (gsize i = 0; i < 3 * block; i++)
    ws[i] = NAN;

  convolve_conv2d_forward_naive (y_naive, x, kernel, bias, t->b, t->c, t->h, t->w, t->oc, k,
                                 t->pad, t->act);
  memcpy (d_naive, d0, sizeof (float) * ny);
  convolve_conv2d_backward_naive (dx_naive, dk_naive, db_naive, d_naive, y_naive, x, kernel,
                                  t->b, t->c, t->h, t->w, t->oc, k, t->pad, t->act);

  for (int threads = 1; threads <= 3; threads++)
    {
      convolve_engine_set_threads (threads);
      convolve_conv2d_forward (y, &cws, x, kernel, bias, t->b, t->c, t->h, t->w, t->oc, k,
                               t->pad, t->act);
      assert_close ("forward", y, y_naive, ny);

      memcpy (d, d0, sizeof (float) * ny);
      convolve_conv2d_backward (dx, dk, db, &cws, d, y, x, kernel, t->b, t->c, t->h, t->w, t->oc, k,
                                t->pad, t->act);
      assert_close ("din", dx, dx_naive, nx);
      assert_close ("dkernel", dk, dk_naive, nk);
      assert_close ("dbias", db, db_naive, t->oc);

      memcpy (d, d0, sizeof (float) * ny);
      convolve_conv2d_backward (dx_again, dk_again, db_again, &cws, d, y, x, kernel,
                                t->b, t->c, t->h, t->w, t->oc, k, t->pad, t->act);
      g_assert_cmpmem (dx, sizeof (float) * nx, dx_again, sizeof (float) * nx);
      g_assert_cmpmem (dk, sizeof (float) * nk, dk_again, sizeof (float) * nk);
      g_assert_cmpmem (db, sizeof (float) * t->oc, db_again, sizeof (float) * t->oc);

      /* the first layer's pass: the same kernel and bias gradients */
      memcpy (d, d0, sizeof (float) * ny);
      convolve_conv2d_backward (NULL, dk_again, db_again, &cws, d, y, x, kernel,
                                t->b, t->c, t->h, t->w, t->oc, k, t->pad, t->act);
      g_assert_cmpmem (dk, sizeof (float) * nk, dk_again, sizeof (float) * nk);
      g_assert_cmpmem (db, sizeof (float) * t->oc, db_again, sizeof (float) * t->oc);

      /* explaining a prediction: din alone, the same */
      memcpy (d, d0, sizeof (float) * ny);
      convolve_conv2d_backward_input (dx_again, &cws, d, y, kernel, t->b, t->c, t->h, t->w, t->oc, k,
                                      t->pad, t->act);
      g_assert_cmpmem (dx, sizeof (float) * nx, dx_again, sizeof (float) * nx);
    }
  convolve_engine_set_threads (saved);
}

static void
test_winograd_vs_naive (gconstpointer data)
{
  check_case (data);
}

/* Which layers take it: 3x3 kernels from 8 input channels on. */
static void
test_winograd_applies (void)
{
  g_assert_true (convolve_winograd_applies (8, 1, 3));
  g_assert_true (convolve_winograd_applies (64, 128, 3));
  g_assert_false (convolve_winograd_applies (7, 64, 3));
  g_assert_false (convolve_winograd_applies (3, 32, 3));
  g_assert_false (convolve_winograd_applies (64, 64, 5));
  g_assert_false (convolve_winograd_applies (64, 64, 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/winograd/applies", test_winograd_applies);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *t = &cases[i];
      g_autofree char *path = g_strdup_printf ("/engine/winograd/%s-%s-%dx%dx%d-to-%d",
                                               t->pad == CONVOLVE_PADDING_SAME ? "same" : "valid",
                                               t->act == CONVOLVE_ACTIVATION_RELU ? "relu" : "linear",
                                               t->c, t->h, t->w, t->oc);

      g_test_add_data_func (path, t, test_winograd_vs_naive);
    }
  return g_test_run ();
}
