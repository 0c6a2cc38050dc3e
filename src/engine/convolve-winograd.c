/* convolve-winograd.c: 3x3 convolutions by Winograd's F(2x2, 3x3); see
 * convolve-winograd.h for the method. The transforms are written as
 * passes over whole rows or planes so that GCC vectorises them, in copies
 * for AVX-512, AVX2 and any x86-64 (convolve-clones.h); the 16
 * products per image go to OpenBLAS, on the calling thread.
 *
 * The matrices (d a 4x4 input patch, g the 3x3 kernel, y a 2x2 output):
 *
 *   B^T = | 1  0 -1  0 |   G = | 1    0    0   |   A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |       | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
 *         | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |       | 0    0    1   |
 *
 * Transformed tiles are stored element-major: plane e = 4 i + j of V holds
 * element (i, j) of every channel's every tile, [16][channels][tiles], so
 * each product is one row-major GEMM over contiguous planes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-winograd.h"

#include <cblas.h>
#include <string.h>

#include "convolve-clones.h"
#include "convolve-layers.h"

/* Where the 16 products win over im2col's one, measured per layer shape
 * (`convolve-cli bench --profile`): from 8 input channels on; below that
 * the products are too thin. */
#define MIN_CHANNELS 8

gboolean
convolve_winograd_applies (int in_c, int out_c, int kernel_size)
{
  return kernel_size == 3 && in_c >= MIN_CHANNELS && out_c >= 1;
}

static size_t
round16 (size_t n)
{
  return (n + 15) / 16 * 16;
}

/* Floats from one plane to the next: a plane of a power of two floats
 * (32 channels of 16x16 tiles) would put all 16 at the same cache sets, and
 * every transform reads or writes the 16 at once. */
static size_t
plane_stride (size_t n)
{
  return round16 (n) + 16;
}

void
convolve_winograd_layout (ConvolveWinogradLayout *l, int in_c, int h, int w, int out_c, int pad)
{
  size_t kernels = (size_t) out_c * in_c;
  size_t image, grad;

  l->oh = h + 2 * pad - 2;
  l->ow = w + 2 * pad - 2;
  l->th = (l->oh + 1) / 2;
  l->tw = (l->ow + 1) / 2;
  l->tiles = l->th * l->tw;
  l->hp = 2 * l->th + 2;
  l->wp = 2 * l->tw + 2;
  image = (size_t) in_c * l->hp * l->wp;
  grad = (size_t) out_c * 4 * l->tiles;

  l->kernel_stride = plane_stride (kernels);
  l->in_stride = plane_stride ((size_t) in_c * l->tiles);
  l->out_stride = plane_stride ((size_t) out_c * l->tiles);
  l->kernel_planes = 16 * l->kernel_stride;
  l->u = 0;
  l->du = l->u + l->kernel_planes;
  l->dbias = l->du + l->kernel_planes;
  l->padded = l->dbias + round16 ((size_t) out_c);
  l->rows = l->padded + round16 (MAX (image, grad));
  l->v = l->rows + round16 (4 * (size_t) l->wp);
  /* each big enough for either side's planes: the transforms back write
   * out of place, into the other */
  l->m = l->v + 16 * plane_stride ((size_t) MAX (in_c, out_c) * l->tiles);
  l->size = l->m + 16 * plane_stride ((size_t) MAX (in_c, out_c) * l->tiles);
}

size_t
convolve_winograd_workspace_size (int in_c, int h, int w, int out_c, int pad)
{
  ConvolveWinogradLayout l;

  convolve_winograd_layout (&l, in_c, h, w, out_c, pad);
  return l.size;
}

/* U[e][o][c] = (G g G^T)[i][j] for every kernel g = kernel[o][c]. */
CONVOLVE_CLONES static void
transform_kernel (float *restrict u, const float *restrict kernel, int in_c, int out_c)
{
  size_t n = (size_t) out_c * in_c, plane = plane_stride (n);

  for (size_t k = 0; k < n; k++)
    {
      const float *g = kernel + 9 * k;
      float t[4][3];

      for (int j = 0; j < 3; j++)
        {
          t[0][j] = g[j];
          t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
          t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
          t[3][j] = g[6 + j];
        }
      for (int i = 0; i < 4; i++)
        {
          u[(4 * i + 0) * plane + k] = t[i][0];
          u[(4 * i + 1) * plane + k] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
          u[(4 * i + 2) * plane + k] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
          u[(4 * i + 3) * plane + k] = t[i][2];
        }
    }
}

void
convolve_winograd_prepare (float *workspace, const float *kernel,
                           int in_c, int h, int w, int out_c, int pad)
{
  ConvolveWinogradLayout l;

  convolve_winograd_layout (&l, in_c, h, w, out_c, pad);
  transform_kernel (workspace + l.u, kernel, in_c, out_c);
}

/* The image at (pad, pad) in zeros, [in_c][hp][wp]. */
static void
pad_image (float *restrict padded, const float *restrict image,
           int in_c, int h, int w, int pad, const ConvolveWinogradLayout *l)
{
  memset (padded, 0, sizeof (float) * (size_t) in_c * l->hp * l->wp);
  for (int c = 0; c < in_c; c++)
    for (int y = 0; y < h; y++)
      memcpy (padded + ((size_t) c * l->hp + y + pad) * l->wp + pad,
              image + ((size_t) c * h + y) * w, sizeof (float) * (size_t) w);
}

/* V = B^T d B for every 4x4 patch of the padded image: the rows' part over
 * whole padded rows, then the columns' part tile by tile. */
CONVOLVE_CLONES static void
transform_input (float *restrict v, float *restrict rows, const float *restrict padded,
                 int in_c, const ConvolveWinogradLayout *l)
{
  size_t n = (size_t) in_c * l->tiles, plane = plane_stride (n);
  int wp = l->wp;

  for (int c = 0; c < in_c; c++)
    for (int ty = 0; ty < l->th; ty++)
      {
        const float *r0 = padded + ((size_t) c * l->hp + 2 * ty) * wp;
        const float *r1 = r0 + wp, *r2 = r1 + wp, *r3 = r2 + wp;
        float *t0 = rows, *t1 = rows + wp, *t2 = rows + 2 * wp, *t3 = rows + 3 * wp;
        size_t at = (size_t) c * l->tiles + (size_t) ty * l->tw;

        for (int x = 0; x < wp; x++)
          {
            t0[x] = r0[x] - r2[x];
            t1[x] = r1[x] + r2[x];
            t2[x] = r2[x] - r1[x];
            t3[x] = r1[x] - r3[x];
          }
        for (int i = 0; i < 4; i++)
          {
            const float *t = rows + (size_t) i * wp;
            float *restrict v0 = v + (4 * i + 0) * plane + at;
            float *restrict v1 = v + (4 * i + 1) * plane + at;
            float *restrict v2 = v + (4 * i + 2) * plane + at;
            float *restrict v3 = v + (4 * i + 3) * plane + at;

            for (int tx = 0; tx < l->tw; tx++)
              {
                float a = t[2 * tx], b = t[2 * tx + 1], c2 = t[2 * tx + 2], d = t[2 * tx + 3];

                v0[tx] = a - c2;
                v1[tx] = b + c2;
                v2[tx] = c2 - b;
                v3[tx] = b - d;
              }
          }
      }
}

static inline float
activate (float x, ConvolveActivation activation)
{
  return activation == CONVOLVE_ACTIVATION_RELU && !(x > 0.0f) ? 0.0f : x;
}

/* Y = A^T m A for every tile: planes 0-3 of y become the tiles' outputs
 * (0, 0), (0, 1), (1, 0), (1, 1); then into out with the bias and the
 * activation, dropping what lies past a ragged edge. */
CONVOLVE_CLONES static void
transform_output (float *restrict out, float *restrict y, const float *restrict m,
                  const float *restrict bias,
                  int out_c, const ConvolveWinogradLayout *l, ConvolveActivation activation)
{
  size_t n = (size_t) out_c * l->tiles, plane = plane_stride (n);
  int pairs = l->ow / 2;

  for (size_t k = 0; k < n; k++)
    {
      float s0[4], s1[4];

      for (int j = 0; j < 4; j++)
        {
          float m0 = m[(0 + j) * plane + k], m1 = m[(4 + j) * plane + k];
          float m2 = m[(8 + j) * plane + k], m3 = m[(12 + j) * plane + k];

          s0[j] = m0 + m1 + m2;
          s1[j] = m1 - m2 - m3;
        }
      y[0 * plane + k] = s0[0] + s0[1] + s0[2];
      y[1 * plane + k] = s0[1] - s0[2] - s0[3];
      y[2 * plane + k] = s1[0] + s1[1] + s1[2];
      y[3 * plane + k] = s1[1] - s1[2] - s1[3];
    }

  for (int o = 0; o < out_c; o++)
    for (int ty = 0; ty < l->th; ty++)
      for (int i = 0; i < 2 && 2 * ty + i < l->oh; i++)
        {
          size_t at = (size_t) o * l->tiles + (size_t) ty * l->tw;
          const float *restrict y0 = y + (2 * i) * plane + at;
          const float *restrict y1 = y + (2 * i + 1) * plane + at;
          float *restrict row = out + ((size_t) o * l->oh + 2 * ty + i) * l->ow;
          float b = bias[o];

          for (int tx = 0; tx < pairs; tx++)
            {
              row[2 * tx] = activate (y0[tx] + b, activation);
              row[2 * tx + 1] = activate (y1[tx] + b, activation);
            }
          if (l->ow % 2 != 0)
            row[2 * pairs] = activate (y0[pairs] + b, activation);
        }
}

void
convolve_winograd_forward_image (float *out, float *workspace,
                                 const float *image, const float *bias,
                                 int in_c, int h, int w, int out_c, int pad,
                                 ConvolveActivation activation)
{
  ConvolveWinogradLayout l;
  const float *u;
  float *v, *m;
  int t;

  convolve_winograd_layout (&l, in_c, h, w, out_c, pad);
  u = workspace + l.u;
  v = workspace + l.v;
  m = workspace + l.m;
  t = l.tiles;

  pad_image (workspace + l.padded, image, in_c, h, w, pad, &l);
  transform_input (v, workspace + l.rows, workspace + l.padded, in_c, &l);
  for (int e = 0; e < 16; e++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, out_c, t, in_c,
                 1.0f, u + e * l.kernel_stride, in_c, v + e * l.in_stride, t,
                 0.0f, m + e * l.out_stride, t);
  transform_output (out, v, m, bias, out_c, &l, activation);
}

/* W = A dY A^T for one row of tiles, from the rows d0 and d1 of dY. */
CONVOLVE_CLONES static void
gradient_row (float *restrict wy, size_t plane, const float *restrict d0,
              const float *restrict d1, int tw)
{
  float *restrict w[16];

  for (int e = 0; e < 16; e++)
    w[e] = wy + (size_t) e * plane;
  for (int tx = 0; tx < tw; tx++)
    {
      float p0 = d0[2 * tx], q0 = d0[2 * tx + 1];
      float p1 = d1[2 * tx], q1 = d1[2 * tx + 1];
      /* A's rows (1 0), (1 1), (1 -1), (0 -1) on both sides */
      float p[4] = { p0, p0 + p1, p0 - p1, -p1 };
      float q[4] = { q0, q0 + q1, q0 - q1, -q1 };

      for (int i = 0; i < 4; i++)
        {
          w[4 * i + 0][tx] = p[i];
          w[4 * i + 1][tx] = p[i] + q[i];
          w[4 * i + 2][tx] = p[i] - q[i];
          w[4 * i + 3][tx] = -q[i];
        }
    }
}

/* W for every tile's 2x2 output gradient dY (zeros past a ragged edge),
 * [16][out_c][tiles]. */
static void
transform_gradient (float *wy, float *padded_d, const float *d,
                    int out_c, const ConvolveWinogradLayout *l)
{
  size_t n = (size_t) out_c * l->tiles, plane = plane_stride (n);
  int dh = 2 * l->th, dw = 2 * l->tw;

  if (dh != l->oh || dw != l->ow)
    {
      memset (padded_d, 0, sizeof (float) * (size_t) out_c * dh * dw);
      for (int o = 0; o < out_c; o++)
        for (int y = 0; y < l->oh; y++)
          memcpy (padded_d + ((size_t) o * dh + y) * dw, d + ((size_t) o * l->oh + y) * l->ow,
                  sizeof (float) * (size_t) l->ow);
      d = padded_d;
    }
  for (int o = 0; o < out_c; o++)
    for (int ty = 0; ty < l->th; ty++)
      {
        const float *d0 = d + ((size_t) o * dh + 2 * ty) * dw;

        gradient_row (wy + (size_t) o * l->tiles + (size_t) ty * l->tw, plane, d0, d0 + dw, l->tw);
      }
}

/* (o0 o1 o2 o3) = B x (i0 i1 i2 i3) elementwise over n: the columns of
 * B^T are (1 0 0 0), (0 1 -1 1), (-1 1 1 0), (0 0 0 -1). */
static inline void
times_b (float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3,
         const float *restrict i0, const float *restrict i1, const float *restrict i2,
         const float *restrict i3, size_t n)
{
  for (size_t k = 0; k < n; k++)
    {
      float a0 = i0[k], a1 = i1[k], a2 = i2[k], a3 = i3[k];

      o0[k] = a0;
      o1[k] = a1 - a2 + a3;
      o2[k] = a1 + a2 - a0;
      o3[k] = -a3;
    }
}

/* din = the sum over patches of B dP B^T, each added back where its patch
 * was read, then cut out of the padding. dp is overwritten, gp is room
 * for as many planes. */
CONVOLVE_CLONES static void
transform_input_gradient (float *din, float *restrict gp, float *restrict dp,
                          float *restrict padded,
                          int in_c, int h, int w, int pad, const ConvolveWinogradLayout *l)
{
  size_t n = (size_t) in_c * l->tiles, plane = plane_stride (n);
  int wp = l->wp;

  /* B . into gp, one column of the tiles at a time, then . B^T back into
   * dp, one row at a time */
  for (int j = 0; j < 4; j++)
    times_b (gp + (0 + j) * plane, gp + (4 + j) * plane, gp + (8 + j) * plane, gp + (12 + j) * plane,
             dp + (0 + j) * plane, dp + (4 + j) * plane, dp + (8 + j) * plane, dp + (12 + j) * plane, n);
  for (int a = 0; a < 4; a++)
    times_b (dp + (4 * a + 0) * plane, dp + (4 * a + 1) * plane, dp + (4 * a + 2) * plane,
             dp + (4 * a + 3) * plane, gp + (4 * a + 0) * plane, gp + (4 * a + 1) * plane,
             gp + (4 * a + 2) * plane, gp + (4 * a + 3) * plane, n);

  memset (padded, 0, sizeof (float) * (size_t) in_c * l->hp * wp);
  for (int c = 0; c < in_c; c++)
    for (int ty = 0; ty < l->th; ty++)
      for (int a = 0; a < 4; a++)
        {
          float *restrict row = padded + ((size_t) c * l->hp + 2 * ty + a) * wp;
          size_t at = (size_t) c * l->tiles + (size_t) ty * l->tw;
          const float *restrict g0 = dp + (4 * a + 0) * plane + at;
          const float *restrict g1 = dp + (4 * a + 1) * plane + at;
          const float *restrict g2 = dp + (4 * a + 2) * plane + at;
          const float *restrict g3 = dp + (4 * a + 3) * plane + at;

          /* a tile's last two columns are the next one's first two */
          for (int tx = 0; tx < l->tw; tx++)
            {
              row[2 * tx] += g0[tx];
              row[2 * tx + 1] += g1[tx];
            }
          for (int tx = 0; tx < l->tw; tx++)
            {
              row[2 * tx + 2] += g2[tx];
              row[2 * tx + 3] += g3[tx];
            }
        }

  for (int c = 0; c < in_c; c++)
    for (int y = 0; y < h; y++)
      memcpy (din + ((size_t) c * h + y) * w, padded + ((size_t) c * l->hp + y + pad) * wp + pad,
              sizeof (float) * (size_t) w);
}

void
convolve_winograd_backward_image (float *din, float *workspace,
                                  const float *image, const float *d,
                                  int in_c, int h, int w, int out_c, int pad,
                                  int accumulate_dU)
{
  ConvolveWinogradLayout l;
  const float *u;
  float *v, *wy, *du;
  int t;

  convolve_winograd_layout (&l, in_c, h, w, out_c, pad);
  u = workspace + l.u;
  du = workspace + l.du;
  v = workspace + l.v;
  wy = workspace + l.m;
  t = l.tiles;

  transform_gradient (wy, workspace + l.padded, d, out_c, &l);
  if (accumulate_dU >= 0)
    {
      /* dU[e] (+)= W[e] x V[e]^T */
      pad_image (workspace + l.padded, image, in_c, h, w, pad, &l);
      transform_input (v, workspace + l.rows, workspace + l.padded, in_c, &l);
      for (int e = 0; e < 16; e++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, out_c, in_c, t,
                     1.0f, wy + e * l.out_stride, t, v + e * l.in_stride, t,
                     accumulate_dU ? 1.0f : 0.0f, du + e * l.kernel_stride, in_c);
    }
  if (din == NULL)
    return;
  /* dP[e] = U[e]^T x W[e], in V's place */
  for (int e = 0; e < 16; e++)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, in_c, t, out_c,
                 1.0f, u + e * l.kernel_stride, in_c, wy + e * l.out_stride, t,
                 0.0f, v + e * l.in_stride, t);
  transform_input_gradient (din, wy, v, workspace + l.padded, in_c, h, w, pad, &l);
}

void
convolve_winograd_kernel_gradient (float *dkernel, const float *du, int in_c, int out_c)
{
  size_t n = (size_t) out_c * in_c, plane = plane_stride (n);

  /* G^T . G: columns of G are (1 1/2 1/2 0), (0 1/2 -1/2 0), (0 1/2 1/2 1). */
  for (size_t k = 0; k < n; k++)
    {
      float hh[3][4];
      float *g = dkernel + 9 * k;

      for (int j = 0; j < 4; j++)
        {
          float a0 = du[(0 + j) * plane + k], a1 = du[(4 + j) * plane + k];
          float a2 = du[(8 + j) * plane + k], a3 = du[(12 + j) * plane + k];

          hh[0][j] = a0 + 0.5f * (a1 + a2);
          hh[1][j] = 0.5f * (a1 - a2);
          hh[2][j] = 0.5f * (a1 + a2) + a3;
        }
      for (int a = 0; a < 3; a++)
        {
          g[3 * a + 0] = hh[a][0] + 0.5f * (hh[a][1] + hh[a][2]);
          g[3 * a + 1] = 0.5f * (hh[a][1] - hh[a][2]);
          g[3 * a + 2] = 0.5f * (hh[a][1] + hh[a][2]) + hh[a][3];
        }
    }
}
