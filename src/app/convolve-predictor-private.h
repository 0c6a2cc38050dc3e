/* convolve-predictor-private.h: the predictor's state, shared by the
 * files that implement it by concern (convolve-predictor.c: images in,
 * prediction and bars; convolve-predictor-explain.c: saliency and
 * Grad-CAM maps over the image, and the activations window).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-predictor.h"
#include "convolve-sample-grid.h"
#include "convolve-train.h"

G_BEGIN_DECLS

typedef enum {
  SOURCE_FILE,
  SOURCE_BYTES,   /* an encoded image: a dropped or pasted texture */
  SOURCE_SAMPLE,  /* a dataset image dragged from the sample grid */
} SourceKind;

/* Where the current image came from, kept so it can be decoded again when
 * the model's input shape changes. */
typedef struct {
  SourceKind         kind;
  GFile             *file;
  GBytes            *bytes;
  ConvolveSampleRef *sample;
  char              *display_name;
} ImageSource;

typedef struct {
  ImageSource     *source;
  ConvolveShape    shape;
  ConvolveImageFit fit;
  float           *input;
  guint8          *preview;
} LoadData;

struct _ConvolvePredictor
{
  GtkWidget             parent_instance;

  /* template (every direct child bound, so dispose_template unparents it) */
  GtkWidget            *toolbar;
  GtkWidget            *stack;
  GtkWidget            *result_stack;
  GtkWidget            *image_view;
  GtkWidget            *input_label;
  GtkWidget            *source_label;
  GtkWidget            *bars;
  GtkWidget            *view_dropdown;
  GtkWidget            *explain_label;
  GtkWidget            *legend;
  GtkWidget            *legend_scale;

  ConvolveSession      *session;       /* followed, or NULL */
  ConvolveModel        *model;         /* the session's, or owned */
  gboolean              owns_model;
  char                **class_names;
  guint                 n_classes;
  GPtrArray            *bar_names;     /* GtkLabel per class */
  GPtrArray            *bar_widgets;   /* GtkProgressBar per class */
  GPtrArray            *bar_values;    /* GtkLabel per class */

  ImageSource          *source;        /* of the image shown, or NULL */
  ConvolveShape         input_shape;   /* of input/preview */
  ConvolveImageFit      input_fit;     /* of input/preview */
  ConvolveImageFit      load_fit;      /* of the load under way */
  ConvolveImageFit      fit;           /* without an image folder's own: Preferences' */
  float                *input;
  guint8               *preview;
  float                *probabilities; /* n_classes, or NULL */

  GCancellable         *load_cancellable;
  GCancellable         *paste_cancellable;
  GtkFileChooserNative *chooser;

  /* why this answer (convolve-predictor-explain.c) */
  ConvolvePredictorView explain_view;
  int                   explain_class;      /* chosen by a click, or -1: the top class */
  guint                 explain_generation; /* bumped whenever what the map depends on changes */
  ConvolveModel        *explain_model;      /* private copy; NULL while a worker has it */
  gboolean              explain_model_stale;
  gboolean              explain_busy;
  int                   explained_class;    /* of the map shown, or -1 */
  GCancellable         *explain_cancellable;
  gboolean              explain_disposed;

  GtkWidget            *activations_window; /* or NULL */
};

void _convolve_predictor_emit_explained (ConvolvePredictor *self);
void _convolve_predictor_explain_init     (ConvolvePredictor *self);
void _convolve_predictor_explain_dispose  (ConvolvePredictor *self);
void _convolve_predictor_explain_finalize (ConvolvePredictor *self);
/* The weights changed (the private copy must be refreshed). */
void _convolve_predictor_explain_weights_changed (ConvolvePredictor *self);
/* A prediction was shown, or the image cleared: maps and activations
 * follow. */
void _convolve_predictor_explain_update   (ConvolvePredictor *self);
/* Makes a class's row in the bars choose that class when clicked. */
void _convolve_predictor_explain_watch_bar (ConvolvePredictor *self,
                                            GtkWidget         *widget,
                                            guint              class_index);
/* Marks the explained class's row. */
void _convolve_predictor_explain_mark_bars (ConvolvePredictor *self);

G_END_DECLS
