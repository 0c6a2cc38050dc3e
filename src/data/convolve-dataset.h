/* convolve-dataset.h: images kept as uint8 in memory, NCHW, with labels and
 * class names; batches are scaled to [0,1] (and maybe augmented) as they are
 * made. A dataset is immutable once loaded and reference counted, so the UI
 * and the trainer thread can share it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "convolve-engine.h"

G_BEGIN_DECLS

#define CONVOLVE_DATA_ERROR (convolve_data_error_quark ())

typedef enum {
  CONVOLVE_DATA_ERROR_NOT_FOUND,    /* no dataset files where asked */
  CONVOLVE_DATA_ERROR_IO,           /* reading failed */
  CONVOLVE_DATA_ERROR_TRUNCATED,    /* a file ends early / size not a whole number of records */
  CONVOLVE_DATA_ERROR_FORMAT,       /* a foreign or damaged file */
  CONVOLVE_DATA_ERROR_UNSUPPORTED,  /* well-formed but not something we read (e.g. a pickle with code) */
  CONVOLVE_DATA_ERROR_IMAGE,        /* an image file that cannot be decoded */
  CONVOLVE_DATA_ERROR_NETWORK,      /* download: connection, HTTP status */
  CONVOLVE_DATA_ERROR_CHECKSUM,     /* download: MD5 mismatch */
  CONVOLVE_DATA_ERROR_NO_SPACE,     /* disk full */
  CONVOLVE_DATA_ERROR_CANCELLED,    /* the user cancelled */
} ConvolveDataError;

GQuark convolve_data_error_quark (void);

typedef struct _ConvolveDataset ConvolveDataset;

/* A new dataset of n zeroed images of c x h x w with n_classes classes. */
ConvolveDataset *convolve_dataset_new   (const char *name,
                                         guint       n_images,
                                         int         channels,
                                         int         height,
                                         int         width,
                                         const char * const *class_names);
ConvolveDataset *convolve_dataset_ref   (ConvolveDataset *dataset);
void             convolve_dataset_unref (ConvolveDataset *dataset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ConvolveDataset, convolve_dataset_unref)

const char          *convolve_dataset_get_name        (const ConvolveDataset *dataset);
guint                convolve_dataset_get_n_images    (const ConvolveDataset *dataset);
ConvolveShape        convolve_dataset_get_shape       (const ConvolveDataset *dataset);
int                  convolve_dataset_get_n_classes   (const ConvolveDataset *dataset);
const char * const  *convolve_dataset_get_class_names (const ConvolveDataset *dataset);
/* c*h*w bytes of image i, planar (all of channel 0, then channel 1, ...) */
const guint8        *convolve_dataset_get_image       (const ConvolveDataset *dataset, guint index);
guint8               convolve_dataset_get_label       (const ConvolveDataset *dataset, guint index);
/* Writable access, only while filling a new dataset. */
guint8              *convolve_dataset_get_pixels_mutable (ConvolveDataset *dataset);
guint8              *convolve_dataset_get_labels_mutable (ConvolveDataset *dataset);

/* Augmentation as Keras ImageDataGenerator(width_shift_range,
 * height_shift_range, horizontal_flip): shifts drawn uniformly in
 * +-range*size (a range of 1 or more counts pixels, as in Keras), bilinear
 * interpolation, 'nearest' edge fill; flip with probability 0.5. */
typedef struct {
  float    width_shift_range;   /* 0.1 */
  float    height_shift_range;  /* 0.1 */
  gboolean horizontal_flip;     /* TRUE */
} ConvolveAugment;

void convolve_augment_init_tutorial (ConvolveAugment *augment);
/* Shift one planar c x h x w float image by (dx, dy) pixels (image content
 * moves right/down for positive values) with bilinear interpolation and
 * nearest fill, then flip it horizontally if asked. in != out.
 * That is out[y][x] = in[y - dy][x - dx]; Keras's tx (rows) and ty
 * (columns) move the sampling coordinates instead: dx = -ty, dy = -tx. */
void convolve_augment_apply (const float *in, float *out, int c, int h, int w,
                             float dx, float dy, gboolean flip);

/* Scales count images (indices into dataset) to [0,1] floats in x
 * (count*c*h*w) and their labels into y. augment and rng are nullable
 * (no augmentation). */
void convolve_dataset_make_batch (const ConvolveDataset *dataset,
                                  const guint32         *indices,
                                  int                    count,
                                  float                 *x,
                                  int32_t               *y,
                                  const ConvolveAugment *augment,
                                  ConvolveRng           *rng);

G_END_DECLS
