/* convolve-activations-window.h: a window beside the main one with the
 * predictor's image as each layer sees it (ConvolveActivationsView).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-engine.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_ACTIVATIONS_WINDOW (convolve_activations_window_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveActivationsWindow, convolve_activations_window, CONVOLVE, ACTIVATIONS_WINDOW, AdwWindow)

GtkWidget *convolve_activations_window_new    (void);
/* model: just ran forward on the image called image_name (read during the
 * call only); NULL model: nothing to show (no image or no model). */
void       convolve_activations_window_update (ConvolveActivationsWindow *window,
                                               const ConvolveModel       *model,
                                               const char                *image_name);
GtkWidget *convolve_activations_window_get_view (ConvolveActivationsWindow *window);

G_END_DECLS
