/* convolve-model-editor.h: a window to edit a model's layers, with the
 * Keras-style summary updating as they change.
 *
 * It edits the spec text convolve-cli's --spec takes and hands it back
 * through "apply" only when the layers fit the input and the classes
 * (convolve_check_spec); the caller makes the model.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-train.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_MODEL_EDITOR (convolve_model_editor_get_type ())

G_DECLARE_FINAL_TYPE (ConvolveModelEditor, convolve_model_editor, CONVOLVE, MODEL_EDITOR, AdwWindow)

/* Edits spec_text (NULL or "": the tutorial's) for images of input and a
 * dataset of n_classes classes (0: any). */
ConvolveModelEditor *convolve_model_editor_new            (const char          *spec_text,
                                                           ConvolveShape        input,
                                                           int                  n_classes);

/* The layers now, as spec text. */
char                *convolve_model_editor_dup_spec_text  (ConvolveModelEditor *self);
/* Replaces the layers with those of text; FALSE with the parse error (the
 * layers stay as they were, and the error shows below the text). */
gboolean             convolve_model_editor_set_spec_text  (ConvolveModelEditor *self,
                                                           const char          *text,
                                                           GError             **error);
/* Whether the layers can be used: "Use Model" is refused otherwise. */
gboolean             convolve_model_editor_is_valid       (ConvolveModelEditor *self);
/* Why they cannot (NULL when they can), and the 0-based index of the layer
 * at fault (-1: none, or the model as a whole). */
const char          *convolve_model_editor_get_problem    (ConvolveModelEditor *self,
                                                           int                 *bad_layer);
int                  convolve_model_editor_get_n_layers   (ConvolveModelEditor *self);
/* What the list shows: the same as the buttons do. */
void                 convolve_model_editor_add_layer      (ConvolveModelEditor *self,
                                                           ConvolveLayerKind    kind);
void                 convolve_model_editor_remove_layer   (ConvolveModelEditor *self,
                                                           int                  index);
/* Moves layer index by delta places (-1: up), within the list. */
void                 convolve_model_editor_move_layer     (ConvolveModelEditor *self,
                                                           int                  index,
                                                           int                  delta);

G_END_DECLS
