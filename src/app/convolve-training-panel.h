/* convolve-training-panel.h: the settings of a run, its controls and its
 * progress.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-train.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_TRAINING_PANEL (convolve_training_panel_get_type ())

G_DECLARE_FINAL_TYPE (ConvolveTrainingPanel, convolve_training_panel, CONVOLVE, TRAINING_PANEL, GtkWidget)

GtkWidget *convolve_training_panel_new          (void);

/* Fills the fields the panel controls (epochs, augmented epochs, batch
 * size, learning rate, seed; early stopping's patience, monitor and
 * restoring the best weights); leaves the others as they are. */
void       convolve_training_panel_get_config   (ConvolveTrainingPanel *self,
                                                 ConvolveTrainConfig   *config);
/* Puts rate (e.g. the LR finder's suggestion) into the learning rate
 * field, clamped to its range. */
void       convolve_training_panel_set_learning_rate (ConvolveTrainingPanel *self,
                                                      double                 rate);
/* Shows a run's snapshot; NULL: no run yet. */
void       convolve_training_panel_set_progress (ConvolveTrainingPanel *self,
                                                 ConvolveProgress      *progress);
/* The current model (borrowed, read now): its parameter count and summary.
 * NULL: no model. */
void       convolve_training_panel_set_model    (ConvolveTrainingPanel *self,
                                                 const ConvolveModel   *model);
void       convolve_training_panel_show_summary (ConvolveTrainingPanel *self);

/* Text helpers, shared with the other pages: "1 h 05 min", "2 min 05 s",
 * "45 s"; counts with the locale's thousands separator ("8,400,906");
 * how a dataset is called on screen ("CIFAR-10" for "cifar10", other
 * names as they are). */
char       *convolve_format_duration            (double      seconds);
char       *convolve_format_count               (guint64     count);
const char *convolve_format_dataset_name        (const char *name);

G_END_DECLS
