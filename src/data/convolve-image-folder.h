/* convolve-image-folder.h: a folder of pictures, one subfolder per class
 * (the layout of Keras' image_dataset_from_directory and torchvision's
 * ImageFolder), as a training and a test set.
 *
 * Layouts: root/CLASS/… (split here: a seeded, stratified share of each
 * class becomes the test set), or root/train/CLASS/… with root/test/CLASS/…
 * (or val/, validation/) as the test set; a train/ without either is split
 * like a flat folder. Classes are the class folders' names in byte order
 * (as Python's sorted() has them); pictures may sit in folders nested
 * inside a class folder. Symbolic links to folders are followed for the
 * class folders and the train/test folders only, never inside a class, so
 * a link loop cannot make the walk run forever. Hidden files are ignored;
 * every other file that cannot be read or decoded is skipped and counted.
 * As Keras does, both sets come in an order shuffled with the split seed
 * (so a grid of the first pictures shows every class), unless asked not to.
 *
 * Each picture is decoded by the predictor's decoder (its header checks and
 * limits), laid on white where transparent, resized to side x side (area
 * averaging) after a centre crop to a square, or fitted inside and padded
 * with black; the dataset is grey (1 channel) when every picture is grey
 * (R = G = B everywhere once resized), else RGB. Decoding runs on up to as
 * many worker threads as there are cores, each holding one decoded picture
 * at a time; the result does not depend on their number.
 *
 * The resized pixels are cached as uint8 (convolve_image_folder_cache_dir())
 * under the folder's path and the settings, together with a fingerprint of
 * every file's path, size and modification time: opening the same folder
 * again reads the cache; any change to a file rebuilds it. A damaged cache
 * is rebuilt, never trusted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "convolve-dataset.h"

G_BEGIN_DECLS

/* How a picture that has not the input's shape is made to: the rule of
 * image folders and of pictures given to a model (convolve-loaders.h). */
typedef enum {
  CONVOLVE_IMAGE_FIT_CROP,   /* resize the short side to the input, cut the long one */
  CONVOLVE_IMAGE_FIT_PAD,    /* resize the long side to the input, pad with black */
} ConvolveImageFit;

/* Called on the loading thread as pictures are decoded (about ten times
 * a second, and once at the end; not at all when the cache is read): done
 * of total files handled, skipped of them unusable so far. */
typedef void (*ConvolveImageFolderProgress) (guint    done,
                                             guint    total,
                                             guint    skipped,
                                             gpointer user_data);

typedef struct {
  int                side;                 /* 32 (64, 96 offered): the input is side x side */
  ConvolveImageFit   fit;                  /* CROP */
  double             validation_fraction;  /* 0.2, of each class, without a test folder */
  guint64            split_seed;           /* CONVOLVE_IMAGE_FOLDER_SPLIT_SEED */
  gboolean           shuffle;              /* TRUE: both sets in a seeded order, else the walk's */
  guint              n_threads;            /* 0: one per core */
  ConvolveImageFolderProgress progress;    /* nullable */
  gpointer           progress_data;
} ConvolveImageFolderOptions;

#define CONVOLVE_IMAGE_FOLDER_SPLIT_SEED 1337

/* What a load found (filled in on success), and the side and fit its
 * pictures were made with: a picture given to a model trained on them is
 * best fitted alike. */
typedef struct {
  guint            n_files;     /* files listed */
  guint            n_skipped;   /* of them unreadable or not pictures */
  gboolean         from_cache;  /* no picture was decoded */
  int              side;
  ConvolveImageFit fit;
} ConvolveImageFolderReport;

/* The defaults above. */
void convolve_image_folder_options_init (ConvolveImageFolderOptions *options);

/* $CONVOLVE_CACHE_DIR when set, else $XDG_CACHE_HOME/convolve. */
char *convolve_image_folder_cache_dir (void);

/* Quick (names only, no picture read): whether dir looks like an image
 * folder, that is it has at least two class folders (directly or in
 * train/) of which one holds a file named like a picture. */
gboolean convolve_image_folder_detect (const char *dir);

/* Loads dir (see above); options and report are nullable. *test may be
 * an empty dataset (validation_fraction 0 and no test folder). Fewer than
 * two class folders, or a class without a usable picture in the training
 * set, is CONVOLVE_DATA_ERROR_FORMAT with a message saying so. */
gboolean convolve_image_folder_load (const char                       *dir,
                                     const ConvolveImageFolderOptions *options,
                                     ConvolveImageFolderReport        *report,
                                     ConvolveDataset                 **train,
                                     ConvolveDataset                 **test,
                                     GCancellable                     *cancellable,
                                     GError                          **error);

G_END_DECLS
