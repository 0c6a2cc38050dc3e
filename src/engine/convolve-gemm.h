/* convolve-gemm.h: the engine's matrix products, split over its threads.
 *
 * OpenBLAS runs on the calling thread only (convolve_engine_set_threads()
 * holds it at one thread); the engine's pool is the one place where work
 * is spread over cores. A product large enough to be worth it is cut into
 * blocks of rows or columns of C, one per engine thread, each a
 * single-threaded cblas_sgemm. So no OpenBLAS worker ever spins waiting
 * for the next product while the pool or the UI needs the core, and the
 * conv's runs of images, the fused Dense update and these products share
 * one set of threads, never more than asked for.
 *
 * Every element of C is computed by one call with the same inner
 * dimension as the whole product, so the result does not depend on the
 * thread count beyond what OpenBLAS's kernels do with a block's edges.
 * convolve_gemm_naive() is the reference the tests hold it to.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cblas.h>
#include <glib.h>

G_BEGIN_DECLS

/* C[m, n] = alpha op(A) op(B) + beta C, all row-major, as cblas_sgemm. */
void convolve_gemm (CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b,
                    int m, int n, int k,
                    float alpha, const float *a, int lda,
                    const float *b, int ldb,
                    float beta, float *c, int ldc);

/* y[n] = A^T x for a row-major A[m, n] (a Dense layer on one image). A
 * large one is summed in blocks of A's rows, their number set by the shape
 * alone, so it too gives the same numbers at every thread count. */
void convolve_gemv_t (int m, int n, const float *a, int lda, const float *x, float *y);

/* The same products by the textbook loops, in double precision. */
void convolve_gemm_naive (CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b,
                          int m, int n, int k,
                          float alpha, const float *a, int lda,
                          const float *b, int ldb,
                          float beta, float *c, int ldc);

G_END_DECLS
