/* convolve-gemm.c: matrix products cut into blocks of C over the engine's
 * threads (see convolve-gemm.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-gemm.h"

#include "convolve-model.h"
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

/* A large A^T x is cut along A's rows (the sum's terms) into this many
 * blocks at most, each worth at least GEMV_BLOCK_MACS: every thread then
 * streams its own contiguous part of A, where threads taking columns would
 * all read every row (on Zen 3, 1.4 ms against 0.95 ms for the tutorial's
 * 32 MB Dense kernel at 2 threads). The blocks' partial sums are added in
 * block order, and their number depends on the shape alone, so the result
 * does not depend on the thread count. */
#define GEMV_MAX_BLOCKS 8
#define GEMV_BLOCK_MACS (G_GUINT64_CONSTANT (1) << 20)

typedef struct {
  int          m, n, lda;
  const float *a, *x;
  float       *y;         /* block 0's sum, then the total */
  float       *partial;   /* blocks 1 .. n_blocks - 1, n floats each */
  int          n_blocks;
} GemvJob;

static void
gemv_block (const GemvJob *j, int block)
{
  gsize r0, r1;
  float *y = block == 0 ? j->y : j->partial + (gsize) (block - 1) * j->n;

  convolve_parallel_range ((gsize) j->m, block, j->n_blocks, &r0, &r1);
  cblas_sgemv (CblasRowMajor, CblasTrans, (int) (r1 - r0), j->n,
               1.0f, j->a + r0 * j->lda, j->lda, j->x + r0, 1, 0.0f, y, 1);
}

static void
gemv_run (int task, int n_tasks, gpointer data)
{
  const GemvJob *j = data;
  gsize b0, b1;

  convolve_parallel_range ((gsize) j->n_blocks, task, n_tasks, &b0, &b1);
  for (gsize b = b0; b < b1; b++)
    gemv_block (j, (int) b);
}

void
convolve_gemv_t (int m, int n, const float *a, int lda, const float *x, float *y)
{
  guint64 macs = (guint64) MAX (m, 0) * (guint64) MAX (n, 0);
  g_autofree float *partial = NULL;
  GemvJob job = { m, n, lda, a, x, y, NULL, 1 };

  if (m <= 0 || n <= 0)
    return;
  if (macs < GEMM_PARALLEL_MIN_MACS)
    {
      cblas_sgemv (CblasRowMajor, CblasTrans, m, n, 1.0f, a, lda, x, 1, 0.0f, y, 1);
      return;
    }
  job.n_blocks = (int) MIN ((guint64) MIN (GEMV_MAX_BLOCKS, m), macs / GEMV_BLOCK_MACS);
  job.partial = partial = g_new (float, (gsize) (job.n_blocks - 1) * n);
  convolve_parallel_run (MIN (convolve_parallel_get_threads (), job.n_blocks), gemv_run, &job);
  for (int b = 1; b < job.n_blocks; b++)
    {
      const float *restrict p = partial + (gsize) (b - 1) * n;

      for (int i = 0; i < n; i++)
        y[i] += p[i];
    }
}

typedef struct {
  const float *data;
  gsize        n;
  float        sums[CONVOLVE_PARALLEL_MAX_THREADS];
} ReadJob;

static void
read_run (int task, int n_tasks, gpointer data)
{
  ReadJob *j = data;
  gsize first, last;
  float sum = 0.0f;

  convolve_parallel_range (j->n, task, n_tasks, &first, &last);
  /* OpenBLAS's vector kernel (a dot product reads its operand once when
   * both are the same), in pieces an int can count */
  for (gsize i = first; i < last; i += G_MAXINT / 2)
    {
      int len = (int) MIN (last - i, (gsize) G_MAXINT / 2);

      sum += cblas_sdot (len, j->data + i, 1, j->data + i, 1);
    }
  j->sums[task] = sum;
}

double
convolve_engine_time_read (const float *data, gsize n, int repeats)
{
  ReadJob job = { data, n, { 0 } };
  int tasks;
  gint64 start = 0;

  g_return_val_if_fail (data != NULL || n == 0, 0.0);
  g_return_val_if_fail (repeats >= 1, 0.0);

  tasks = (int) MIN ((gsize) convolve_parallel_get_threads (), MAX (n / (GEMM_PARALLEL_MIN_MACS / 2), 1));
  for (int r = 0; r <= repeats; r++)
    {
      if (r == 1)
        start = g_get_monotonic_time ();
      convolve_parallel_run (tasks, read_run, &job);
    }
  return (double) (g_get_monotonic_time () - start) / repeats;
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
