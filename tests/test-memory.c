/* test-memory.c: the engine's float buffers are zeroed and aligned, a
 * size beyond counting is refused, and on Linux a large buffer carries the
 * huge-page advice (the "hg" flag of its mapping in /proc/self/smaps).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "convolve-memory.h"

static gboolean
all_zero (const float *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (p[i] != 0.0f)
      return FALSE;
  return TRUE;
}

static void
test_small_and_large (void)
{
  const gsize sizes[] = { 0, 1, 17, 4096, CONVOLVE_MEMORY_HUGE_BYTES / sizeof (float) - 1,
                          CONVOLVE_MEMORY_HUGE_BYTES / sizeof (float) + 5 };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      float *p = convolve_memory_alloc_floats (sizes[i]);

      g_assert_nonnull (p);
      g_assert_cmpuint ((guintptr) p % 64, ==, 0);
      g_assert_true (all_zero (p, MAX (sizes[i], 1)));
      if (sizes[i] * sizeof (float) >= CONVOLVE_MEMORY_HUGE_BYTES)
        g_assert_cmpuint ((guintptr) p % (2 << 20), ==, 0);
      /* the whole buffer is writable */
      memset (p, 0xff, MAX (sizes[i], 1) * sizeof (float));
      free (p);
    }
  g_assert_null (convolve_memory_alloc_floats (G_MAXSIZE / 2));
  g_assert_null (convolve_memory_alloc_floats (G_MAXSIZE));
}

/* The VmFlags of the mapping holding address, or NULL. */
static char *
mapping_flags (gconstpointer address)
{
  g_autofree char *smaps = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean inside = FALSE;

  if (!g_file_get_contents ("/proc/self/smaps", &smaps, NULL, NULL))
    return NULL;
  lines = g_strsplit (smaps, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      guint64 start, end;
      char *dash, *rest;

      if (g_ascii_isxdigit (lines[i][0]) && (dash = strchr (lines[i], '-')) != NULL)
        {
          start = g_ascii_strtoull (lines[i], NULL, 16);
          end = g_ascii_strtoull (dash + 1, &rest, 16);
          inside = (guintptr) address >= start && (guintptr) address < end;
        }
      else if (inside && g_str_has_prefix (lines[i], "VmFlags:"))
        return g_strdup (lines[i] + strlen ("VmFlags:"));
    }
  return NULL;
}

static void
test_huge_page_advice (void)
{
#ifdef __linux__
  g_autofree char *setting = NULL;
  g_autofree char *flags = NULL;
  g_auto(GStrv) words = NULL;
  gsize n = 3 * CONVOLVE_MEMORY_HUGE_BYTES / sizeof (float);
  float *p;

  if (!g_file_get_contents ("/sys/kernel/mm/transparent_hugepage/enabled", &setting, NULL, NULL)
      || strstr (setting, "[never]") != NULL)
    {
      g_test_skip ("this kernel has no transparent huge pages");
      return;
    }
  p = convolve_memory_alloc_floats (n);
  g_assert_nonnull (p);
  flags = mapping_flags (p);
  g_assert_nonnull (flags);
  words = g_strsplit_set (g_strstrip (flags), " ", -1);
  g_assert_true (g_strv_contains ((const char * const *) words, "hg"));
  free (p);
#else
  g_test_skip ("huge pages are asked for on Linux only");
#endif
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/memory/small-and-large", test_small_and_large);
  g_test_add_func ("/engine/memory/huge-page-advice", test_huge_page_advice);
  return g_test_run ();
}
