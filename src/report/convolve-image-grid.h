/* convolve-image-grid.h: dataset images in a grid with a caption under
 * each, such as top-losses.png: the test images the model got most wrong.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "convolve-dataset.h"
#include "convolve-evaluation.h"
#include "convolve-report.h"

G_BEGIN_DECLS

#define CONVOLVE_TOP_LOSSES_COUNT   25
#define CONVOLVE_TOP_LOSSES_COLUMNS 5
#define CONVOLVE_TOP_LOSSES_SCALE   4

/* The size of a grid of n_images images of dataset's shape. */
void             convolve_image_grid_get_size (const ConvolveDataset *dataset,
                                               guint                  n_images,
                                               int                    columns,
                                               int                    scale,
                                               int                   *width,
                                               int                   *height);

/* The images of dataset at indices, scaled up pixel-exact by scale (1 to
 * 16), columns to a row, each over its caption (up to two lines), on
 * background with the captions in foreground. NULL when there is nothing
 * to draw. */
cairo_surface_t *convolve_image_grid_render   (const ConvolveDataset     *dataset,
                                               const guint               *indices,
                                               const char * const        *captions,
                                               guint                      n_images,
                                               int                        columns,
                                               int                        scale,
                                               const ConvolveReportColor *foreground,
                                               const ConvolveReportColor *background);

/* The CONVOLVE_TOP_LOSSES_COUNT images of dataset (the one evaluation was
 * made on) with the highest loss, captioned "true → predicted
 * (confidence)", black on white. NULL without images. */
cairo_surface_t *convolve_top_losses_render   (const ConvolveEvaluation  *evaluation,
                                               const ConvolveDataset     *dataset,
                                               const char * const        *class_names);

G_END_DECLS
