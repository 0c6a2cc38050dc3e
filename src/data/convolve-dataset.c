/* convolve-dataset.c: the uint8 image store and the batch maker.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "convolve-data-private.h"

G_DEFINE_QUARK (convolve-data-error-quark, convolve_data_error)

struct _ConvolveDataset {
  gatomicrefcount ref_count;
  char           *name;
  guint           n_images;
  int             channels;
  int             height;
  int             width;
  char          **class_names;
  guint8         *pixels;   /* n_images * channels * height * width, NCHW */
  guint8         *labels;   /* n_images */
};

static gboolean
dataset_size_is_valid (guint  n_images,
                       int    channels,
                       int    height,
                       int    width,
                       gsize *n_bytes)
{
  guint64 image_size;

  if (channels <= 0 || height <= 0 || width <= 0)
    return FALSE;

  image_size = (guint64) channels * (guint64) height * (guint64) width;
  if (image_size > G_MAXSIZE / MAX (n_images, 1u))
    return FALSE;

  *n_bytes = (gsize) (image_size * n_images);
  return TRUE;
}

ConvolveDataset *
convolve_dataset_try_new (const char          *name,
                          guint                n_images,
                          int                  channels,
                          int                  height,
                          int                  width,
                          const char * const  *class_names,
                          GError             **error)
{
  ConvolveDataset *dataset;
  gsize n_bytes = 0;
  guint8 *pixels = NULL;
  guint8 *labels = NULL;

  if (!dataset_size_is_valid (n_images, channels, height, width, &n_bytes))
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("A dataset of %u images of %d × %d × %d is not possible"),
                   n_images, channels, height, width);
      return NULL;
    }

  if (n_images > 0)
    {
      pixels = g_try_malloc0 (n_bytes);
      labels = g_try_malloc0 (n_images);
      if (pixels == NULL || labels == NULL)
        {
          g_autofree char *size = g_format_size (n_bytes);

          g_free (pixels);
          g_free (labels);
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                       _("Not enough memory for %u images (%s)"),
                       n_images, size);
          return NULL;
        }
    }

  dataset = g_new0 (ConvolveDataset, 1);
  g_atomic_ref_count_init (&dataset->ref_count);
  dataset->name = g_strdup (name != NULL ? name : "");
  dataset->n_images = n_images;
  dataset->channels = channels;
  dataset->height = height;
  dataset->width = width;
  dataset->class_names = g_strdupv ((char **) class_names);
  if (dataset->class_names == NULL)
    dataset->class_names = g_new0 (char *, 1);
  dataset->pixels = pixels;
  dataset->labels = labels;

  return dataset;
}

ConvolveDataset *
convolve_dataset_new (const char          *name,
                      guint                n_images,
                      int                  channels,
                      int                  height,
                      int                  width,
                      const char * const  *class_names)
{
  ConvolveDataset *dataset;
  gsize n_bytes = 0;

  g_return_val_if_fail (dataset_size_is_valid (n_images, channels, height, width, &n_bytes), NULL);

  dataset = convolve_dataset_try_new (name, n_images, channels, height, width, class_names, NULL);
  if (dataset == NULL)
    g_error ("convolve_dataset_new: failed to allocate %" G_GSIZE_FORMAT " bytes", n_bytes);

  return dataset;
}

ConvolveDataset *
convolve_dataset_ref (ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);

  g_atomic_ref_count_inc (&dataset->ref_count);
  return dataset;
}

void
convolve_dataset_unref (ConvolveDataset *dataset)
{
  g_return_if_fail (dataset != NULL);

  if (!g_atomic_ref_count_dec (&dataset->ref_count))
    return;

  g_free (dataset->name);
  g_strfreev (dataset->class_names);
  g_free (dataset->pixels);
  g_free (dataset->labels);
  g_free (dataset);
}

const char *
convolve_dataset_get_name (const ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);

  return dataset->name;
}

guint
convolve_dataset_get_n_images (const ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, 0);

  return dataset->n_images;
}

ConvolveShape
convolve_dataset_get_shape (const ConvolveDataset *dataset)
{
  ConvolveShape shape = { 0, 0, 0 };

  g_return_val_if_fail (dataset != NULL, shape);

  shape.c = dataset->channels;
  shape.h = dataset->height;
  shape.w = dataset->width;
  return shape;
}

int
convolve_dataset_get_n_classes (const ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, 0);

  return (int) g_strv_length (dataset->class_names);
}

const char * const *
convolve_dataset_get_class_names (const ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);

  return (const char * const *) dataset->class_names;
}

static inline gsize
dataset_image_size (const ConvolveDataset *dataset)
{
  return (gsize) dataset->channels * (gsize) dataset->height * (gsize) dataset->width;
}

const guint8 *
convolve_dataset_get_image (const ConvolveDataset *dataset,
                            guint                  index)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  g_return_val_if_fail (index < dataset->n_images, NULL);

  return dataset->pixels + (gsize) index * dataset_image_size (dataset);
}

guint8
convolve_dataset_get_label (const ConvolveDataset *dataset,
                            guint                  index)
{
  g_return_val_if_fail (dataset != NULL, 0);
  g_return_val_if_fail (index < dataset->n_images, 0);

  return dataset->labels[index];
}

guint8 *
convolve_dataset_get_pixels_mutable (ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);

  return dataset->pixels;
}

guint8 *
convolve_dataset_get_labels_mutable (ConvolveDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);

  return dataset->labels;
}

/* Plain scaling, written so the compiler can vectorise it. A division (not
 * a multiplication by 1/255) keeps the values bit-identical to Keras's
 * x.astype('float32') / 255. */
static void
scale_image (const guint8 * restrict in,
             float        * restrict out,
             gsize                   n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = (float) in[i] / 255.0f;
}

void
convolve_dataset_make_batch (const ConvolveDataset *dataset,
                             const guint32         *indices,
                             int                    count,
                             float                 *x,
                             int32_t               *y,
                             const ConvolveAugment *augment,
                             ConvolveRng           *rng)
{
  gsize image_size;
  gboolean augmenting;

  g_return_if_fail (dataset != NULL);
  g_return_if_fail (count >= 0);
  g_return_if_fail (count == 0 || (indices != NULL && x != NULL));

  image_size = dataset_image_size (dataset);
  augmenting = augment != NULL && rng != NULL &&
               (augment->width_shift_range > 0.0f ||
                augment->height_shift_range > 0.0f ||
                augment->horizontal_flip);

  for (int i = 0; i < count; i++)
    {
      guint32 index = indices[i];
      const guint8 *src;
      float *dst = x + (gsize) i * image_size;

      g_return_if_fail (index < dataset->n_images);

      src = dataset->pixels + (gsize) index * image_size;
      if (augmenting)
        {
          float dx, dy;
          gboolean flip;

          convolve_augment_draw (augment, rng, dataset->height, dataset->width,
                                 &dx, &dy, &flip);
          convolve_augment_apply_u8 (src, dst, dataset->channels,
                                     dataset->height, dataset->width,
                                     dx, dy, flip);
        }
      else
        {
          scale_image (src, dst, image_size);
        }

      if (y != NULL)
        y[i] = dataset->labels[index];
    }
}

char **
convolve_data_translate_names (const char         *context,
                               const char * const *names,
                               gsize               n_names)
{
  char **translated = g_new0 (char *, n_names + 1);

  for (gsize i = 0; i < n_names; i++)
    translated[i] = g_strdup (g_dpgettext2 (GETTEXT_PACKAGE, context, names[i]));

  return translated;
}

gboolean
convolve_data_set_error_if_cancelled (GCancellable  *cancellable,
                                      GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;

  g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                       _("Loading was cancelled"));
  return TRUE;
}

int
convolve_data_open_regular (const char  *path,
                            GError     **error)
{
  struct stat st;

  return convolve_data_open_regular_stat (path, &st, error);
}

int
convolve_data_open_regular_stat (const char   *path,
                                 struct stat  *st,
                                 GError      **error)
{
  g_autofree char *display = g_filename_display_name (path);
  int fd;

  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CONVOLVE_DATA_ERROR,
                   saved_errno == ENOENT ? CONVOLVE_DATA_ERROR_NOT_FOUND : CONVOLVE_DATA_ERROR_IO,
                   _("Could not read “%s”: %s"), display, g_strerror (saved_errno));
      return -1;
    }

  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("“%s” is not a regular file"), display);
      return -1;
    }

  return fd;
}

gboolean
convolve_data_read_small_file (const char  *path,
                               gsize        max_size,
                               char       **contents,
                               gsize       *length,
                               GError     **error)
{
  g_autoptr(GByteArray) data = NULL;
  guint8 buffer[16384];
  int fd;

  fd = convolve_data_open_regular (path, error);
  if (fd < 0)
    return FALSE;

  /* Read to the end rather than trust st_size: files in /proc and /sys
   * say 0 and still have contents. */
  data = g_byte_array_new ();
  for (;;)
    {
      gssize n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;
          g_autofree char *display = g_filename_display_name (path);

          close (fd);
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                       _("Could not read “%s”: %s"), display, g_strerror (saved_errno));
          return FALSE;
        }
      if (n == 0)
        break;
      if (data->len + (gsize) n > max_size)
        {
          g_autofree char *display = g_filename_display_name (path);
          g_autofree char *limit = g_format_size (max_size);

          close (fd);
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                       _("“%s” is too large: more than %s"), display, limit);
          return FALSE;
        }
      g_byte_array_append (data, buffer, (guint) n);
    }
  close (fd);

  *length = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  *contents = (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
  return TRUE;
}

GBytes *
convolve_data_read_regular_file (const char  *path,
                                 guint64      max_size,
                                 GError     **error)
{
  g_autofree guint8 *data = NULL;
  struct stat st;
  guint8 extra;
  gsize size;
  gsize done = 0;
  gssize n = 0;
  int read_errno = 0;
  int fd;

  fd = convolve_data_open_regular_stat (path, &st, error);
  if (fd < 0)
    return NULL;

  if ((guint64) st.st_size > max_size || (guint64) st.st_size > G_MAXSIZE - 1)
    {
      g_autofree char *display = g_filename_display_name (path);
      g_autofree char *limit = g_format_size (max_size);

      close (fd);
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("“%s” is too large: more than %s"), display, limit);
      return NULL;
    }

  size = (gsize) st.st_size;
  data = g_try_malloc (MAX (size, 1));
  if (data == NULL)
    {
      g_autofree char *display = g_filename_display_name (path);

      close (fd);
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Not enough memory to read “%s”"), display);
      return NULL;
    }

  /* exactly st_size bytes, then the end of the file */
  while (read_errno == 0)
    {
      n = read (fd, done < size ? data + done : &extra, done < size ? MIN (size - done, (gsize) G_MAXSSIZE) : 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        read_errno = errno;
      else if (n == 0 || done >= size)
        break;
      else
        done += (gsize) n;
    }

  if (read_errno != 0 || done != size || n != 0)
    {
      g_autofree char *display = g_filename_display_name (path);

      close (fd);
      if (read_errno != 0)
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                     _("Could not read “%s”: %s"), display, g_strerror (read_errno));
      else
        g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                     _("“%s” changed while it was being read"), display);
      return NULL;
    }
  close (fd);

  return g_bytes_new_take (g_steal_pointer (&data), size);
}

void
convolve_data_propagate_io_error (GError     **dest,
                                  GError      *source,
                                  const char  *path)
{
  ConvolveDataError code = CONVOLVE_DATA_ERROR_IO;
  g_autofree char *display = NULL;

  g_return_if_fail (source != NULL);

  if (source->domain == CONVOLVE_DATA_ERROR)
    {
      g_propagate_error (dest, source);
      return;
    }

  if (g_error_matches (source, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (source);
      g_set_error_literal (dest, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                           _("Loading was cancelled"));
      return;
    }

  if (g_error_matches (source, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
      g_error_matches (source, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    code = CONVOLVE_DATA_ERROR_NOT_FOUND;
  else if (g_error_matches (source, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
           g_error_matches (source, G_FILE_ERROR, G_FILE_ERROR_NOSPC))
    code = CONVOLVE_DATA_ERROR_NO_SPACE;
  else if (g_error_matches (source, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    code = CONVOLVE_DATA_ERROR_TRUNCATED;
  else if (g_error_matches (source, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    code = CONVOLVE_DATA_ERROR_FORMAT;

  if (path != NULL)
    {
      display = g_filename_display_name (path);
      if (code == CONVOLVE_DATA_ERROR_TRUNCATED)
        /* TRANSLATORS: a file name, then the system's reason */
        g_set_error (dest, CONVOLVE_DATA_ERROR, code, _("“%s” ends early (%s)"),
                     display, source->message);
      else if (code == CONVOLVE_DATA_ERROR_FORMAT)
        /* TRANSLATORS: a file name, then the system's reason */
        g_set_error (dest, CONVOLVE_DATA_ERROR, code, _("“%s” is damaged (%s)"),
                     display, source->message);
      else
        /* TRANSLATORS: a file name, then the system's reason */
        g_set_error (dest, CONVOLVE_DATA_ERROR, code, _("Could not read “%s”: %s"),
                     display, source->message);
    }
  else
    {
      g_set_error_literal (dest, CONVOLVE_DATA_ERROR, code, source->message);
    }
  g_error_free (source);
}
