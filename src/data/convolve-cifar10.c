/* convolve-cifar10.c: the CIFAR-10 binary layout (cifar-10-batches-bin).
 *
 * Each record is 1 label byte followed by 3072 pixel bytes: the 1024 red
 * values, then green, then blue, each plane row-major for 32 x 32. That is
 * already the planar layout the dataset keeps, so records are copied as
 * they are. Each file is opened once, measured with fstat() and read with
 * pread() in blocks of records; never mapped, since a mapped file that
 * shrinks kills the reader with SIGBUS.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <inttypes.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "convolve-data-private.h"

#define N_TRAIN_BATCHES 5

/* The English names the CIFAR-10 files use, in label order. */
static const char * const cifar10_names[] = {
  NC_("CIFAR-10 class", "airplane"),
  NC_("CIFAR-10 class", "automobile"),
  NC_("CIFAR-10 class", "bird"),
  NC_("CIFAR-10 class", "cat"),
  NC_("CIFAR-10 class", "deer"),
  NC_("CIFAR-10 class", "dog"),
  NC_("CIFAR-10 class", "frog"),
  NC_("CIFAR-10 class", "horse"),
  NC_("CIFAR-10 class", "ship"),
  NC_("CIFAR-10 class", "truck"),
};

char **
convolve_cifar10_standard_class_names (void)
{
  return convolve_data_translate_names ("CIFAR-10 class", cifar10_names,
                                        G_N_ELEMENTS (cifar10_names));
}

char **
convolve_cifar10_class_names_from (const char * const *names,
                                   gsize               n_names)
{
  gboolean standard = n_names == G_N_ELEMENTS (cifar10_names);
  char **copy;

  for (gsize i = 0; standard && i < n_names; i++)
    standard = g_ascii_strcasecmp (names[i], cifar10_names[i]) == 0;

  /* The usual names are shown in the user's language; others as written. */
  if (standard)
    return convolve_cifar10_standard_class_names ();

  copy = g_new0 (char *, n_names + 1);
  for (gsize i = 0; i < n_names; i++)
    copy[i] = g_utf8_make_valid (names[i], -1);

  return copy;
}

/* batches.meta.txt: one class name a line, in label order. A missing file
 * means the standard names; a file with another number of names is an
 * error, as labels could not be named. */
char **
convolve_cifar10_read_meta_txt (const char  *dir,
                                GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "batches.meta.txt", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;

  /* Ten short names; anything near this size is not a class list (and
   * /dev/zero under this name must not be read to the end). */
  if (!convolve_data_read_small_file (path, 64 * 1024, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND))
        return convolve_cifar10_standard_class_names ();
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *name = g_strstrip (lines[i]);

      if (*name != '\0')
        g_ptr_array_add (names, g_strdup (name));
    }

  if (names->len != CONVOLVE_CIFAR10_N_CLASSES)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   g_dngettext (GETTEXT_PACKAGE,
                                "“%s” lists %u class name, but CIFAR-10 has 10",
                                "“%s” lists %u class names, but CIFAR-10 has 10",
                                names->len),
                   display, names->len);
      return NULL;
    }

  return convolve_cifar10_class_names_from ((const char * const *) names->pdata, names->len);
}

void
convolve_cifar10_batch_clear (ConvolveCifar10Batch *batch)
{
  /* fd means something only with a path (see the header) */
  if (batch->path != NULL && batch->fd >= 0)
    close (batch->fd);
  batch->fd = -1;
  g_clear_pointer (&batch->path, g_free);
  g_clear_pointer (&batch->pixels, g_bytes_unref);
  g_clear_pointer (&batch->labels, g_free);
  batch->n_images = 0;
}

static void
batch_array_clear (gpointer data)
{
  convolve_cifar10_batch_clear (data);
}

GArray *
convolve_cifar10_batches_new (void)
{
  GArray *batches = g_array_new (FALSE, TRUE, sizeof (ConvolveCifar10Batch));

  g_array_set_clear_func (batches, batch_array_clear);
  return batches;
}

static ConvolveDataset *
join_batches (GArray                  *batches,
              const char * const      *class_names,
              ConvolveCifar10CopyFunc  copy,
              GCancellable            *cancellable,
              GError                 **error)
{
  g_autoptr(ConvolveDataset) dataset = NULL;
  guint64 total = 0;
  guint8 *pixels;
  guint8 *labels;

  for (guint i = 0; i < batches->len; i++)
    total += g_array_index (batches, ConvolveCifar10Batch, i).n_images;

  if (total > G_MAXUINT32)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("Too many images (%" PRIu64 ")"), total);
      return NULL;
    }

  dataset = convolve_dataset_try_new ("cifar10", (guint) total, 3, 32, 32, class_names, error);
  if (dataset == NULL)
    return NULL;

  pixels = convolve_dataset_get_pixels_mutable (dataset);
  labels = convolve_dataset_get_labels_mutable (dataset);
  for (guint i = 0; i < batches->len; i++)
    {
      const ConvolveCifar10Batch *batch = &g_array_index (batches, ConvolveCifar10Batch, i);

      if (convolve_data_set_error_if_cancelled (cancellable, error))
        return NULL;

      if (copy != NULL)
        {
          if (!copy (batch, pixels, labels, error))
            return NULL;
        }
      else
        {
          memcpy (pixels, g_bytes_get_data (batch->pixels, NULL), g_bytes_get_size (batch->pixels));
          memcpy (labels, batch->labels, batch->n_images);
        }

      pixels += (gsize) batch->n_images * CONVOLVE_CIFAR10_IMAGE_SIZE;
      labels += batch->n_images;
    }

  return g_steal_pointer (&dataset);
}

gboolean
convolve_cifar10_join_batches (GArray                  *train_batches,
                               GArray                  *test_batches,
                               const char * const      *class_names,
                               ConvolveCifar10CopyFunc  copy,
                               GCancellable            *cancellable,
                               ConvolveDataset        **train,
                               ConvolveDataset        **test,
                               GError                 **error)
{
  g_autoptr(ConvolveDataset) train_set = NULL;
  g_autoptr(ConvolveDataset) test_set = NULL;

  train_set = join_batches (train_batches, class_names, copy, cancellable, error);
  if (train_set == NULL)
    return FALSE;

  test_set = join_batches (test_batches, class_names, copy, cancellable, error);
  if (test_set == NULL)
    return FALSE;

  *train = g_steal_pointer (&train_set);
  *test = g_steal_pointer (&test_set);
  return TRUE;
}

/* Opens a batch file and checks its size; the descriptor is kept in the
 * batch, so the file copied is the one checked (whatever the path names
 * by then). *present is FALSE (and no error) when the file does not
 * exist. */
static gboolean
check_batch_file (ConvolveCifar10Batch  *batch,
                  gboolean              *present,
                  GError               **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *display = NULL;
  struct stat st;
  guint64 size;
  int fd;

  *present = FALSE;
  fd = convolve_data_open_regular_stat (batch->path, &st, &local_error);
  if (fd < 0)
    {
      if (g_error_matches (local_error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  *present = TRUE;
  batch->fd = fd;
  display = g_filename_display_name (batch->path);
  size = (guint64) st.st_size;

  if (size == 0)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                   _("“%s” is empty"), display);
      return FALSE;
    }

  if (size % CONVOLVE_CIFAR10_RECORD_SIZE != 0 ||
      size / CONVOLVE_CIFAR10_RECORD_SIZE > G_MAXUINT32)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                   _("“%s” is not a CIFAR-10 batch: its size (%" PRIu64 " bytes) "
                     "is not a whole number of %d-byte records"),
                   display, size, CONVOLVE_CIFAR10_RECORD_SIZE);
      return FALSE;
    }

  batch->n_images = (guint) (size / CONVOLVE_CIFAR10_RECORD_SIZE);
  return TRUE;
}

#define RECORDS_PER_READ 256

/* Reads exactly n bytes at offset; FALSE with errno 0 at an early end. */
static gboolean
pread_all (int     fd,
           guint8 *buffer,
           gsize   n,
           off_t   offset)
{
  while (n > 0)
    {
      ssize_t got = pread (fd, buffer, n, offset);

      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        {
          if (got == 0)
            errno = 0;
          return FALSE;
        }
      buffer += got;
      n -= (gsize) got;
      offset += got;
    }
  return TRUE;
}

/* The records of a batch file, checked by check_batch_file(), copied out:
 * a ConvolveCifar10CopyFunc. Read, not mapped: a file cut short meanwhile
 * is an error here, where a mapping would kill the process with SIGBUS. */
static gboolean
copy_batch_file (const ConvolveCifar10Batch  *batch,
                 guint8                      *pixels,
                 guint8                      *labels,
                 GError                     **error)
{
  g_autofree guint8 *buffer = g_malloc ((gsize) RECORDS_PER_READ * CONVOLVE_CIFAR10_RECORD_SIZE);
  g_autofree char *display = NULL;
  guint8 extra;

  for (guint first = 0; first < batch->n_images; first += RECORDS_PER_READ)
    {
      guint n = MIN ((guint) RECORDS_PER_READ, batch->n_images - first);
      off_t offset = (off_t) first * CONVOLVE_CIFAR10_RECORD_SIZE;

      if (!pread_all (batch->fd, buffer, (gsize) n * CONVOLVE_CIFAR10_RECORD_SIZE, offset))
        {
          int saved_errno = errno;

          display = g_filename_display_name (batch->path);
          if (saved_errno != 0)
            g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                         _("Could not read “%s”: %s"), display, g_strerror (saved_errno));
          else
            g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                         _("“%s” changed while it was being read"), display);
          return FALSE;
        }

      for (guint i = 0; i < n; i++)
        {
          const guint8 *record = buffer + (gsize) i * CONVOLVE_CIFAR10_RECORD_SIZE;
          guint r = first + i;

          if (record[0] >= CONVOLVE_CIFAR10_N_CLASSES)
            {
              display = g_filename_display_name (batch->path);
              g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                           _("“%s” is not a CIFAR-10 batch: record %u has label %u, "
                             "but labels go from 0 to 9"),
                           display, r + 1, (guint) record[0]);
              return FALSE;
            }

          labels[r] = record[0];
          memcpy (pixels + (gsize) r * CONVOLVE_CIFAR10_IMAGE_SIZE, record + 1,
                  CONVOLVE_CIFAR10_IMAGE_SIZE);
        }
    }

  /* grown since it was checked: not the file that was measured */
  if (pread (batch->fd, &extra, 1, (off_t) batch->n_images * CONVOLVE_CIFAR10_RECORD_SIZE) > 0)
    {
      display = g_filename_display_name (batch->path);
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                   _("“%s” changed while it was being read"), display);
      return FALSE;
    }

  return TRUE;
}

gboolean
convolve_cifar10_load_binary (const char       *dir,
                              ConvolveDataset **train,
                              ConvolveDataset **test,
                              GCancellable     *cancellable,
                              GError          **error)
{
  g_autoptr(GArray) train_batches = NULL;
  g_autoptr(GArray) test_batches = NULL;
  g_auto(GStrv) class_names = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL && test != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  train_batches = convolve_cifar10_batches_new ();
  test_batches = convolve_cifar10_batches_new ();

  /* Sizes first: a damaged file is reported before anything is copied. */
  for (int i = 0; i <= N_TRAIN_BATCHES; i++)
    {
      g_autofree char *name = NULL;
      ConvolveCifar10Batch batch = { .fd = -1 };
      gboolean present = FALSE;

      name = i < N_TRAIN_BATCHES ? g_strdup_printf ("data_batch_%d.bin", i + 1)
                                 : g_strdup ("test_batch.bin");
      batch.path = g_build_filename (dir, name, NULL);
      if (!check_batch_file (&batch, &present, error))
        {
          convolve_cifar10_batch_clear (&batch);
          return FALSE;
        }

      if (!present)
        convolve_cifar10_batch_clear (&batch);
      else
        g_array_append_val (i < N_TRAIN_BATCHES ? train_batches : test_batches, batch);
    }

  if (train_batches->len == 0)
    {
      g_autofree char *display = g_filename_display_name (dir);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                   _("No CIFAR-10 training batches (data_batch_1.bin … data_batch_5.bin) in “%s”"),
                   display);
      return FALSE;
    }

  class_names = convolve_cifar10_read_meta_txt (dir, error);
  if (class_names == NULL)
    return FALSE;

  return convolve_cifar10_join_batches (train_batches, test_batches,
                                        (const char * const *) class_names,
                                        copy_batch_file, cancellable, train, test, error);
}
