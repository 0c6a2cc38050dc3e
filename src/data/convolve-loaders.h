/* convolve-loaders.h: reading datasets from disk, finding them on the
 * machine, and turning image files into model input.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-dataset.h"
#include "convolve-image-folder.h"

G_BEGIN_DECLS

/* CIFAR-10 binary layout: data_batch_1.bin ... data_batch_5.bin,
 * test_batch.bin, batches.meta.txt in dir. Missing batches are skipped as
 * long as at least one training batch exists; a file whose size is not a
 * whole number of 3073-byte records is an error naming the file. test may
 * come back as an empty dataset when test_batch.bin is absent. */
gboolean convolve_cifar10_load_binary (const char       *dir,
                                       ConvolveDataset **train,
                                       ConvolveDataset **test,
                                       GCancellable     *cancellable,
                                       GError          **error);

/* CIFAR-10 python layout (cifar-10-batches-py/): data_batch_N, test_batch,
 * batches.meta pickles (protocol 2). Reads exactly that structure, executes
 * nothing, rejects anything else. */
gboolean convolve_cifar10_load_python (const char       *dir,
                                       ConvolveDataset **train,
                                       ConvolveDataset **test,
                                       GCancellable     *cancellable,
                                       GError          **error);

/* IDX files (MNIST, Fashion-MNIST), raw or .gz:
 * train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 * t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]. Class names are
 * Fashion-MNIST's when the folder looks like Fashion-MNIST, else digits. */
gboolean convolve_idx_load_dir (const char       *dir,
                                ConvolveDataset **train,
                                ConvolveDataset **test,
                                GCancellable     *cancellable,
                                GError          **error);

/* Detects the layout of dir (any of the above, or an image folder,
 * convolve-image-folder.h) and loads it. */
gboolean convolve_dataset_load_dir (const char       *dir,
                                    ConvolveDataset **train,
                                    ConvolveDataset **test,
                                    GCancellable     *cancellable,
                                    GError          **error);
/* The same, with the settings for an image folder (nullable: the
 * defaults) and what its import found (nullable; left alone for other
 * layouts). */
gboolean convolve_dataset_load_dir_full (const char                       *dir,
                                         const ConvolveImageFolderOptions *image_options,
                                         ConvolveImageFolderReport        *image_report,
                                         ConvolveDataset                 **train,
                                         ConvolveDataset                 **test,
                                         GCancellable                     *cancellable,
                                         GError                          **error);

typedef enum {
  CONVOLVE_DATASET_KIND_CIFAR10_BINARY,
  CONVOLVE_DATASET_KIND_CIFAR10_PYTHON,
  CONVOLVE_DATASET_KIND_IDX,
  CONVOLVE_DATASET_KIND_IMAGE_FOLDER,
} ConvolveDatasetKind;

typedef struct {
  char               *id;          /* "cifar10", "fashion-mnist", "mnist", "image-folder" */
  char               *title;       /* translated display name, "CIFAR-10" */
  char               *path;        /* folder to pass to convolve_dataset_load_dir */
  char               *origin;      /* translated, e.g. "Convolve's data folder", "Keras cache" */
  ConvolveDatasetKind kind;
} ConvolveDatasetLocation;

void convolve_dataset_location_free (ConvolveDatasetLocation *location);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveDatasetLocation, convolve_dataset_location_free)

/* Convolve's own data folder: $XDG_DATA_HOME/convolve (datasets are
 * downloaded into its "cifar-10-batches-bin" subfolder). */
char *convolve_data_dir (void);

/* What is on the machine: Convolve's data folder, the Keras cache
 * (~/.keras/datasets), torchvision roots (~/data, ~/.cache/torchvision,
 * ./data), Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist),
 * and extra_dirs (nullable, NULL-terminated). Quick: checks file names and
 * sizes only. Returns ConvolveDatasetLocation elements, freeing them. */
GPtrArray *convolve_dataset_discover (const char * const *extra_dirs);

/* Any image gdk-pixbuf reads (file or bytes) -> planar floats in [0,1]
 * sized to shape (c*h*w; grey for c == 1, RGB for c == 3, alpha composited
 * on white), fitted to it as fit says (the rule of an image folder's
 * pictures, so one of them gives the input the dataset holds), resized
 * with area averaging. preview (nullable) gets the same pixels as uint8,
 * planar: the picture as the model sees it, bars or cut included.
 * Non-images, unreadable, truncated or huge files (more than 100
 * megapixels or 256 MB), anything but a regular file, and a shape with
 * other than 1 or 3 channels give CONVOLVE_DATA_ERROR_IMAGE with the
 * reason. */
gboolean convolve_image_load_file  (GFile            *file,
                                    ConvolveShape     shape,
                                    ConvolveImageFit  fit,
                                    float            *input,
                                    guint8           *preview,
                                    GCancellable     *cancellable,
                                    GError          **error);
gboolean convolve_image_load_bytes (GBytes           *bytes,
                                    ConvolveShape     shape,
                                    ConvolveImageFit  fit,
                                    float            *input,
                                    guint8           *preview,
                                    GError          **error);

G_END_DECLS
