/* test-rng.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "convolve-rng.h"

static void
test_rng_seed_determinism (void)
{
  ConvolveRng a, b, c;

  convolve_rng_init (&a, 42);
  convolve_rng_init (&b, 42);
  convolve_rng_init (&c, 43);
  for (int i = 0; i < 1000; i++)
    {
      uint64_t x = convolve_rng_next_u64 (&a);
      g_assert_cmpuint (x, ==, convolve_rng_next_u64 (&b));
      if (i == 0)
        g_assert_cmpuint (x, !=, convolve_rng_next_u64 (&c));
    }
}

static void
test_rng_uniform_range (void)
{
  ConvolveRng rng;
  double sum = 0;
  const int n = 100000;

  convolve_rng_init (&rng, 7);
  for (int i = 0; i < n; i++)
    {
      float u = convolve_rng_uniform (&rng);
      g_assert_cmpfloat (u, >=, 0.0f);
      g_assert_cmpfloat (u, <, 1.0f);
      sum += u;
    }
  /* mean of U(0,1) is 0.5, standard error 0.29/sqrt(n) ~ 0.0009 */
  g_assert_cmpfloat_with_epsilon (sum / n, 0.5, 0.005);
}

static void
test_rng_below_uniform (void)
{
  ConvolveRng rng;
  int counts[10] = { 0 };
  const int n = 100000;

  convolve_rng_init (&rng, 1);
  for (int i = 0; i < n; i++)
    {
      uint32_t v = convolve_rng_below (&rng, 10);
      g_assert_cmpuint (v, <, 10);
      counts[v]++;
    }
  for (int k = 0; k < 10; k++)
    g_assert_cmpint (ABS (counts[k] - n / 10), <, 500);
}

static void
test_rng_shuffle_permutation (void)
{
  ConvolveRng rng;
  uint32_t items[100];
  gboolean seen[100] = { FALSE };
  gboolean moved = FALSE;

  convolve_rng_init (&rng, 3);
  for (uint32_t i = 0; i < 100; i++)
    items[i] = i;
  convolve_rng_shuffle_u32 (&rng, items, 100);
  for (uint32_t i = 0; i < 100; i++)
    {
      g_assert_cmpuint (items[i], <, 100);
      g_assert_false (seen[items[i]]);
      seen[items[i]] = TRUE;
      moved |= items[i] != i;
    }
  g_assert_true (moved);
}

static void
test_rng_string_roundtrip (void)
{
  ConvolveRng a, b;
  g_autofree char *text = NULL;

  convolve_rng_init (&a, 99);
  convolve_rng_next_u64 (&a);
  text = convolve_rng_to_string (&a);
  g_assert_cmpuint (strlen (text), ==, 64);
  g_assert_true (convolve_rng_from_string (&b, text));
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);

  g_assert_false (convolve_rng_from_string (&b, NULL));
  g_assert_false (convolve_rng_from_string (&b, "abc"));
  g_assert_false (convolve_rng_from_string (&b, "zz00000000000000000000000000000000000000000000000000000000000000"));
  g_assert_false (convolve_rng_from_string (&b, "0000000000000000000000000000000000000000000000000000000000000000"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/rng/seed-determinism", test_rng_seed_determinism);
  g_test_add_func ("/engine/rng/uniform-range", test_rng_uniform_range);
  g_test_add_func ("/engine/rng/below-uniform", test_rng_below_uniform);
  g_test_add_func ("/engine/rng/shuffle-permutation", test_rng_shuffle_permutation);
  g_test_add_func ("/engine/rng/string-roundtrip", test_rng_string_roundtrip);
  return g_test_run ();
}
