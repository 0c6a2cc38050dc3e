/* convolve-predictor.h: drop, open or paste an image and see what the
 * model makes of it: the image as the network sees it and one bar per
 * class.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-engine.h"
#include "convolve-loaders.h"
#include "convolve-session.h"

G_BEGIN_DECLS

/* What the image shows: itself, or a map of why the model answers as it
 * does drawn over it (convolve-explain.h). */
typedef enum {
  CONVOLVE_PREDICTOR_VIEW_IMAGE,
  CONVOLVE_PREDICTOR_VIEW_SALIENCY,
  CONVOLVE_PREDICTOR_VIEW_GRAD_CAM,
} ConvolvePredictorView;

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
/* How a picture that has not the model's shape is fitted to it (cropped
 * or padded as an image folder's pictures are) when the session followed
 * has no image folder open: with one, the fit it was imported with
 * applies, as the model trained on it saw its pictures. CROP until set
 * (the window sets Preferences' image-folder-fit). The image shown is
 * decoded again when the fit that applies changes. */
void         convolve_predictor_set_fit    (ConvolvePredictor  *predictor,
                                            ConvolveImageFit    fit);
/* The fit that applies now. */
ConvolveImageFit convolve_predictor_get_fit (ConvolvePredictor *predictor);
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

/* The map over the image. Maps are computed off the main thread, again
 * whenever the weights, the image or the class change; "explained" is
 * emitted when one is shown (or why none can be). */
void         convolve_predictor_set_view   (ConvolvePredictor    *predictor,
                                            ConvolvePredictorView view);
ConvolvePredictorView convolve_predictor_get_view (ConvolvePredictor *predictor);
/* The class to explain (as clicking its bar does; switches from the plain
 * image to saliency); -1: the most probable one. */
void         convolve_predictor_set_explain_class (ConvolvePredictor *predictor,
                                                   int                class_index);
/* The class of the map shown, or -1 when none is. */
int          convolve_predictor_get_explained_class (ConvolvePredictor *predictor);
/* Opens the window of the layers' filters and feature maps for the image. */
void         convolve_predictor_show_activations (ConvolvePredictor *predictor);

/* For tests: the image view, the caption under it ("Saliency for cat" or
 * why there is no map) and the activations window (or NULL). */
GtkWidget   *convolve_predictor_get_image_view (ConvolvePredictor *predictor);
const char  *convolve_predictor_get_explain_text (ConvolvePredictor *predictor);
GtkWidget   *convolve_predictor_get_activations_window (ConvolvePredictor *predictor);
/* For tests: the bar of class_index, or NULL. */
GtkWidget   *convolve_predictor_get_bar    (ConvolvePredictor  *predictor,
                                            guint               class_index);

G_END_DECLS
