/* convolve-gemm.c: matrix products cut into blocks of C over the engine's
 * threads (see convolve-gemm.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-gemm.h"

#include "convolve-parallel.h"

/* Below this many multiply-adds a product stays on the calling thread:
 * waking a pool thread costs some microseconds, a product this size takes
 * tens of them on one core. */
#define GEMM_PARALLEL_MIN_MACS (G_GUINT64_CONSTANT (1) << 21)

/* Blocks are multiples of this many rows or columns: whole cache lines of
 * C per thread, and the kernels' full register tiles. */
#define GEMM_BLOCK_ALIGN 16

typedef struct {
  CBLAS_TRANSPOSE trans_a, trans_b;
  int          m, n, k;
  float        alpha, beta;
  const float *a, *b;
  int          lda, ldb, ldc;
  float       *c;
  gboolean     split_rows;  /* else columns */
  int          units;       /* GEMM_BLOCK_ALIGN-wide units of the split dimension */
} GemmJob;

/* [*first, *last) of the split dimension for one task, in whole units. */
static void
task_span (const GemmJob *j, int task, int n_tasks, int *first, int *last)
{
  int size = j->split_rows ? j->m : j->n;
  gsize u0, u1;

  convolve_parallel_range ((gsize) j->units, task, n_tasks, &u0, &u1);
  *first = MIN (size, (int) u0 * GEMM_BLOCK_ALIGN);
  *last = MIN (size, (int) u1 * GEMM_BLOCK_ALIGN);
}

static void
gemm_run (int task, int n_tasks, gpointer data)
{
  const GemmJob *j = data;
  int first, last;

  task_span (j, task, n_tasks, &first, &last);
  if (first >= last)
    return;
  if (j->split_rows)
    {
      /* rows of op(A): A's rows, or A^T's (A's columns) */
      const float *a = j->trans_a == CblasNoTrans ? j->a + (gsize) first * j->lda : j->a + first;

      cblas_sgemm (CblasRowMajor, j->trans_a, j->trans_b, last - first, j->n, j->k,
                   j->alpha, a, j->lda, j->b, j->ldb, j->beta, j->c + (gsize) first * j->ldc, j->ldc);
    }
  else
    {
      /* columns of op(B): B's columns, or B^T's (B's rows) */
      const float *b = j->trans_b == CblasNoTrans ? j->b + first : j->b + (gsize) first * j->ldb;

      cblas_sgemm (CblasRowMajor, j->trans_a, j->trans_b, j->m, last - first, j->k,
                   j->alpha, j->a, j->lda, b, j->ldb, j->beta, j->c + first, j->ldc);
    }
}

void
convolve_gemm (CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b,
               int m, int n, int k,
               float alpha, const float *a, int lda,
               const float *b, int ldb,
               float beta, float *c, int ldc)
{
  GemmJob job = { trans_a, trans_b, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c, m > n, 0 };
  guint64 macs = (guint64) MAX (m, 0) * (guint64) MAX (n, 0) * (guint64) MAX (k, 0);
  int tasks = 1;

  if (m <= 0 || n <= 0)
    return;
  job.units = ((job.split_rows ? m : n) + GEMM_BLOCK_ALIGN - 1) / GEMM_BLOCK_ALIGN;
  if (macs >= GEMM_PARALLEL_MIN_MACS)
    tasks = (int) MIN ((guint64) MIN (convolve_parallel_get_threads (), job.units),
                       macs / (GEMM_PARALLEL_MIN_MACS / 2));
  tasks = MAX (tasks, 1);
  if (tasks == 1)
    cblas_sgemm (CblasRowMajor, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    convolve_parallel_run (tasks, gemm_run, &job);
}

typedef struct {
  int          m, n, lda;
  const float *a, *x;
  float       *y;
  int          units;
} GemvJob;

static void
gemv_run (int task, int n_tasks, gpointer data)
{
  const GemvJob *j = data;
  gsize u0, u1;
  int first, last;

  convolve_parallel_range ((gsize) j->units, task, n_tasks, &u0, &u1);
  first = MIN (j->n, (int) u0 * GEMM_BLOCK_ALIGN);
  last = MIN (j->n, (int) u1 * GEMM_BLOCK_ALIGN);
  if (first < last)
    cblas_sgemv (CblasRowMajor, CblasTrans, j->m, last - first,
                 1.0f, j->a + first, j->lda, j->x, 1, 0.0f, j->y + first, 1);
}

void
convolve_gemv_t (int m, int n, const float *a, int lda, const float *x, float *y)
{
  GemvJob job = { m, n, lda, a, x, y, (n + GEMM_BLOCK_ALIGN - 1) / GEMM_BLOCK_ALIGN };
  guint64 macs = (guint64) MAX (m, 0) * (guint64) MAX (n, 0);
  int tasks = 1;

  if (m <= 0 || n <= 0)
    return;
  /* Memory-bound: each thread streams its columns of A. */
  if (macs >= GEMM_PARALLEL_MIN_MACS)
    tasks = MIN (convolve_parallel_get_threads (), job.units);
  if (tasks <= 1)
    cblas_sgemv (CblasRowMajor, CblasTrans, m, n, 1.0f, a, lda, x, 1, 0.0f, y, 1);
  else
    convolve_parallel_run (tasks, gemv_run, &job);
}

void
convolve_gemm_naive (CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b,
                     int m, int n, int k,
                     float alpha, const float *a, int lda,
                     const float *b, int ldb,
                     float beta, float *c, int ldc)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      {
        double s = 0.0;

        for (int p = 0; p < k; p++)
          {
            float av = trans_a == CblasNoTrans ? a[(gsize) i * lda + p] : a[(gsize) p * lda + i];
            float bv = trans_b == CblasNoTrans ? b[(gsize) p * ldb + j] : b[(gsize) j * ldb + p];

            s += (double) av * bv;
          }
        /* beta 0 ignores C, as BLAS does (it may hold NaN) */
        c[(gsize) i * ldc + j] = (float) (alpha * s + (beta != 0.0f ? (double) beta * c[(gsize) i * ldc + j] : 0.0));
      }
}
