/* convolve-model-file-private.h: what the model file's reader
 * (convolve-model-file.c) and writer (convolve-model-file-save.c) share.
 * The layout and the metadata keys are described in convolve-model-file.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FORMAT_NAME        "convolve-model"
#define FORMAT_VERSION     "1"
#define METADATA_KEY       "__metadata__"
#define EXTRA_PREFIX       "extra."
#define OPTIMIZER_PREFIX   "optimizer/"

/* "optimizer/<slot>/<tensor>": the tensor of one optimizer slot. */
char     *_convolve_model_file_slot_tensor_name (const char *slot_name,
                                                 const char *tensor_name);
gboolean  _convolve_model_file_all_finite       (const float *data,
                                                 gsize        n);

G_END_DECLS
