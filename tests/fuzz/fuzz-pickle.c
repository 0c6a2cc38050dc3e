/* fuzz-pickle.c: the restricted pickle machine alone, in memory (faster
 * than through files), and every value it makes walked once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-pickle.h"
#include "fuzz-common.h"

/* Values may be shared (the memo), so a walk is bounded by a budget of
 * visits, not by the size of the tree it would unfold to. */
static void
walk (ConvolvePickle            *pickle,
      const ConvolvePickleValue *value,
      int                        depth,
      guint                     *budget)
{
  if (depth > 64 || *budget == 0)
    return;
  (*budget)--;
  if (convolve_pickle_value_is_string (value) || value->kind == CONVOLVE_PICKLE_NDARRAY)
    {
      g_autoptr(GBytes) bytes = convolve_pickle_value_dup_bytes (pickle, value);

      g_assert (bytes != NULL);
    }
  if (value->items != NULL && value->kind != CONVOLVE_PICKLE_NDARRAY)
    for (guint i = 0; i < value->items->len; i++)
      walk (pickle, convolve_pickle_value_get_item (value, i), depth + 1, budget);
  if (value->kind == CONVOLVE_PICKLE_DICT)
    (void) convolve_pickle_value_lookup (value, "data");
}

int
CONVOLVE_FUZZ_ENTRY (const uint8_t *data,
                     size_t         size)
{
  g_autoptr(GBytes) contents = g_bytes_new (data, size);
  g_autoptr(ConvolvePickle) pickle = NULL;
  g_autoptr(GError) error = NULL;
  guint budget = 100000;

  convolve_fuzz_init ();
  pickle = convolve_pickle_load (contents, "fuzz.pickle", &error);
  if (pickle == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  walk (pickle, convolve_pickle_get_root (pickle), 0, &budget);
  return 0;
}
