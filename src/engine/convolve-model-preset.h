/* convolve-model-preset.h: named models offered in the CLI (--preset) and
 * the app's training panel, each defined once as spec text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "convolve-model.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;        /* "tutorial", "better": what --preset takes */
  const char *title;       /* for people, untranslated (N_): gettext it to show it */
  const char *description; /* one line, untranslated (N_) */
  const char *spec_text;   /* convolve_model_spec_parse() text; its last Dense
                            * layer's units are replaced by the class count */
} ConvolveModelPreset;

/* The default preset's name. */
#define CONVOLVE_MODEL_PRESET_DEFAULT "tutorial"

/* Every preset, the default first; *n_presets gets their number. */
const ConvolveModelPreset *convolve_model_preset_get_all    (guint                     *n_presets);
/* The preset called name, or NULL. */
const ConvolveModelPreset *convolve_model_preset_find       (const char                *name);
/* The preset's layers for n_classes (>= 2) classes. */
ConvolveModelSpec         *convolve_model_preset_new_spec   (const ConvolveModelPreset *preset,
                                                             int                        n_classes);
/* The same by name; CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT naming the
 * presets there are when name is not one of them. */
ConvolveModelSpec         *convolve_model_spec_new_preset   (const char                *name,
                                                             int                        n_classes,
                                                             GError                   **error);
/* The preset spec is made from (any class count), or NULL when it is none. */
const ConvolveModelPreset *convolve_model_preset_match      (const ConvolveModelSpec   *spec);

G_END_DECLS
