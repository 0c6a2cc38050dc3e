/* convolve-cli-predictions.c: how `predict` and `explain` print what the
 * model makes of an image, so scripts can read both the same way.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <stdio.h>

#include "convolve-cli-predictions.h"
#include "convolve-train.h"

char *
convolve_cli_class_name (const ConvolveModelMeta *meta,
                         int                      index)
{
  int n_names = meta != NULL && meta->class_names != NULL ? (int) g_strv_length (meta->class_names) : 0;

  if (index >= 0 && index < n_names)
    return g_strdup (meta->class_names[index]);
  return g_strdup_printf (_("class %d"), index);
}

int
convolve_cli_print_top_classes (const char              *image,
                                const float             *probabilities,
                                int                      n_classes,
                                int                      top,
                                const ConvolveModelMeta *meta)
{
  g_autofree int *best = g_new (int, MAX (n_classes, 1));
  int n_best = convolve_top_k (probabilities, n_classes, top, best);

  printf ("%s\n", image);
  for (int k = 0; k < n_best; k++)
    {
      g_autofree char *name = convolve_cli_class_name (meta, best[k]);
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      /* Figures with '.' whatever the locale: scripts read these lines. */
      printf ("  %-16s %s\n", name,
              g_ascii_formatd (buffer, sizeof buffer, "%.4f", probabilities[best[k]]));
    }
  return n_best > 0 ? best[0] : -1;
}
