/* convolve-predictor.h: drop, open or paste an image and see what the
 * model makes of it: the image as the network sees it and one bar per
 * class.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-engine.h"
#include "convolve-session.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_PREDICTOR (convolve_predictor_get_type ())
G_DECLARE_FINAL_TYPE (ConvolvePredictor, convolve_predictor, CONVOLVE, PREDICTOR, GtkWidget)

GtkWidget   *convolve_predictor_new        (void);
/* Takes ownership of model (a copy for prediction, max_batch >= 1, e.g.
 * convolve_model_copy (model, 1, &error)); class_names (NULL-terminated,
 * nullable) is copied. NULL model: no predictions. The current image is
 * predicted again (and decoded again if the input shape changed). */
void         convolve_predictor_set_model  (ConvolvePredictor  *predictor,
                                            ConvolveModel      *model,
                                            const char * const *class_names);
/* Predicts with the session's current weights and class names from now
 * on, following "weights-changed" (NULL: stop following). */
void         convolve_predictor_set_session (ConvolvePredictor *predictor,
                                             ConvolveSession   *session);
gboolean     convolve_predictor_has_model  (ConvolvePredictor  *predictor);
/* Decodes file off the main thread; on failure emits "error" and keeps
 * the previous image. */
void         convolve_predictor_open_file  (ConvolvePredictor  *predictor,
                                            GFile              *file);
/* The clipboard's image or image file. */
void         convolve_predictor_paste      (ConvolvePredictor  *predictor);
void         convolve_predictor_clear      (ConvolvePredictor  *predictor);
/* What a drop or paste hands over: a GdkFileList, GFile, GdkTexture or
 * ConvolveSampleRef. Returns FALSE (and emits "error") for anything else. */
gboolean     convolve_predictor_load_value (ConvolvePredictor  *predictor,
                                            const GValue       *value);
gboolean     convolve_predictor_has_image  (ConvolvePredictor  *predictor);
/* The current prediction: n_classes probabilities, or NULL. */
const float *convolve_predictor_get_probabilities (ConvolvePredictor *predictor,
                                                   guint             *n_classes);

/* For tests: the bar of class_index, or NULL. */
GtkWidget   *convolve_predictor_get_bar    (ConvolvePredictor  *predictor,
                                            guint               class_index);

G_END_DECLS
