/* convolve-cli-dataset.h: --data DIR / --dataset NAME, shared by the train
 * and evaluate subcommands.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-loaders.h"

G_BEGIN_DECLS

/* Exactly one of data_dir and dataset_name must be set (else
 * G_OPTION_ERROR_BAD_VALUE naming the options). dataset_name is an id of
 * convolve_dataset_discover ("cifar10", "fashion-mnist", "mnist"; "cifar-10"
 * and "fashion_mnist" are accepted too). */
gboolean convolve_cli_load_dataset (const char       *data_dir,
                                    const char       *dataset_name,
                                    ConvolveDataset **train,
                                    ConvolveDataset **test,
                                    GError          **error);

G_END_DECLS
