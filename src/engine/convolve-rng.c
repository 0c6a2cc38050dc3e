/* convolve-rng.c: xoshiro256** (Blackman and Vigna), seeded by splitmix64.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-rng.h"

#include <string.h>

static uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

void
convolve_rng_init (ConvolveRng *rng, uint64_t seed)
{
  uint64_t x = seed;

  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

uint64_t
convolve_rng_next_u64 (ConvolveRng *rng)
{
  uint64_t *s = rng->s;
  uint64_t result = rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);

  return result;
}

float
convolve_rng_uniform (ConvolveRng *rng)
{
  return (float) (convolve_rng_next_u64 (rng) >> 40) * (1.0f / 16777216.0f);
}

uint32_t
convolve_rng_below (ConvolveRng *rng, uint32_t bound)
{
  /* Lemire's multiply-and-reject: unbiased without a division per draw. */
  uint64_t m = (convolve_rng_next_u64 (rng) >> 32) * (uint64_t) bound;
  uint32_t low = (uint32_t) m;

  g_return_val_if_fail (bound > 0, 0);

  if (low < bound)
    {
      uint32_t threshold = (uint32_t) (-bound) % bound;

      while (low < threshold)
        {
          m = (convolve_rng_next_u64 (rng) >> 32) * (uint64_t) bound;
          low = (uint32_t) m;
        }
    }

  return (uint32_t) (m >> 32);
}

void
convolve_rng_shuffle_u32 (ConvolveRng *rng, uint32_t *items, size_t n)
{
  for (size_t i = n; i > 1; i--)
    {
      uint32_t j = convolve_rng_below (rng, (uint32_t) i);
      uint32_t tmp = items[i - 1];

      items[i - 1] = items[j];
      items[j] = tmp;
    }
}

char *
convolve_rng_to_string (const ConvolveRng *rng)
{
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x"
                          "%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                          (guint64) rng->s[0], (guint64) rng->s[1],
                          (guint64) rng->s[2], (guint64) rng->s[3]);
}

gboolean
convolve_rng_from_string (ConvolveRng *rng, const char *text)
{
  ConvolveRng parsed;

  if (text == NULL || strlen (text) != 64)
    return FALSE;

  for (int i = 0; i < 4; i++)
    {
      uint64_t v = 0;

      for (int k = 0; k < 16; k++)
        {
          int d = g_ascii_xdigit_value (text[i * 16 + k]);

          if (d < 0)
            return FALSE;
          v = (v << 4) | (uint64_t) d;
        }
      parsed.s[i] = v;
    }

  if ((parsed.s[0] | parsed.s[1] | parsed.s[2] | parsed.s[3]) == 0)
    return FALSE; /* the all-zero state is a fixed point of xoshiro */

  *rng = parsed;
  return TRUE;
}
