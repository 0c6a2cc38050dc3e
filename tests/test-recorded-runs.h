/* test-recorded-runs.h: real training runs, tiny ones, recorded into a
 * run store, for the tests of what reads runs back (comparison, plots,
 * the Runs page).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-train.h"

G_BEGIN_DECLS

/* The model every recorded run trains. */
#define TEST_RECORDED_RUNS_SPEC "conv2d(4,3,same,relu),maxpool(2),flatten,dense(4,softmax)"

/* n generated 8x8 grey images in 4 classes (a band per class), from seed. */
ConvolveDataset *test_bands_dataset (guint   n,
                                     guint64 seed);

/* Trains the model (initialised from seed) for epochs epochs on 64 small
 * generated images (validated on 32) with learning_rate and seed, and
 * records the run in store as name on dataset dataset_name. Returns its
 * id; the run is finished when this returns. */
gint64 test_record_run (ConvolveRunStore *store,
                        const char       *name,
                        const char       *dataset_name,
                        guint64           seed,
                        float             learning_rate,
                        int               epochs);

G_END_DECLS
