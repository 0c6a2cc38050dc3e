/* convolve-sample-view.h: one dataset sample, large, with its label,
 * (when there is a model) what the model predicts for it, and what
 * augmentation makes of it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-augment-strip.h"
#include "convolve-dataset.h"
#include "convolve-session.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_SAMPLE_VIEW (convolve_sample_view_get_type ())

G_DECLARE_FINAL_TYPE (ConvolveSampleView, convolve_sample_view, CONVOLVE, SAMPLE_VIEW, AdwWindow)

/* Predicts with the current weights of session (nullable: no prediction),
 * following them as they change. */
ConvolveSampleView *convolve_sample_view_new       (GtkWindow           *parent,
                                                    ConvolveDataset     *dataset,
                                                    guint                index,
                                                    ConvolveSession     *session);
guint               convolve_sample_view_get_index (ConvolveSampleView  *self);
void                convolve_sample_view_set_index (ConvolveSampleView  *self,
                                                    guint                index);
/* The strip of augmented variants of the sample shown. */
ConvolveAugmentStrip *convolve_sample_view_get_augment_strip (ConvolveSampleView *self);
/* The predicted class, or -1 without a model. */
int                 convolve_sample_view_get_predicted_class (ConvolveSampleView *self);

G_END_DECLS
