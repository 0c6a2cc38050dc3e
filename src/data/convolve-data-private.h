/* convolve-data-private.h: helpers shared inside the data layer (and its
 * tests), not part of the public API.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <sys/stat.h>

#include "convolve-dataset.h"
#include "convolve-loaders.h"

G_BEGIN_DECLS

#define CONVOLVE_CIFAR10_RECORD_SIZE 3073 /* 1 label byte + 3 x 32 x 32 pixels */
#define CONVOLVE_CIFAR10_IMAGE_SIZE  3072
#define CONVOLVE_CIFAR10_N_CLASSES   10

/* Like convolve_dataset_new(), but reports a failed allocation instead of
 * aborting: datasets are large and their size comes from files. */
ConvolveDataset *convolve_dataset_try_new (const char          *name,
                                           guint                n_images,
                                           int                  channels,
                                           int                  height,
                                           int                  width,
                                           const char * const  *class_names,
                                           GError             **error);

/* names (n_names English strings marked with NC_(context, …)) in the
 * user's language, as a newly allocated NULL-terminated vector. */
char **convolve_data_translate_names (const char         *context,
                                      const char * const *names,
                                      gsize               n_names);

/* Sets CONVOLVE_DATA_ERROR_CANCELLED and returns TRUE when cancelled. */
gboolean convolve_data_set_error_if_cancelled (GCancellable *cancellable,
                                               GError      **error);

/* Opens path for reading without ever blocking (a FIFO or a device under a
 * dataset's file name would hang open() or read() forever) and checks it is
 * a regular file. Returns the descriptor, or -1 with the error: NOT_FOUND
 * when it does not exist, FORMAT when it is not a regular file, IO else. */
int convolve_data_open_regular (const char  *path,
                                GError     **error);
/* The same, also giving what fstat() says of the descriptor opened: the
 * size to read is the one of the file read, whatever the path names by
 * then. */
int convolve_data_open_regular_stat (const char   *path,
                                     struct stat  *st,
                                     GError      **error);

/* Reads a whole regular file of at most max_size bytes through one
 * descriptor (never mapped: a file cut short while it is read is an
 * error, not a SIGBUS). Fewer or more bytes than fstat() said is TRUNCATED
 * ("changed while it was being read"). Errors otherwise as for
 * convolve_data_open_regular(). */
GBytes *convolve_data_read_regular_file (const char  *path,
                                         guint64      max_size,
                                         GError     **error);

/* Reads a whole regular file that should be small (a list of class names):
 * one larger than max_size is refused rather than read. contents is
 * NUL-terminated. Errors as for convolve_data_open_regular(). */
gboolean convolve_data_read_small_file (const char  *path,
                                        gsize        max_size,
                                        char       **contents,
                                        gsize       *length,
                                        GError     **error);

/* Moves a GIO or GFileError error into CONVOLVE_DATA_ERROR, prefixed with
 * the file it happened on. Takes ownership of source. */
void convolve_data_propagate_io_error (GError     **dest,
                                       GError      *source,
                                       const char  *path);

/* The standard CIFAR-10 and Fashion-MNIST names (translated now) and the
 * digits, as newly allocated NULL-terminated vectors. */
char **convolve_cifar10_standard_class_names (void);
char **convolve_fashion_mnist_class_names    (void);
char **convolve_mnist_class_names            (void);

/* Class names for CIFAR-10 read from a meta file (names, n_names): the
 * translated standard names when they are the standard ones, else a copy.
 * Returns a newly allocated NULL-terminated vector. */
char **convolve_cifar10_class_names_from (const char * const *names,
                                          gsize               n_names);

/* One batch file of a CIFAR-10 layout: n images of 3072 bytes and their
 * labels, either still in the file (the binary layout copies records
 * straight into the dataset) or read out of it (the python layout). */
typedef struct {
  guint   n_images;
  char   *path;    /* the file, when its images are still in it */
  GBytes *pixels;  /* n_images * 3072 bytes, planar R, G, B, when read */
  guint8 *labels;  /* n_images labels, 0..9, when read */
  int     fd;      /* with path only: that file, opened when its size was checked */
} ConvolveCifar10Batch;

void    convolve_cifar10_batch_clear (ConvolveCifar10Batch *batch);
/* A GArray of ConvolveCifar10Batch that clears its elements. */
GArray *convolve_cifar10_batches_new (void);

/* Copies batch's n_images images and labels to pixels and labels. */
typedef gboolean (*ConvolveCifar10CopyFunc) (const ConvolveCifar10Batch  *batch,
                                             guint8                      *pixels,
                                             guint8                      *labels,
                                             GError                     **error);

/* Joins each of train_batches and test_batches (GArrays of
 * ConvolveCifar10Batch) in order into one dataset: copy fills in each
 * batch, or, when NULL, its pixels and labels are copied. cancellable is
 * checked between batches. *train and *test are set only on success. */
gboolean convolve_cifar10_join_batches (GArray                  *train_batches,
                                        GArray                  *test_batches,
                                        const char * const      *class_names,
                                        ConvolveCifar10CopyFunc  copy,
                                        GCancellable            *cancellable,
                                        ConvolveDataset        **train,
                                        ConvolveDataset        **test,
                                        GError                 **error);

/* A data batch pickle: the images are kept in contents (not copied) where
 * the file holds them as they are. */
gboolean convolve_cifar10_python_read_batch (GBytes               *contents,
                                             const char           *path,
                                             ConvolveCifar10Batch *batch,
                                             GError              **error);
/* batches.meta.txt in dir: one class name a line, in label order; a
 * missing file gives the standard names, another number of names than 10
 * is CONVOLVE_DATA_ERROR_FORMAT. The one rule for the binary loader and for
 * checking a downloaded archive. */
char **convolve_cifar10_read_meta_txt (const char  *dir,
                                       GError     **error);

/* batches.meta: label_names. Returns a NULL-terminated vector. */
char   **convolve_cifar10_python_read_label_names (GBytes      *contents,
                                                   const char  *path,
                                                   GError     **error);

/* Augmentation straight from uint8 pixels: out = shifted/flipped in / 255. */
void convolve_augment_apply_u8 (const guint8 *in, float *out, int c, int h, int w,
                                float dx, float dy, gboolean flip);
/* One random transform for an h x w image, drawn as Keras does. */
void convolve_augment_draw (const ConvolveAugment *augment,
                            ConvolveRng           *rng,
                            int                    h,
                            int                    w,
                            float                 *dx,
                            float                 *dy,
                            gboolean              *flip);

/* The image file at path (a native file; display names it in errors),
 * decoded with the header checks and limits of convolve_image_load_file()
 * and turned as its EXIF orientation says. A JPEG may come out at 1/2,
 * 1/4 or 1/8 of its size (libjpeg's own scaling, much quicker) when its
 * short and long sides stay at least min_short and min_long; 0 and 0 for
 * the full size. */
GdkPixbuf *convolve_image_decode_path (const char    *path,
                                       const char    *display,
                                       int            min_short,
                                       int            min_long,
                                       GCancellable  *cancellable,
                                       GError       **error);
/* Where a width x height picture goes in an out_width x out_height input
 * (ConvolveImageFit): the part of it used (all of it when padded), and the
 * size and place it is resized to (all of the input when cropped; the
 * rest is black). The one rule of image folders and the predictor. */
typedef struct {
  int source_x, source_y, source_width, source_height;
  int x, y, width, height;
} ConvolveImageFitGeometry;

void       convolve_image_fit_geometry (int                       width,
                                        int                       height,
                                        int                       out_width,
                                        int                       out_height,
                                        ConvolveImageFit          fit,
                                        ConvolveImageFitGeometry *geometry);
/* What to pass convolve_image_decode_path() (min_short, min_long) for a
 * picture to be fitted to out_width x out_height: a JPEG decoded at a
 * reduced size still keeps twice the input's side to average. */
void       convolve_image_fit_decode_hints (int               out_width,
                                            int               out_height,
                                            ConvolveImageFit  fit,
                                            int              *min_short,
                                            int              *min_long);
/* pixbuf fitted to out_width x out_height as planar RGB in out (3 x
 * out_height x out_width bytes), transparent laid on white, bars black.
 * FALSE when out of memory. */
gboolean   convolve_image_fit_pixbuf (GdkPixbuf        *pixbuf,
                                      int               out_width,
                                      int               out_height,
                                      ConvolveImageFit  fit,
                                      guint8           *out);
/* pixbuf resized to width x height: area averaging when shrinking,
 * bilinear when enlarging; a new reference, NULL when out of memory. */
GdkPixbuf *convolve_image_scale (GdkPixbuf *pixbuf,
                                 int        width,
                                 int        height);
/* pixbuf's pixels as planar RGB (3 x height x width bytes in out), where
 * transparent laid on white. */
void       convolve_image_pixbuf_to_rgb (GdkPixbuf *pixbuf,
                                         guint8    *out);
/* ITU-R BT.601 luma of one pixel, rounded. */
guint8     convolve_image_luma (guint8 r,
                                guint8 g,
                                guint8 b);

/* Layout detection from file names and sizes (no file is read). */
gboolean convolve_dataset_detect_kind (const char          *dir,
                                       ConvolveDatasetKind *kind);
/* The IDX file prefix-suffix in dir (also spelt prefix.suffix, raw or
 * .gz), or NULL. */
char *convolve_idx_find_file (const char *dir,
                              const char *prefix,
                              const char *suffix);
/* TRUE when a path looks like Fashion-MNIST rather than MNIST. */
gboolean convolve_idx_path_is_fashion (const char *dir);

G_END_DECLS
