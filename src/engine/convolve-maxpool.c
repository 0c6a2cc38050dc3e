/* convolve-maxpool.c: MaxPooling2D, pool x pool windows with stride pool,
 * 'valid' (trailing rows and columns that do not fill a window are dropped,
 * as Keras does). Planes are independent: a large pass is split into runs
 * of planes over the engine's threads (convolve-parallel.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-layers.h"

#include <string.h>

#include "convolve-parallel.h"

/* Passes over fewer input floats than this stay on the calling thread. */
#define MAXPOOL_PARALLEL_MIN_FLOATS (1 << 16)

typedef struct {
  float         *out, *din;
  int32_t       *argmax;
  const float   *in, *dout;
  const int32_t *c_argmax;
  int            h, w, pool;
  gsize          planes;
} MaxPoolJob;

static int
n_tasks_for (gsize planes, int h, int w)
{
  if (planes * (gsize) h * (gsize) w < MAXPOOL_PARALLEL_MIN_FLOATS)
    return 1;
  return (int) MIN ((gsize) convolve_parallel_get_threads (), planes);
}

/* The common 2x2 case, written so the compiler keeps it branch-free. */
static void
maxpool2_plane (float *restrict out, int32_t *restrict argmax,
                const float *restrict in, int h, int w)
{
  int oh = h / 2, ow = w / 2;

  for (int oy = 0; oy < oh; oy++)
    {
      const float *r0 = in + (size_t) (2 * oy) * w;
      const float *r1 = r0 + w;
      int base = 2 * oy * w;

      for (int ox = 0; ox < ow; ox++)
        {
          float a = r0[2 * ox], b = r0[2 * ox + 1];
          float c = r1[2 * ox], d = r1[2 * ox + 1];
          int32_t ia = base + 2 * ox;
          float m = a;
          int32_t im = ia;

          /* first maximum wins on ties, scanning row by row */
          if (b > m) { m = b; im = ia + 1; }
          if (c > m) { m = c; im = ia + w; }
          if (d > m) { m = d; im = ia + w + 1; }
          out[ox] = m;
          argmax[ox] = im;
        }
      out += ow;
      argmax += ow;
    }
}

static void
forward_run (int task, int n_tasks, gpointer data)
{
  const MaxPoolJob *j = data;
  int h = j->h, w = j->w, pool = j->pool, oh = h / pool, ow = w / pool;
  gsize first, last;

  convolve_parallel_range (j->planes, task, n_tasks, &first, &last);
  for (gsize p = first; p < last; p++)
    {
      const float *src = j->in + p * h * w;
      float *dst = j->out + p * oh * ow;
      int32_t *arg = j->argmax + p * oh * ow;

      if (pool == 2)
        {
          maxpool2_plane (dst, arg, src, h, w);
          continue;
        }
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          {
            int32_t best = (oy * pool) * w + ox * pool;
            float m = src[best];

            for (int ki = 0; ki < pool; ki++)
              for (int kj = 0; kj < pool; kj++)
                {
                  int32_t i = (oy * pool + ki) * w + ox * pool + kj;

                  if (src[i] > m)
                    {
                      m = src[i];
                      best = i;
                    }
                }
            dst[oy * ow + ox] = m;
            arg[oy * ow + ox] = best;
          }
    }
}

void
convolve_maxpool_forward (float *out, int32_t *argmax,
                          const float *in,
                          int batch, int channels, int h, int w, int pool)
{
  MaxPoolJob job = { .out = out, .argmax = argmax, .in = in, .h = h, .w = w, .pool = pool,
                     .planes = (gsize) batch * channels };

  convolve_parallel_run (n_tasks_for (job.planes, h, w), forward_run, &job);
}

static void
backward_run (int task, int n_tasks, gpointer data)
{
  const MaxPoolJob *j = data;
  int h = j->h, w = j->w, oh = h / j->pool, ow = w / j->pool;
  gsize first, last;

  convolve_parallel_range (j->planes, task, n_tasks, &first, &last);
  memset (j->din + first * h * w, 0, sizeof (float) * (last - first) * h * w);
  for (gsize p = first; p < last; p++)
    {
      float *dst = j->din + p * h * w;
      const float *d = j->dout + p * oh * ow;
      const int32_t *arg = j->c_argmax + p * oh * ow;

      for (int i = 0; i < oh * ow; i++)
        dst[arg[i]] += d[i];
    }
}

void
convolve_maxpool_backward (float *din,
                           const float *dout, const int32_t *argmax,
                           int batch, int channels, int h, int w, int pool)
{
  MaxPoolJob job = { .din = din, .dout = dout, .c_argmax = argmax, .h = h, .w = w, .pool = pool,
                     .planes = (gsize) batch * channels };

  convolve_parallel_run (n_tasks_for (job.planes, h, w), backward_run, &job);
}
