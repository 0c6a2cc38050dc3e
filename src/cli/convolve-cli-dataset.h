/* convolve-cli-dataset.h: --data DIR / --dataset NAME with an image
 * folder's --image-size, --fit and --validation-fraction, shared by the
 * train, lr-find and evaluate subcommands.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "convolve-cli-options.h"
#include "convolve-loaders.h"

G_BEGIN_DECLS

/* Exactly one of options' data_dir and dataset_name must be set (else
 * G_OPTION_ERROR_BAD_VALUE naming the options). dataset_name is an id of
 * convolve_dataset_discover ("cifar10", "fashion-mnist", "mnist"; "cifar-10"
 * and "fashion_mnist" are accepted too). An image folder is loaded with
 * convolve_cli_options_get_image_folder_options (options, model_input);
 * those options given for another dataset are G_OPTION_ERROR_BAD_VALUE. */
gboolean convolve_cli_load_dataset (const ConvolveCliOptions  *options,
                                    const ConvolveShape       *model_input,
                                    ConvolveDataset          **train,
                                    ConvolveDataset          **test,
                                    GError                   **error);

G_END_DECLS
