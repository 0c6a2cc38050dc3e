/* convolve-augment-strip.h: eight random variants of one dataset sample,
 * made exactly as the trainer makes an augmented batch, with a Shuffle
 * button for eight new ones and a caption saying what the settings are.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "convolve-dataset.h"

G_BEGIN_DECLS

#define CONVOLVE_AUGMENT_STRIP_N_VARIANTS 8

#define CONVOLVE_TYPE_AUGMENT_STRIP (convolve_augment_strip_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveAugmentStrip, convolve_augment_strip, CONVOLVE, AUGMENT_STRIP, GtkWidget)

GtkWidget             *convolve_augment_strip_new         (void);
/* The image to vary: index of dataset (a reference is kept); a NULL
 * dataset clears the strip. The seed stays. */
void                   convolve_augment_strip_set_sample  (ConvolveAugmentStrip  *strip,
                                                           ConvolveDataset       *dataset,
                                                           guint                  index);
/* The settings (copied); by default the trainer's, as
 * convolve_train_config_init() gives them. */
const ConvolveAugment *convolve_augment_strip_get_augment (ConvolveAugmentStrip  *strip);
void                   convolve_augment_strip_set_augment (ConvolveAugmentStrip  *strip,
                                                           const ConvolveAugment *augment);
/* The variants are the batch convolve_dataset_make_batch() makes of the
 * image eight times over, with the augmentation and a ConvolveRng
 * initialised with seed: the same seed gives the same variants. */
guint64                convolve_augment_strip_get_seed    (ConvolveAugmentStrip  *strip);
void                   convolve_augment_strip_set_seed    (ConvolveAugmentStrip  *strip,
                                                           guint64                seed);
/* A new seed, and so new variants: what the Shuffle button does. */
void                   convolve_augment_strip_shuffle     (ConvolveAugmentStrip  *strip);

/* For tests: variant i (c*h*w planar floats in [0, 1], as the batch holds
 * them; NULL without a sample), the view that shows it, the caption. */
const float           *convolve_augment_strip_get_variant      (ConvolveAugmentStrip *strip,
                                                                guint                 i);
GtkWidget             *convolve_augment_strip_get_variant_view (ConvolveAugmentStrip *strip,
                                                                guint                 i);
const char            *convolve_augment_strip_get_caption      (ConvolveAugmentStrip *strip);

G_END_DECLS
