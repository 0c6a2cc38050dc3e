/* convolve-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "convolve-application.h"
#include "convolve-session.h"

G_BEGIN_DECLS

#define CONVOLVE_TYPE_WINDOW (convolve_window_get_type ())

G_DECLARE_FINAL_TYPE (ConvolveWindow, convolve_window, CONVOLVE, WINDOW, AdwApplicationWindow)

ConvolveWindow *convolve_window_new          (ConvolveApplication *application);
/* What the window shows (transfer none). */
ConvolveSession *convolve_window_get_session (ConvolveWindow *self);

/* Loads the dataset in folder (any layout convolve_dataset_load_dir reads)
 * off the main thread and shows it; errors become a toast. */
void            convolve_window_open_dataset (ConvolveWindow *self,
                                              const char     *folder);

/* Model files, off the main thread; the outcome is a toast. Open checks
 * that the model fits the dataset; Save writes the current weights (while
 * training: between two steps) atomically. */
void            convolve_window_open_model   (ConvolveWindow *self,
                                              GFile          *file);
void            convolve_window_save_model   (ConvolveWindow *self,
                                              GFile          *file);

/* Shows one toast; message is already translated. */
void            convolve_window_show_error   (ConvolveWindow *self,
                                              const char     *message);

G_END_DECLS
