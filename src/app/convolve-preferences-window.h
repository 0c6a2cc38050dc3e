/* convolve-preferences-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CONVOLVE_TYPE_PREFERENCES_WINDOW (convolve_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (ConvolvePreferencesWindow, convolve_preferences_window, CONVOLVE, PREFERENCES_WINDOW, AdwPreferencesWindow)

ConvolvePreferencesWindow *convolve_preferences_window_new (GtkWindow *transient_for);

G_END_DECLS
