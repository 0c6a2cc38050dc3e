/* test-gemm.c: the engine's split matrix products against the textbook
 * loops in double precision, at one to three threads, every transpose,
 * strided operands, and beta 0 over a C full of NaN; the matrix-vector
 * product the same to the bit at every thread count.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-gemm.h"
#include "convolve-model.h"
#include "convolve-rng.h"

static void
fill_uniform (float *x, gsize n, ConvolveRng *rng)
{
  for (gsize i = 0; i < n; i++)
    x[i] = 2.0f * convolve_rng_uniform (rng) - 1.0f;
}

typedef struct {
  int m, n, k;
} Shape;

/* Small ones stay on one thread; the rest are above the split threshold,
 * with sizes that are not multiples of the 16-wide blocks. */
static const Shape shapes[] = {
  { 1, 1, 1 }, { 3, 5, 7 }, { 32, 10, 1024 },
  { 32, 1024, 300 }, { 37, 1000, 129 }, { 1000, 37, 129 }, { 300, 301, 31 },
};

static void
check_shape (const Shape *s, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, float beta, int threads)
{
  /* leading dimensions a few floats wider than the rows */
  int a_rows = ta == CblasNoTrans ? s->m : s->k, a_cols = ta == CblasNoTrans ? s->k : s->m;
  int b_rows = tb == CblasNoTrans ? s->k : s->n, b_cols = tb == CblasNoTrans ? s->n : s->k;
  int lda = a_cols + 3, ldb = b_cols + 5, ldc = s->n + 2;
  gsize na = (gsize) a_rows * lda, nb = (gsize) b_rows * ldb, nc = (gsize) s->m * ldc;
  g_autofree float *a = g_new (float, na), *b = g_new (float, nb);
  g_autofree float *c0 = g_new (float, nc), *c = g_new (float, nc), *again = g_new (float, nc);
  g_autofree float *want = g_new (float, nc);
  ConvolveRng rng;

  convolve_rng_init (&rng, (guint64) (s->m * 7 + s->n * 3 + s->k));
  fill_uniform (a, na, &rng);
  fill_uniform (b, nb, &rng);
  fill_uniform (c0, nc, &rng);
  if (beta == 0.0f)
    for (int i = 0; i < s->m; i++)
      for (int j = 0; j < s->n; j++)
        c0[(gsize) i * ldc + j] = NAN;
  memcpy (want, c0, sizeof (float) * nc);
  memcpy (c, c0, sizeof (float) * nc);
  memcpy (again, c0, sizeof (float) * nc);

  convolve_engine_set_threads (threads);
  convolve_gemm_naive (ta, tb, s->m, s->n, s->k, 0.75f, a, lda, b, ldb, beta, want, ldc);
  convolve_gemm (ta, tb, s->m, s->n, s->k, 0.75f, a, lda, b, ldb, beta, c, ldc);
  convolve_gemm (ta, tb, s->m, s->n, s->k, 0.75f, a, lda, b, ldb, beta, again, ldc);
  for (int i = 0; i < s->m; i++)
    {
      for (int j = 0; j < s->n; j++)
        {
          float w = want[(gsize) i * ldc + j];

          g_assert_cmpfloat_with_epsilon (c[(gsize) i * ldc + j], w,
                                          1e-5f * (float) s->k + 1e-5f * fabsf (w));
        }
      /* the padding between rows is left alone */
      for (int j = s->n; j < ldc; j++)
        g_assert_cmpmem (&c[(gsize) i * ldc + j], sizeof (float), &c0[(gsize) i * ldc + j], sizeof (float));
    }
  /* the same numbers every time at one thread count */
  g_assert_cmpmem (c, sizeof (float) * nc, again, sizeof (float) * nc);
}

static void
test_gemm (void)
{
  static const CBLAS_TRANSPOSE trans[] = { CblasNoTrans, CblasTrans };
  int saved = convolve_engine_get_threads ();

  for (int threads = 1; threads <= 3; threads++)
    for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
      for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
          {
            check_shape (&shapes[i], trans[ta], trans[tb], 0.0f, threads);
            check_shape (&shapes[i], trans[ta], trans[tb], 1.0f, threads);
          }
  convolve_engine_set_threads (saved);
}

static void
test_gemv (void)
{
  int saved = convolve_engine_get_threads ();
  /* a Dense layer on one image: 8192 x 1000 is above the split threshold */
  static const Shape sizes[] = { { 5, 3, 0 }, { 8192, 1000, 0 }, { 3000, 1001, 0 } };

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int m = sizes[s].m, n = sizes[s].n, lda = n + 4;
      g_autofree float *a = g_new (float, (gsize) m * lda), *x = g_new (float, m);
      g_autofree float *want = g_new (float, n), *y = g_new (float, n), *one = g_new (float, n);
      ConvolveRng rng;

      convolve_rng_init (&rng, (guint64) m);
      fill_uniform (a, (gsize) m * lda, &rng);
      fill_uniform (x, m, &rng);
      /* y = A^T x is C[1, n] = x^T[1, m] A[m, n] */
      convolve_gemm_naive (CblasNoTrans, CblasNoTrans, 1, n, m, 1.0f, x, m, a, lda, 0.0f, want, n);
      for (int threads = 1; threads <= 3; threads++)
        {
          convolve_engine_set_threads (threads);
          for (int j = 0; j < n; j++)
            y[j] = NAN;
          convolve_gemv_t (m, n, a, lda, x, y);
          for (int j = 0; j < n; j++)
            g_assert_cmpfloat_with_epsilon (y[j], want[j], 1e-5f * (float) m);
          /* summed in the same blocks at every thread count */
          if (threads == 1)
            memcpy (one, y, sizeof (float) * n);
          else
            g_assert_cmpmem (y, sizeof (float) * n, one, sizeof (float) * n);
        }
    }
  convolve_engine_set_threads (saved);
}

/* OpenBLAS itself never runs more than one thread: the pool does. */
static void
test_blas_one_thread (void)
{
  int saved = convolve_engine_get_threads ();

  convolve_engine_set_threads (3);
  g_assert_cmpint (convolve_engine_get_threads (), ==, 3);
  g_assert_cmpint (openblas_get_num_threads (), ==, 1);
  convolve_engine_set_threads (saved);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* OPENBLAS_NUM_THREADS=2 in the tests' environment: held at one before main */
  g_assert_cmpint (openblas_get_num_threads (), ==, 1);
  g_test_add_func ("/engine/gemm/products", test_gemm);
  g_test_add_func ("/engine/gemm/gemv", test_gemv);
  g_test_add_func ("/engine/gemm/blas-one-thread", test_blas_one_thread);
  return g_test_run ();
}
