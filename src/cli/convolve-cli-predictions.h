/* convolve-cli-predictions.h: printing predictions the one way the CLI's
 * commands do.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-engine.h"

G_BEGIN_DECLS

/* The model file's name for class index, else "class N" (newly allocated). */
char *convolve_cli_class_name        (const ConvolveModelMeta *meta,
                                      int                      index);
/* Prints the image's name, then its top classes, one "  name  0.1234" line
 * each; returns the most probable class (-1 when there are none). */
int   convolve_cli_print_top_classes (const char              *image,
                                      const float             *probabilities,
                                      int                      n_classes,
                                      int                      top,
                                      const ConvolveModelMeta *meta);

G_END_DECLS
