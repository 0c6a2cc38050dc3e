/* convolve-progress-private.h: making progress snapshots, for the trainer.
 *
 * Only the trainer fills in snapshots; it does so before publishing one and
 * never after, which is what makes them immutable for everyone else.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-progress.h"

G_BEGIN_DECLS

/* A zeroed snapshot holding one reference. */
ConvolveProgress *_convolve_progress_new  (void);
/* A new snapshot (one reference) with the same fields, sharing the history
 * and holding its own copy of the error. */
ConvolveProgress *_convolve_progress_copy (const ConvolveProgress *progress);

G_END_DECLS
