/* test-layers.c: every layer kernel against an independent double-precision
 * reference written here, and every backward pass against central finite
 * differences of that reference.
 *
 * Method: for a layer y = f(x, w), the test draws a random R and takes the
 * scalar L = sum(y * R). The float backward pass, fed dout = R, must give
 * dL/dx and dL/dw; the reference gives the same derivatives by central
 * differences in double precision (step FD_STEP, truncation error ~1e-10),
 * evaluated at the float inputs. Tolerance: |analytic - numeric| <=
 * ABS_TOL + REL_TOL * |numeric|, which leaves room for float rounding in
 * the kernels (sums of a few hundred terms) and nothing for a wrong formula.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-layers.h"

#define FD_STEP 1e-5
#define ABS_TOL 2e-4
#define REL_TOL 2e-3

/* --- helpers ------------------------------------------------------------- */

static void
fill_uniform (float *x, gsize n, ConvolveRng *rng, float lo, float hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = lo + (hi - lo) * convolve_rng_uniform (rng);
}

static double *
to_double (const float *x, gsize n)
{
  double *d = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

static void
assert_close_array (const char *what, const float *analytic, const double *numeric, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      double err = fabs ((double) analytic[i] - numeric[i]);

      if (err > ABS_TOL + REL_TOL * fabs (numeric[i]))
        g_error ("%s[%" G_GSIZE_FORMAT "]: analytic %.8g, numeric %.8g (error %.3g)",
                 what, i, (double) analytic[i], numeric[i], err);
    }
}

/* A reference forward pass: reads the double copies of its arguments,
 * writes y. */
typedef void (*RefForward) (double *y, gpointer data);

typedef struct {
  RefForward  forward;
  gpointer    data;
  gsize       n_out;
  const double *r;   /* weights of the scalar L = sum(y * r) */
} Objective;

static double
objective_value (const Objective *o)
{
  g_autofree double *y = g_new0 (double, o->n_out);
  double sum = 0.0;

  o->forward (y, o->data);
  for (gsize i = 0; i < o->n_out; i++)
    sum += y[i] * o->r[i];
  return sum;
}

/* numeric[i] = dL/dvar[i] by central differences; var is one of the
 * double arrays the reference reads. */
static double *
numeric_gradient (const Objective *o, double *var, gsize n)
{
  double *g = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    {
      double saved = var[i], plus, minus;

      var[i] = saved + FD_STEP;
      plus = objective_value (o);
      var[i] = saved - FD_STEP;
      minus = objective_value (o);
      var[i] = saved;
      g[i] = (plus - minus) / (2.0 * FD_STEP);
    }
  return g;
}

static void
assert_forward_matches (const char *what, const float *y, const Objective *o, double tol)
{
  g_autofree double *ref = g_new0 (double, o->n_out);

  o->forward (ref, o->data);
  for (gsize i = 0; i < o->n_out; i++)
    if (fabs ((double) y[i] - ref[i]) > tol * (1.0 + fabs (ref[i])))
      g_error ("%s forward[%" G_GSIZE_FORMAT "]: %.8g, reference %.8g",
               what, i, (double) y[i], ref[i]);
}

/* --- Conv2D --------------------------------------------------------------- */

typedef struct {
  double *x, *kernel, *bias;
  int batch, in_c, h, w, out_c, k;
  ConvolvePadding padding;
  ConvolveActivation activation;
} ConvRef;

static void
conv_ref_forward (double *y, gpointer data)
{
  ConvRef *c = data;
  int pad = c->padding == CONVOLVE_PADDING_SAME ? (c->k - 1) / 2 : 0;
  int oh = c->padding == CONVOLVE_PADDING_SAME ? c->h : c->h - c->k + 1;
  int ow = c->padding == CONVOLVE_PADDING_SAME ? c->w : c->w - c->k + 1;

  for (int n = 0; n < c->batch; n++)
    for (int o = 0; o < c->out_c; o++)
      for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
          {
            double s = c->bias[o];

            for (int ch = 0; ch < c->in_c; ch++)
              for (int a = 0; a < c->k; a++)
                for (int b = 0; b < c->k; b++)
                  {
                    int yy = i + a - pad, xx = j + b - pad;

                    if (yy >= 0 && yy < c->h && xx >= 0 && xx < c->w)
                      s += c->kernel[((o * c->in_c + ch) * c->k + a) * c->k + b]
                           * c->x[((n * c->in_c + ch) * c->h + yy) * c->w + xx];
                  }
            if (c->activation == CONVOLVE_ACTIVATION_RELU)
              s = s > 0.0 ? s : 0.0;
            y[((n * c->out_c + o) * oh + i) * ow + j] = s;
          }
}

static void
check_conv (ConvolvePadding padding, ConvolveActivation activation, int k, guint64 seed)
{
  ConvRef ref = { .batch = 2, .in_c = 2, .h = 5, .w = 6, .out_c = 3, .k = k,
                  .padding = padding, .activation = activation };
  int oh = convolve_conv2d_output_size (ref.h, k, padding);
  int ow = convolve_conv2d_output_size (ref.w, k, padding);
  gsize nx = (gsize) ref.batch * ref.in_c * ref.h * ref.w;
  gsize nk = (gsize) ref.out_c * ref.in_c * k * k;
  gsize ny = (gsize) ref.batch * ref.out_c * oh * ow;
  g_autofree float *x = g_new (float, nx), *kernel = g_new (float, nk);
  g_autofree float *bias = g_new (float, ref.out_c), *y = g_new (float, ny);
  g_autofree float *dout = g_new (float, ny), *dx = g_new (float, nx);
  g_autofree float *dkernel = g_new (float, nk), *dbias = g_new (float, ref.out_c);
  g_autofree float *workspace = NULL;
  g_autofree double *r = NULL, *gx = NULL, *gk = NULL, *gb = NULL;
  g_autofree double *xd = NULL, *kd = NULL, *bd = NULL;
  ConvolveWorkspace cws;
  Objective obj;
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  fill_uniform (x, nx, &rng, -1.0f, 1.0f);
  fill_uniform (kernel, nk, &rng, -0.5f, 0.5f);
  fill_uniform (bias, ref.out_c, &rng, -0.2f, 0.2f);
  fill_uniform (dout, ny, &rng, -1.0f, 1.0f);
  r = to_double (dout, ny);
  workspace = g_new (float, convolve_conv2d_workspace_size (ref.in_c, ref.h, ref.w, ref.out_c,
                                                            k, padding));
  cws = (ConvolveWorkspace) { workspace, 0, 1 };

  convolve_conv2d_forward (y, &cws, x, kernel, bias, ref.batch, ref.in_c, ref.h, ref.w,
                           ref.out_c, k, padding, activation);
  convolve_conv2d_backward (dx, dkernel, dbias, &cws, dout, y, x, kernel,
                            ref.batch, ref.in_c, ref.h, ref.w, ref.out_c, k, padding, activation);

  ref.x = xd = to_double (x, nx);
  ref.kernel = kd = to_double (kernel, nk);
  ref.bias = bd = to_double (bias, ref.out_c);
  obj = (Objective) { conv_ref_forward, &ref, ny, r };
  assert_forward_matches ("conv2d", y, &obj, 1e-5);
  gx = numeric_gradient (&obj, xd, nx);
  gk = numeric_gradient (&obj, kd, nk);
  gb = numeric_gradient (&obj, bd, ref.out_c);
  assert_close_array ("conv2d dx", dx, gx, nx);
  assert_close_array ("conv2d dkernel", dkernel, gk, nk);
  assert_close_array ("conv2d dbias", dbias, gb, ref.out_c);
}

static void
test_conv2d_backward_same (void)
{
  check_conv (CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU, 3, 1);
  check_conv (CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_LINEAR, 3, 2);
  check_conv (CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_LINEAR, 5, 3);
  check_conv (CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU, 2, 4); /* even: pads 0 top, 1 bottom */
}

static void
test_conv2d_backward_valid (void)
{
  check_conv (CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_RELU, 3, 5);
  check_conv (CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_LINEAR, 2, 6);
  check_conv (CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_LINEAR, 1, 7);
}

/* Without din (the first layer), dkernel and dbias must not change. */
static void
test_conv2d_backward_no_din (void)
{
  int b = 3, c = 3, h = 8, w = 8, oc = 4, k = 3;
  gsize nx = (gsize) b * c * h * w, nk = (gsize) oc * c * k * k, ny = (gsize) b * oc * h * w;
  g_autofree float *x = g_new (float, nx), *kernel = g_new (float, nk), *bias = g_new0 (float, oc);
  g_autofree float *y = g_new (float, ny), *d1 = g_new (float, ny), *d2 = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx);
  g_autofree float *dk1 = g_new (float, nk), *dk2 = g_new (float, nk);
  g_autofree float *db1 = g_new (float, oc), *db2 = g_new (float, oc);
  g_autofree float *ws = g_new (float, convolve_conv2d_workspace_size (c, h, w, oc, k, CONVOLVE_PADDING_SAME));
  ConvolveWorkspace cws = { ws, 0, 1 };
  ConvolveRng rng;

  convolve_rng_init (&rng, 11);
  fill_uniform (x, nx, &rng, -1, 1);
  fill_uniform (kernel, nk, &rng, -1, 1);
  fill_uniform (d1, ny, &rng, -1, 1);
  memcpy (d2, d1, sizeof (float) * ny);
  convolve_conv2d_forward (y, &cws, x, kernel, bias, b, c, h, w, oc, k, CONVOLVE_PADDING_SAME,
                           CONVOLVE_ACTIVATION_RELU);
  convolve_conv2d_backward (dx, dk1, db1, &cws, d1, y, x, kernel, b, c, h, w, oc, k,
                            CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
  convolve_conv2d_backward (NULL, dk2, db2, &cws, d2, y, x, kernel, b, c, h, w, oc, k,
                            CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
  g_assert_cmpmem (dk1, sizeof (float) * nk, dk2, sizeof (float) * nk);
  g_assert_cmpmem (db1, sizeof (float) * oc, db2, sizeof (float) * oc);
}

/* The fast im2col + sgemm path against the naive direct loops. */
static void
test_conv2d_fast_vs_naive (void)
{
  struct { int b, c, h, w, oc, k; ConvolvePadding pad; ConvolveActivation act; } cases[] = {
    { 4, 3, 32, 32, 32, 3, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU },
    { 2, 1, 28, 28, 8, 3, CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_LINEAR },
    { 3, 5, 7, 9, 6, 5, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_LINEAR },
    { 1, 2, 6, 5, 3, 4, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU },
    { 2, 4, 5, 5, 2, 5, CONVOLVE_PADDING_VALID, CONVOLVE_ACTIVATION_RELU },
  };
  ConvolveRng rng;

  convolve_rng_init (&rng, 99);
  for (gsize t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      int b = cases[t].b, c = cases[t].c, h = cases[t].h, w = cases[t].w;
      int oc = cases[t].oc, k = cases[t].k;
      int oh = convolve_conv2d_output_size (h, k, cases[t].pad);
      int ow = convolve_conv2d_output_size (w, k, cases[t].pad);
      gsize nx = (gsize) b * c * h * w, nk = (gsize) oc * c * k * k, ny = (gsize) b * oc * oh * ow;
      g_autofree float *x = g_new (float, nx), *kernel = g_new (float, nk);
      g_autofree float *bias = g_new (float, oc);
      g_autofree float *fast = g_new (float, ny), *naive = g_new (float, ny);
      g_autofree float *ws = g_new (float, convolve_conv2d_workspace_size (c, h, w, oc, k, cases[t].pad));
      ConvolveWorkspace cws = { ws, 0, 1 };

      fill_uniform (x, nx, &rng, -1, 1);
      fill_uniform (kernel, nk, &rng, -1, 1);
      fill_uniform (bias, oc, &rng, -1, 1);
      convolve_conv2d_forward (fast, &cws, x, kernel, bias, b, c, h, w, oc, k, cases[t].pad, cases[t].act);
      convolve_conv2d_forward_naive (naive, x, kernel, bias, b, c, h, w, oc, k, cases[t].pad, cases[t].act);
      for (gsize i = 0; i < ny; i++)
        g_assert_cmpfloat_with_epsilon (fast[i], naive[i], 1e-4f * (1.0f + fabsf (naive[i])));
    }
}

/* The fast backward pass split over 1 to 3 threads (the batch in runs of
 * images, each run's gradient sums added in order) against the direct
 * loops; at one thread count, two passes agree to the bit. */
static void
test_conv2d_threads_vs_naive (void)
{
  int b = 5, c = 3, h = 9, w = 7, oc = 4, k = 3;
  gsize nx = (gsize) b * c * h * w, nk = (gsize) oc * c * k * k, ny = (gsize) b * oc * h * w;
  gsize block = convolve_conv2d_workspace_size (c, h, w, oc, k, CONVOLVE_PADDING_SAME);
  g_autofree float *x = g_new (float, nx), *kernel = g_new (float, nk), *bias = g_new (float, oc);
  g_autofree float *y = g_new (float, ny), *y_naive = g_new (float, ny);
  g_autofree float *d0 = g_new (float, ny), *d = g_new (float, ny), *d_naive = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx), *dx_naive = g_new (float, nx), *dx_again = g_new (float, nx);
  g_autofree float *dk = g_new (float, nk), *dk_naive = g_new (float, nk), *dk_again = g_new (float, nk);
  g_autofree float *db = g_new (float, oc), *db_naive = g_new (float, oc), *db_again = g_new (float, oc);
  g_autofree float *ws = g_new0 (float, 3 * block);
  ConvolveWorkspace cws = { ws, block, 3 };
  int saved = convolve_engine_get_threads ();
  ConvolveRng rng;

  convolve_rng_init (&rng, 21);
  fill_uniform (x, nx, &rng, -1, 1);
  fill_uniform (kernel, nk, &rng, -1, 1);
  fill_uniform (bias, oc, &rng, -0.3f, 0.3f);
  fill_uniform (d0, ny, &rng, -1, 1);
  convolve_conv2d_forward_naive (y_naive, x, kernel, bias, b, c, h, w, oc, k,
                                 CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
  memcpy (d_naive, d0, sizeof (float) * ny);
  convolve_conv2d_backward_naive (dx_naive, dk_naive, db_naive, d_naive, y_naive, x, kernel,
                                  b, c, h, w, oc, k, CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
  for (int threads = 1; threads <= 3; threads++)
    {
      convolve_engine_set_threads (threads);
      convolve_conv2d_forward (y, &cws, x, kernel, bias, b, c, h, w, oc, k,
                               CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
      for (gsize i = 0; i < ny; i++)
        g_assert_cmpfloat_with_epsilon (y[i], y_naive[i], 1e-4f * (1.0f + fabsf (y_naive[i])));
      memcpy (d, d0, sizeof (float) * ny);
      convolve_conv2d_backward (dx, dk, db, &cws, d, y, x, kernel, b, c, h, w, oc, k,
                                CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
      for (gsize i = 0; i < nx; i++)
        g_assert_cmpfloat_with_epsilon (dx[i], dx_naive[i], 1e-4f * (1.0f + fabsf (dx_naive[i])));
      for (gsize i = 0; i < nk; i++)
        g_assert_cmpfloat_with_epsilon (dk[i], dk_naive[i], 1e-4f * (1.0f + fabsf (dk_naive[i])));
      for (int i = 0; i < oc; i++)
        g_assert_cmpfloat_with_epsilon (db[i], db_naive[i], 1e-4f * (1.0f + fabsf (db_naive[i])));

      memcpy (d, d0, sizeof (float) * ny);
      convolve_conv2d_backward (dx_again, dk_again, db_again, &cws, d, y, x, kernel, b, c, h, w, oc, k,
                                CONVOLVE_PADDING_SAME, CONVOLVE_ACTIVATION_RELU);
      g_assert_cmpmem (dx, sizeof (float) * nx, dx_again, sizeof (float) * nx);
      g_assert_cmpmem (dk, sizeof (float) * nk, dk_again, sizeof (float) * nk);
      g_assert_cmpmem (db, sizeof (float) * oc, db_again, sizeof (float) * oc);
    }
  convolve_engine_set_threads (saved);
}

/* --- BatchNormalization ---------------------------------------------------- */

typedef struct {
  double *x, *gamma, *beta;
  int batch, channels, spatial;
} BnRef;

static void
bn_ref_forward (double *y, gpointer data)
{
  BnRef *r = data;
  double m = (double) r->batch * r->spatial;

  for (int c = 0; c < r->channels; c++)
    {
      double mean = 0.0, var = 0.0;

      for (int n = 0; n < r->batch; n++)
        for (int i = 0; i < r->spatial; i++)
          mean += r->x[(n * r->channels + c) * r->spatial + i];
      mean /= m;
      for (int n = 0; n < r->batch; n++)
        for (int i = 0; i < r->spatial; i++)
          {
            double d = r->x[(n * r->channels + c) * r->spatial + i] - mean;
            var += d * d;
          }
      var /= m;
      for (int n = 0; n < r->batch; n++)
        for (int i = 0; i < r->spatial; i++)
          {
            int idx = (n * r->channels + c) * r->spatial + i;
            y[idx] = r->gamma[c] * (r->x[idx] - mean) / sqrt (var + CONVOLVE_BATCHNORM_EPSILON)
                     + r->beta[c];
          }
    }
}

static void
check_batchnorm (int batch, int channels, int spatial, guint64 seed)
{
  gsize n = (gsize) batch * channels * spatial;
  g_autofree float *x = g_new (float, n), *y = g_new (float, n), *mean = g_new (float, channels);
  g_autofree float *dout = g_new (float, n), *dx = g_new (float, n);
  g_autofree float *gamma = g_new (float, channels), *beta = g_new (float, channels);
  g_autofree float *dgamma = g_new (float, channels), *dbeta = g_new (float, channels);
  g_autofree float *invstd = g_new (float, channels);
  g_autofree float *mm = g_new (float, channels), *mv = g_new (float, channels);
  g_autofree double *r = NULL, *xd = NULL, *gd = NULL, *bd = NULL, *gx = NULL, *gg = NULL, *gb = NULL;
  BnRef ref = { .batch = batch, .channels = channels, .spatial = spatial };
  Objective obj;
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  fill_uniform (x, n, &rng, -2.0f, 3.0f);
  fill_uniform (gamma, channels, &rng, 0.5f, 1.5f);
  fill_uniform (beta, channels, &rng, -0.5f, 0.5f);
  fill_uniform (dout, n, &rng, -1.0f, 1.0f);
  for (int c = 0; c < channels; c++)
    {
      mm[c] = 0.25f;
      mv[c] = 2.0f;
    }
  r = to_double (dout, n);

  convolve_batchnorm_forward_train (y, mean, invstd, mm, mv, x, gamma, beta,
                                    batch, channels, spatial,
                                    CONVOLVE_BATCHNORM_MOMENTUM, CONVOLVE_BATCHNORM_EPSILON);
  convolve_batchnorm_backward (dx, dgamma, dbeta, dout, x, mean, invstd, gamma,
                               batch, channels, spatial);

  ref.x = xd = to_double (x, n);
  ref.gamma = gd = to_double (gamma, channels);
  ref.beta = bd = to_double (beta, channels);
  obj = (Objective) { bn_ref_forward, &ref, n, r };
  assert_forward_matches ("batchnorm", y, &obj, 1e-5);
  gx = numeric_gradient (&obj, xd, n);
  gg = numeric_gradient (&obj, gd, channels);
  gb = numeric_gradient (&obj, bd, channels);
  assert_close_array ("batchnorm dx", dx, gx, n);
  assert_close_array ("batchnorm dgamma", dgamma, gg, channels);
  assert_close_array ("batchnorm dbeta", dbeta, gb, channels);

  /* Moving statistics: moving * 0.99 + batch * 0.01, the variance with
   * Bessel's correction as tf.keras's fused kernel (and PyTorch) keep it. */
  for (int c = 0; c < channels; c++)
    {
      double m = (double) batch * spatial, mu = 0.0, ss = 0.0;

      for (int b = 0; b < batch; b++)
        for (int i = 0; i < spatial; i++)
          mu += xd[(b * channels + c) * spatial + i];
      mu /= m;
      for (int b = 0; b < batch; b++)
        for (int i = 0; i < spatial; i++)
          ss += pow (xd[(b * channels + c) * spatial + i] - mu, 2);
      g_assert_cmpfloat_with_epsilon (mm[c], 0.25 * 0.99 + mu * 0.01, 1e-6);
      g_assert_cmpfloat_with_epsilon (mv[c], 2.0 * 0.99 + ss / (m - 1.0) * 0.01, 1e-5);
    }
}

static void
test_batchnorm_backward (void)
{
  check_batchnorm (3, 2, 12, 21);  /* images: 3 x 2 x (3x4) */
  check_batchnorm (5, 4, 1, 22);   /* flat features (BN after a dense layer) */
}

/* Split into runs of channels over the threads, every pass gives the
 * numbers of one thread, bit for bit (a pass this large is split). */
static void
test_batchnorm_threads (void)
{
  enum { B = 8, C = 9, S = 1024, N = B * C * S };
  int saved = convolve_engine_get_threads ();
  g_autofree float *x = g_new (float, N), *dout = g_new (float, N);
  g_autofree float *y1 = g_new (float, N), *dx1 = g_new (float, N), *yi1 = g_new (float, N);
  g_autofree float *y = g_new (float, N), *dx = g_new (float, N), *yi = g_new (float, N);
  float gamma[C], beta[C], mean1[C], invstd1[C], mm1[C], mv1[C], dg1[C], db1[C];
  float mean[C], invstd[C], mm[C], mv[C], dg[C], db[C];
  ConvolveRng rng;

  convolve_rng_init (&rng, 31);
  fill_uniform (x, N, &rng, -2.0f, 3.0f);
  fill_uniform (dout, N, &rng, -1.0f, 1.0f);
  fill_uniform (gamma, C, &rng, 0.5f, 1.5f);
  fill_uniform (beta, C, &rng, -0.5f, 0.5f);
  for (int threads = 1; threads <= 3; threads++)
    {
      gboolean first = threads == 1;

      convolve_engine_set_threads (threads);
      for (int c = 0; c < C; c++)
        {
          (first ? mm1 : mm)[c] = 0.25f;
          (first ? mv1 : mv)[c] = 2.0f;
        }
      convolve_batchnorm_forward_train (first ? y1 : y, first ? mean1 : mean, first ? invstd1 : invstd,
                                        first ? mm1 : mm, first ? mv1 : mv, x, gamma, beta, B, C, S,
                                        CONVOLVE_BATCHNORM_MOMENTUM, CONVOLVE_BATCHNORM_EPSILON);
      convolve_batchnorm_backward (first ? dx1 : dx, first ? dg1 : dg, first ? db1 : db, dout, x,
                                   mean1, invstd1, gamma, B, C, S);
      convolve_batchnorm_forward_infer (first ? yi1 : yi, x, gamma, beta, mm1, mv1, B, C, S,
                                        CONVOLVE_BATCHNORM_EPSILON);
      if (first)
        continue;
      g_assert_cmpmem (y, sizeof (float) * N, y1, sizeof (float) * N);
      g_assert_cmpmem (mean, sizeof mean, mean1, sizeof mean1);
      g_assert_cmpmem (invstd, sizeof invstd, invstd1, sizeof invstd1);
      g_assert_cmpmem (mm, sizeof mm, mm1, sizeof mm1);
      g_assert_cmpmem (mv, sizeof mv, mv1, sizeof mv1);
      g_assert_cmpmem (dx, sizeof (float) * N, dx1, sizeof (float) * N);
      g_assert_cmpmem (dg, sizeof dg, dg1, sizeof dg1);
      g_assert_cmpmem (db, sizeof db, db1, sizeof db1);
      g_assert_cmpmem (yi, sizeof (float) * N, yi1, sizeof (float) * N);
    }
  convolve_engine_set_threads (saved);
}

/* BatchNormalization and ReLU in one pass each way: the numbers of the two
 * layers one after the other, at one and two threads; the forward pass
 * and the masked gradient bit for bit, the sums to float rounding (a
 * vectorised sum's order depends on its buffers' alignment). */
static void
test_batchnorm_relu (void)
{
  enum { B = 4, C = 5, S = 4096, N = B * C * S };
  int saved = convolve_engine_get_threads ();
  g_autofree float *x = g_new (float, N), *d0 = g_new (float, N);
  g_autofree float *y = g_new (float, N), *r = g_new (float, N), *d = g_new (float, N);
  g_autofree float *dr = g_new (float, N), *dx = g_new (float, N);
  g_autofree float *fr = g_new (float, N), *fd = g_new (float, N), *fdx = g_new (float, N);
  float gamma[C], beta[C], mean[C], invstd[C], mm[C], mv[C], dg[C], db[C];
  float fmean[C], finvstd[C], fmm[C], fmv[C], fdg[C], fdb[C];
  ConvolveRng rng;

  convolve_rng_init (&rng, 51);
  fill_uniform (x, N, &rng, -2.0f, 3.0f);
  fill_uniform (d0, N, &rng, -1.0f, 1.0f);
  fill_uniform (gamma, C, &rng, 0.5f, 1.5f);
  fill_uniform (beta, C, &rng, -0.5f, 0.5f);
  for (int threads = 1; threads <= 2; threads++)
    {
      convolve_engine_set_threads (threads);
      for (int c = 0; c < C; c++)
        {
          mm[c] = fmm[c] = 0.25f;
          mv[c] = fmv[c] = 2.0f;
        }
      /* apart */
      convolve_batchnorm_forward_train (y, mean, invstd, mm, mv, x, gamma, beta, B, C, S,
                                        CONVOLVE_BATCHNORM_MOMENTUM, CONVOLVE_BATCHNORM_EPSILON);
      convolve_relu_forward (r, y, N);
      memcpy (d, d0, sizeof (float) * N);
      convolve_relu_backward (dr, d, r, N);
      convolve_batchnorm_backward (dx, dg, db, dr, x, mean, invstd, gamma, B, C, S);
      /* fused */
      convolve_batchnorm_forward_train_relu (fr, fmean, finvstd, fmm, fmv, x, gamma, beta, B, C, S,
                                             CONVOLVE_BATCHNORM_MOMENTUM, CONVOLVE_BATCHNORM_EPSILON);
      memcpy (fd, d0, sizeof (float) * N);
      convolve_batchnorm_backward_relu (fdx, fdg, fdb, fd, fr, x, fmean, finvstd, gamma, B, C, S);

      g_assert_cmpmem (fr, sizeof (float) * N, r, sizeof (float) * N);
      g_assert_cmpmem (fmean, sizeof fmean, mean, sizeof mean);
      g_assert_cmpmem (finvstd, sizeof finvstd, invstd, sizeof invstd);
      g_assert_cmpmem (fmm, sizeof fmm, mm, sizeof mm);
      g_assert_cmpmem (fmv, sizeof fmv, mv, sizeof mv);
      g_assert_cmpmem (fd, sizeof (float) * N, dr, sizeof (float) * N);  /* the masked gradient */
      for (gsize i = 0; i < N; i++)
        g_assert_cmpfloat_with_epsilon (fdx[i], dx[i], 1e-5f * (1.0f + fabsf (dx[i])));
      for (int c = 0; c < C; c++)
        {
          g_assert_cmpfloat_with_epsilon (fdg[c], dg[c], 1e-5f * (1.0f + fabsf (dg[c])));
          g_assert_cmpfloat_with_epsilon (fdb[c], db[c], 1e-5f * (1.0f + fabsf (db[c])));
        }
    }
  convolve_engine_set_threads (saved);
}

static void
test_batchnorm_inference (void)
{
  int batch = 2, channels = 3, spatial = 5;
  gsize n = (gsize) batch * channels * spatial;
  float x[30], y[30];
  float gamma[3] = { 1.0f, 2.0f, 0.5f }, beta[3] = { 0.0f, -1.0f, 3.0f };
  float mm[3] = { 0.1f, -0.2f, 0.3f }, mv[3] = { 1.0f, 4.0f, 0.25f };
  ConvolveRng rng;

  convolve_rng_init (&rng, 3);
  fill_uniform (x, n, &rng, -1, 1);
  convolve_batchnorm_forward_infer (y, x, gamma, beta, mm, mv, batch, channels, spatial,
                                    CONVOLVE_BATCHNORM_EPSILON);
  for (int b = 0; b < batch; b++)
    for (int c = 0; c < channels; c++)
      for (int i = 0; i < spatial; i++)
        {
          int idx = (b * channels + c) * spatial + i;
          double want = gamma[c] * (x[idx] - mm[c]) / sqrt (mv[c] + 1e-3) + beta[c];

          g_assert_cmpfloat_with_epsilon (y[idx], want, 1e-5);
        }
}

/* --- MaxPooling2D ---------------------------------------------------------- */

typedef struct {
  double *x;
  int batch, channels, h, w, pool;
} PoolRef;

static void
pool_ref_forward (double *y, gpointer data)
{
  PoolRef *r = data;
  int oh = r->h / r->pool, ow = r->w / r->pool;

  for (int p = 0; p < r->batch * r->channels; p++)
    for (int i = 0; i < oh; i++)
      for (int j = 0; j < ow; j++)
        {
          double m = -INFINITY;

          for (int a = 0; a < r->pool; a++)
            for (int b = 0; b < r->pool; b++)
              m = MAX (m, r->x[(p * r->h + i * r->pool + a) * r->w + j * r->pool + b]);
          y[(p * oh + i) * ow + j] = m;
        }
}

static void
check_maxpool (int batch, int channels, int h, int w, int pool, guint64 seed)
{
  int oh = h / pool, ow = w / pool;
  gsize nx = (gsize) batch * channels * h * w, ny = (gsize) batch * channels * oh * ow;
  g_autofree float *x = g_new (float, nx), *y = g_new (float, ny), *dout = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx);
  g_autofree int32_t *argmax = g_new (int32_t, ny);
  g_autofree double *r = NULL, *xd = NULL, *gx = NULL;
  PoolRef ref = { .batch = batch, .channels = channels, .h = h, .w = w, .pool = pool };
  Objective obj;
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  fill_uniform (x, nx, &rng, -1, 1);
  fill_uniform (dout, ny, &rng, -1, 1);
  r = to_double (dout, ny);
  convolve_maxpool_forward (y, argmax, x, batch, channels, h, w, pool);
  convolve_maxpool_backward (dx, dout, argmax, batch, channels, h, w, pool);

  ref.x = xd = to_double (x, nx);
  obj = (Objective) { pool_ref_forward, &ref, ny, r };
  assert_forward_matches ("maxpool", y, &obj, 0.0);
  gx = numeric_gradient (&obj, xd, nx);
  assert_close_array ("maxpool dx", dx, gx, nx);
}

static void
test_maxpool_backward (void)
{
  check_maxpool (2, 3, 6, 8, 2, 31);
  check_maxpool (2, 2, 5, 7, 2, 32);  /* odd sizes: the last row and column are dropped */
  check_maxpool (1, 2, 7, 6, 3, 33);  /* a general pool size */
}

/* Split into runs of planes over the threads, both passes give the numbers
 * of one thread, bit for bit; odd sizes and pool 3 included. */
static void
test_maxpool_threads (void)
{
  static const int sizes[][4] = { { 10, 7, 33, 31 }, { 5, 4, 64, 65 } };  /* batch, channels, h, w */
  int saved = convolve_engine_get_threads ();

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (int pool = 2; pool <= 3; pool++)
      {
        int batch = sizes[s][0], channels = sizes[s][1], h = sizes[s][2], w = sizes[s][3];
        gsize nx = (gsize) batch * channels * h * w;
        gsize ny = (gsize) batch * channels * (h / pool) * (w / pool);
        g_autofree float *x = g_new (float, nx), *dout = g_new (float, ny);
        g_autofree float *y1 = g_new (float, ny), *dx1 = g_new (float, nx);
        g_autofree float *y = g_new (float, ny), *dx = g_new (float, nx);
        g_autofree int32_t *arg1 = g_new (int32_t, ny), *arg = g_new (int32_t, ny);
        ConvolveRng rng;

        g_assert_cmpuint (nx, >=, 1 << 16);  /* large enough to be split */
        convolve_rng_init (&rng, 40 + s);
        fill_uniform (x, nx, &rng, -1, 1);
        fill_uniform (dout, ny, &rng, -1, 1);
        convolve_engine_set_threads (1);
        convolve_maxpool_forward (y1, arg1, x, batch, channels, h, w, pool);
        convolve_maxpool_backward (dx1, dout, arg1, batch, channels, h, w, pool);
        for (int threads = 2; threads <= 3; threads++)
          {
            convolve_engine_set_threads (threads);
            memset (dx, 0xff, sizeof (float) * nx);  /* NaN: every element must be written */
            convolve_maxpool_forward (y, arg, x, batch, channels, h, w, pool);
            convolve_maxpool_backward (dx, dout, arg, batch, channels, h, w, pool);
            g_assert_cmpmem (y, sizeof (float) * ny, y1, sizeof (float) * ny);
            g_assert_cmpmem (arg, sizeof (int32_t) * ny, arg1, sizeof (int32_t) * ny);
            g_assert_cmpmem (dx, sizeof (float) * nx, dx1, sizeof (float) * nx);
          }
      }
  convolve_engine_set_threads (saved);
}

/* --- GlobalAveragePooling2D --------------------------------------------- */

typedef struct {
  double *x;
  int batch, channels, spatial;
} GapRef;

static void
gap_ref_forward (double *y, gpointer data)
{
  GapRef *r = data;

  for (int p = 0; p < r->batch * r->channels; p++)
    {
      double s = 0.0;

      for (int i = 0; i < r->spatial; i++)
        s += r->x[p * r->spatial + i];
      y[p] = s / r->spatial;
    }
}

static void
check_globalavgpool (int batch, int channels, int h, int w, guint64 seed)
{
  gsize nx = (gsize) batch * channels * h * w, ny = (gsize) batch * channels;
  g_autofree float *x = g_new (float, nx), *y = g_new (float, ny), *dout = g_new (float, ny);
  g_autofree float *dx = g_new (float, nx);
  g_autofree double *r = NULL, *xd = NULL, *gx = NULL;
  GapRef ref = { .batch = batch, .channels = channels, .spatial = h * w };
  Objective obj;
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  fill_uniform (x, nx, &rng, -1, 1);
  fill_uniform (dout, ny, &rng, -1, 1);
  /* The backward overwrites din: garbage there must not survive. */
  fill_uniform (dx, nx, &rng, 100, 200);
  r = to_double (dout, ny);
  convolve_globalavgpool_forward (y, x, batch, channels, h * w);
  convolve_globalavgpool_backward (dx, dout, batch, channels, h * w);

  ref.x = xd = to_double (x, nx);
  obj = (Objective) { gap_ref_forward, &ref, ny, r };
  assert_forward_matches ("globalavgpool", y, &obj, 1e-6);
  gx = numeric_gradient (&obj, xd, nx);
  assert_close_array ("globalavgpool dx", dx, gx, nx);
}

static void
test_globalavgpool_backward (void)
{
  check_globalavgpool (2, 3, 6, 8, 41);
  check_globalavgpool (3, 2, 5, 7, 42);  /* odd, non-square planes */
  check_globalavgpool (2, 4, 1, 1, 43);  /* a 1x1 plane: the identity */
}

/* --- Dense ----------------------------------------------------------------- */

typedef struct {
  double *x, *kernel, *bias;
  int batch, in, out;
  ConvolveActivation activation;
} DenseRef;

static void
dense_ref_forward (double *y, gpointer data)
{
  DenseRef *r = data;

  for (int n = 0; n < r->batch; n++)
    for (int j = 0; j < r->out; j++)
      {
        double s = r->bias[j];

        for (int i = 0; i < r->in; i++)
          s += r->x[n * r->in + i] * r->kernel[i * r->out + j];
        if (r->activation == CONVOLVE_ACTIVATION_RELU)
          s = s > 0.0 ? s : 0.0;
        y[n * r->out + j] = s;
      }
}

static void
check_dense (ConvolveActivation activation, guint64 seed)
{
  DenseRef ref = { .batch = 3, .in = 7, .out = 5, .activation = activation };
  gsize nx = 21, nk = 35, ny = 15;
  float x[21], kernel[35], bias[5], y[15], dout[15], dx[21], dkernel[35], dbias[5];
  g_autofree double *r = NULL, *xd = NULL, *kd = NULL, *bd = NULL, *gx = NULL, *gk = NULL, *gb = NULL;
  Objective obj;
  ConvolveRng rng;

  convolve_rng_init (&rng, seed);
  fill_uniform (x, nx, &rng, -1, 1);
  fill_uniform (kernel, nk, &rng, -1, 1);
  fill_uniform (bias, 5, &rng, -0.3f, 0.3f);
  fill_uniform (dout, ny, &rng, -1, 1);
  r = to_double (dout, ny);
  convolve_dense_forward (y, x, kernel, bias, ref.batch, ref.in, ref.out, activation);
  convolve_dense_backward (dx, dkernel, dbias, dout, y, x, kernel, ref.batch, ref.in, ref.out,
                           activation);

  ref.x = xd = to_double (x, nx);
  ref.kernel = kd = to_double (kernel, nk);
  ref.bias = bd = to_double (bias, 5);
  obj = (Objective) { dense_ref_forward, &ref, ny, r };
  assert_forward_matches ("dense", y, &obj, 1e-5);
  gx = numeric_gradient (&obj, xd, nx);
  gk = numeric_gradient (&obj, kd, nk);
  gb = numeric_gradient (&obj, bd, 5);
  assert_close_array ("dense dx", dx, gx, nx);
  assert_close_array ("dense dkernel", dkernel, gk, nk);
  assert_close_array ("dense dbias", dbias, gb, 5);
}

static void
test_dense_backward (void)
{
  check_dense (CONVOLVE_ACTIVATION_RELU, 41);
  check_dense (CONVOLVE_ACTIVATION_LINEAR, 42);
}

/* --- ReLU -------------------------------------------------------------------- */

typedef struct {
  double *x;
  gsize n;
} ReluRef;

static void
relu_ref_forward (double *y, gpointer data)
{
  ReluRef *r = data;

  for (gsize i = 0; i < r->n; i++)
    y[i] = r->x[i] > 0.0 ? r->x[i] : 0.0;
}

static void
test_relu_backward (void)
{
  float x[40], y[40], dout[40], dx[40];
  g_autofree double *r = NULL, *xd = NULL, *gx = NULL;
  ReluRef ref = { .n = 40 };
  Objective obj;
  ConvolveRng rng;

  convolve_rng_init (&rng, 51);
  fill_uniform (x, 40, &rng, -1, 1);
  fill_uniform (dout, 40, &rng, -1, 1);
  r = to_double (dout, 40);
  convolve_relu_forward (y, x, 40);
  convolve_relu_backward (dx, dout, y, 40);
  ref.x = xd = to_double (x, 40);
  obj = (Objective) { relu_ref_forward, &ref, 40, r };
  assert_forward_matches ("relu", y, &obj, 0.0);
  gx = numeric_gradient (&obj, xd, 40);
  assert_close_array ("relu dx", dx, gx, 40);
}

/* --- Dropout ------------------------------------------------------------------ */

typedef struct {
  double *x;
  const float *mask;
  gsize n;
} DropoutRef;

static void
dropout_ref_forward (double *y, gpointer data)
{
  DropoutRef *r = data;

  for (gsize i = 0; i < r->n; i++)
    y[i] = r->x[i] * r->mask[i];
}

static void
test_dropout_backward (void)
{
  enum { N = 64 };
  float x[N], y[N], mask[N], dout[N], dx[N];
  g_autofree double *r = NULL, *xd = NULL, *gx = NULL;
  DropoutRef ref = { .n = N };
  Objective obj;
  ConvolveRng rng, rng2;

  convolve_rng_init (&rng, 61);
  fill_uniform (x, N, &rng, -1, 1);
  fill_uniform (dout, N, &rng, -1, 1);
  r = to_double (dout, N);
  rng2 = rng;
  convolve_dropout_forward (y, mask, x, N, 0.5f, &rng);
  convolve_dropout_backward (dx, dout, mask, N);

  /* The mask is drawn from the given RNG and nothing else. */
  for (int i = 0; i < N; i++)
    {
      float want = convolve_rng_uniform (&rng2) >= 0.5f ? 2.0f : 0.0f;
      g_assert_cmpfloat (mask[i], ==, want);
    }
  g_assert_cmpmem (&rng, sizeof rng, &rng2, sizeof rng2);

  ref.x = xd = to_double (x, N);
  ref.mask = mask;
  obj = (Objective) { dropout_ref_forward, &ref, N, r };
  assert_forward_matches ("dropout", y, &obj, 1e-7);
  gx = numeric_gradient (&obj, xd, N);
  assert_close_array ("dropout dx", dx, gx, N);
}

/* Inverted dropout keeps about 1 - rate of the units, scaled by
 * 1 / (1 - rate), so the expected output equals the input. */
static void
test_dropout_statistics (void)
{
  enum { N = 100000 };
  g_autofree float *x = g_new (float, N), *y = g_new (float, N), *mask = g_new (float, N);
  ConvolveRng rng;
  gsize kept = 0;
  double sum = 0.0;

  for (int i = 0; i < N; i++)
    x[i] = 1.0f;
  convolve_rng_init (&rng, 62);
  convolve_dropout_forward (y, mask, x, N, 0.2f, &rng);
  for (int i = 0; i < N; i++)
    {
      g_assert_true (y[i] == 0.0f || fabsf (y[i] - 1.25f) < 1e-6f);
      kept += y[i] != 0.0f;
      sum += y[i];
    }
  /* Binomial(100000, 0.8): standard deviation ~126, so 1000 is ~8 sigma. */
  g_assert_cmpuint (kept, >, 79000);
  g_assert_cmpuint (kept, <, 81000);
  g_assert_cmpfloat (fabs (sum / N - 1.0), <, 0.02);
}

/* --- Softmax + cross-entropy -------------------------------------------------- */

typedef struct {
  double *z;
  const int32_t *labels;
  int batch, classes;
} LossRef;

static void
loss_ref_forward (double *y, gpointer data)
{
  LossRef *r = data;
  double total = 0.0;

  for (int n = 0; n < r->batch; n++)
    {
      double s = 0.0;

      for (int j = 0; j < r->classes; j++)
        s += exp (r->z[n * r->classes + j]);
      total += log (s) - r->z[n * r->classes + r->labels[n]];
    }
  y[0] = total / r->batch;
}

static void
test_loss_backward (void)
{
  enum { B = 4, C = 5 };
  float z[B * C], dz[B * C];
  int32_t labels[B] = { 0, 4, 2, 2 };
  double one = 1.0;
  g_autofree double *zd = NULL, *gz = NULL;
  LossRef ref = { .labels = labels, .batch = B, .classes = C };
  Objective obj;
  ConvolveRng rng;
  int hits = -1;
  int32_t predictions[B];
  float losses[B], loss;
  double ref_loss, sum = 0.0;

  convolve_rng_init (&rng, 71);
  fill_uniform (z, B * C, &rng, -3, 3);
  loss = convolve_softmax_cross_entropy (dz, losses, &hits, predictions, z, labels, B, C);

  ref.z = zd = to_double (z, B * C);
  obj = (Objective) { loss_ref_forward, &ref, 1, &one };
  loss_ref_forward (&ref_loss, &ref);
  g_assert_cmpfloat_with_epsilon (loss, ref_loss, 1e-6);
  for (int n = 0; n < B; n++)
    sum += losses[n];
  g_assert_cmpfloat_with_epsilon (sum / B, ref_loss, 1e-6);
  gz = numeric_gradient (&obj, zd, B * C);
  assert_close_array ("softmax-ce dlogits", dz, gz, B * C);

  for (int n = 0; n < B; n++)
    {
      int best = 0;

      for (int j = 1; j < C; j++)
        if (z[n * C + j] > z[n * C + best])
          best = j;
      g_assert_cmpint (predictions[n], ==, best);
    }
  {
    int want = 0;

    for (int n = 0; n < B; n++)
      want += predictions[n] == labels[n];
    g_assert_cmpint (hits, ==, want);
  }
}

/* Huge logits must neither overflow nor lose the answer. */
static void
test_loss_stable (void)
{
  float z[6] = { 1000.0f, 0.0f, -1000.0f, -1000.0f, 1000.0f, 999.0f };
  int32_t labels[2] = { 0, 2 };
  float dz[6], p[6];
  float loss = convolve_softmax_cross_entropy (dz, NULL, NULL, NULL, z, labels, 2, 3);

  /* image 0: loss ~0; image 1: logsumexp - 999 = 1 + log(1 + e^-1) */
  g_assert_true (isfinite (loss));
  g_assert_cmpfloat_with_epsilon (loss, (0.0 + (log (1.0 + exp (-1.0)) + 1.0)) / 2.0, 1e-5);
  for (int i = 0; i < 6; i++)
    g_assert_true (isfinite (dz[i]));
  convolve_softmax (p, z, 2, 3);
  g_assert_cmpfloat_with_epsilon (p[0], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (p[4] + p[5], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (p[4], 1.0 / (1.0 + exp (-1.0)), 1e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/conv2d/backward-same", test_conv2d_backward_same);
  g_test_add_func ("/engine/conv2d/backward-valid", test_conv2d_backward_valid);
  g_test_add_func ("/engine/conv2d/backward-no-din", test_conv2d_backward_no_din);
  g_test_add_func ("/engine/conv2d/fast-vs-naive", test_conv2d_fast_vs_naive);
  g_test_add_func ("/engine/conv2d/threads-vs-naive", test_conv2d_threads_vs_naive);
  g_test_add_func ("/engine/batchnorm/backward", test_batchnorm_backward);
  g_test_add_func ("/engine/batchnorm/inference", test_batchnorm_inference);
  g_test_add_func ("/engine/batchnorm/threads", test_batchnorm_threads);
  g_test_add_func ("/engine/batchnorm/relu", test_batchnorm_relu);
  g_test_add_func ("/engine/maxpool/backward", test_maxpool_backward);
  g_test_add_func ("/engine/maxpool/threads", test_maxpool_threads);
  g_test_add_func ("/engine/globalavgpool/backward", test_globalavgpool_backward);
  g_test_add_func ("/engine/dense/backward", test_dense_backward);
  g_test_add_func ("/engine/relu/backward", test_relu_backward);
  g_test_add_func ("/engine/dropout/backward", test_dropout_backward);
  g_test_add_func ("/engine/dropout/statistics", test_dropout_statistics);
  g_test_add_func ("/engine/loss/backward", test_loss_backward);
  g_test_add_func ("/engine/loss/stable", test_loss_stable);

  return g_test_run ();
}
