/* convolve-activations-view.h: what the layers make of one image, as
 * ConvNetJS shows it: the first convolution's filters as small colour
 * tiles, and every Conv2D, BatchNormalization and MaxPooling2D layer's
 * feature maps as grey tiles under the layer's name and shape.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-engine.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_ACTIVATIONS_VIEW (convolve_activations_view_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveActivationsView, convolve_activations_view, CONVOLVE, ACTIVATIONS_VIEW, GtkWidget)

GtkWidget *convolve_activations_view_new       (void);
/* Shows the filters of model and the layer outputs of its last forward
 * pass (image 0, convolve_model_get_layer_output), copied: the model is
 * only read during the call. NULL clears. The tiles are rebuilt only when
 * the layers change, so following training just repaints them. */
void       convolve_activations_view_set_model (ConvolveActivationsView *view,
                                                const ConvolveModel     *model);
/* Whether anything is shown. */
gboolean   convolve_activations_view_is_empty  (ConvolveActivationsView *view);

/* For tests. Section 0 is the filters when the model has a convolution,
 * then one section per layer shown; layer_index is the model's (for the
 * filters, the convolution's). */
guint      convolve_activations_view_get_n_sections (ConvolveActivationsView *view);
gboolean   convolve_activations_view_get_section    (ConvolveActivationsView *view,
                                                     guint                    section,
                                                     int                     *layer_index,
                                                     gboolean                *is_filters,
                                                     guint                   *n_tiles);
/* The tile's planar pixels as drawn (channels x height x width), or NULL. */
const guint8 *convolve_activations_view_get_tile    (ConvolveActivationsView *view,
                                                     guint                    section,
                                                     guint                    tile,
                                                     int                     *channels,
                                                     int                     *height,
                                                     int                     *width);

G_END_DECLS
