/* convolve-idx.c: IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.
 *
 * An IDX file is a 4-byte magic (0, 0, type 0x08 for unsigned bytes, number
 * of dimensions), the dimensions as big-endian 32-bit counts, then the data
 * row-major: 0x00000803 for images (count, rows, columns), 0x00000801 for
 * labels (count). Compression is recognised by the gzip magic, not by the
 * name, and undone while reading straight into the dataset.
 *
 * The header sizes the dataset, so it is checked before anything is
 * allocated: against CONVOLVE_LIMIT_IDX_*, and against the data actually
 * there. For a raw file that is its size; a gzip file is first decoded
 * once without keeping anything, counting (and stopping one byte past
 * what the header declares), then read again into the dataset. A declared
 * size more than CONVOLVE_LIMIT_GZIP_RATIO times the compressed size is
 * refused without decoding at all.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>

#include <errno.h>
#include <gio/gunixinputstream.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-limits.h"

#define IDX_TYPE_UBYTE  0x08

static const char * const fashion_names[] = {
  NC_("Fashion-MNIST class", "T-shirt/top"),
  NC_("Fashion-MNIST class", "Trouser"),
  NC_("Fashion-MNIST class", "Pullover"),
  NC_("Fashion-MNIST class", "Dress"),
  NC_("Fashion-MNIST class", "Coat"),
  NC_("Fashion-MNIST class", "Sandal"),
  NC_("Fashion-MNIST class", "Shirt"),
  NC_("Fashion-MNIST class", "Sneaker"),
  NC_("Fashion-MNIST class", "Bag"),
  NC_("Fashion-MNIST class", "Ankle boot"),
};

char **
convolve_fashion_mnist_class_names (void)
{
  return convolve_data_translate_names ("Fashion-MNIST class", fashion_names,
                                        G_N_ELEMENTS (fashion_names));
}

char **
convolve_mnist_class_names (void)
{
  char **names = g_new0 (char *, 11);

  for (int i = 0; i < 10; i++)
    names[i] = g_strdup_printf ("%d", i);

  return names;
}

gboolean
convolve_idx_path_is_fashion (const char *dir)
{
  g_autofree char *absolute = NULL;
  g_autofree char *lower = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);

  absolute = g_canonicalize_filename (dir, NULL);
  lower = g_ascii_strdown (absolute, -1);
  return strstr (lower, "fashion") != NULL;
}

typedef struct {
  char         *path;
  char         *display;
  GInputStream *stream;   /* the file, or the decompressor reading it */
  GInputStream *base;     /* the file (a descriptor), when stream decompresses it */
  guint32       dims[3];
  int           n_dims;
} IdxFile;

static void
idx_file_clear (IdxFile *idx)
{
  g_clear_pointer (&idx->path, g_free);
  g_clear_pointer (&idx->display, g_free);
  g_clear_object (&idx->stream);
  g_clear_object (&idx->base);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (IdxFile, idx_file_clear)

/* Reads exactly n bytes; a short read is a truncated file. */
static gboolean
idx_read (IdxFile       *idx,
          void          *buffer,
          gsize          n,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize n_read = 0;

  if (!g_input_stream_read_all (idx->stream, buffer, n, &n_read, cancellable, &local_error))
    {
      convolve_data_propagate_io_error (error, g_steal_pointer (&local_error), idx->path);
      return FALSE;
    }

  if (n_read < n)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                   _("“%s” ends early: it is shorter than its header says"), idx->display);
      return FALSE;
    }

  return TRUE;
}

/* A fresh decompressor over the whole file. */
static void
idx_start_gunzip (IdxFile *idx)
{
  g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);

  g_clear_object (&idx->stream);
  idx->stream = g_converter_input_stream_new (G_INPUT_STREAM (idx->base), G_CONVERTER (decompressor));
  /* idx->base outlives it: it is read again after counting. */
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (idx->stream), FALSE);
}

/* Decodes the rest of a gzip file without keeping it: TRUE when it holds
 * exactly expected bytes. Stops one byte past expected, so a gzip bomb
 * costs no more time than the data the header declares. */
static gboolean
idx_count_gzip (IdxFile       *idx,
                guint64        expected,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autofree guint8 *scratch = g_malloc (64 * 1024);
  guint64 total = 0;

  while (total <= expected)
    {
      g_autoptr(GError) local_error = NULL;
      gsize n_read = 0;

      if (!g_input_stream_read_all (idx->stream, scratch,
                                    (gsize) MIN ((guint64) 64 * 1024, expected + 1 - total),
                                    &n_read, cancellable, &local_error))
        {
          convolve_data_propagate_io_error (error, g_steal_pointer (&local_error), idx->path);
          return FALSE;
        }
      if (n_read == 0)
        break;
      total += n_read;
    }

  if (total < expected)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                   _("“%s” ends early: it is shorter than its header says"), idx->display);
      return FALSE;
    }
  if (total > expected)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("“%s” is longer than its header says"), idx->display);
      return FALSE;
    }
  return TRUE;
}

/* Opens an IDX file and reads its header; n_dims is 3 for images, 1 for
 * labels. */
static gboolean
idx_open (IdxFile       *idx,
          const char    *path,
          int            n_dims,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GInputStream) base = NULL;
  guint8 magic[4];
  guint8 dims[12];
  struct stat st;
  gssize n_read;
  goffset raw_size = -1;
  goffset compressed_size = -1;
  guint64 payload;
  int fd;

  idx->path = g_strdup (path);
  idx->display = g_filename_display_name (path);
  idx->n_dims = n_dims;

  /* Opened once, without blocking (a FIFO put there would hang), and
   * measured with fstat() on that descriptor: the file read is the file
   * checked. */
  fd = convolve_data_open_regular_stat (path, &st, error);
  if (fd < 0)
    return FALSE;
  base = g_unix_input_stream_new (fd, TRUE);

  /* the first two bytes, without moving the stream */
  do
    n_read = pread (fd, magic, 2, 0);
  while (n_read < 0 && errno == EINTR);
  if (n_read < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                   _("Could not read “%s”: %s"), idx->display, g_strerror (saved_errno));
      return FALSE;
    }

  if (n_read == 0)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                   _("“%s” is empty"), idx->display);
      return FALSE;
    }

  if (n_read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
    {
      compressed_size = (goffset) st.st_size;
      idx->base = g_steal_pointer (&base);
      idx_start_gunzip (idx);
    }
  else
    {
      /* An uncompressed file's size is known: a header that lies about it
       * is caught before the allocation it asks for. */
      raw_size = (goffset) st.st_size;
      idx->stream = g_steal_pointer (&base);
    }

  if (!idx_read (idx, magic, sizeof magic, cancellable, error))
    return FALSE;

  if (magic[0] != 0 || magic[1] != 0 || magic[2] != IDX_TYPE_UBYTE || magic[3] != n_dims)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   n_dims == 3
                   ? _("“%s” is not an IDX image file (its magic number is 0x%02x%02x%02x%02x, not 0x00000803)")
                   : _("“%s” is not an IDX label file (its magic number is 0x%02x%02x%02x%02x, not 0x00000801)"),
                   idx->display, magic[0], magic[1], magic[2], magic[3]);
      return FALSE;
    }

  if (!idx_read (idx, dims, 4 * (gsize) n_dims, cancellable, error))
    return FALSE;

  for (int i = 0; i < n_dims; i++)
    idx->dims[i] = ((guint32) dims[4 * i] << 24) | ((guint32) dims[4 * i + 1] << 16) |
                   ((guint32) dims[4 * i + 2] << 8) | (guint32) dims[4 * i + 3];

  if (idx->dims[0] == 0)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("“%s” holds no items"), idx->display);
      return FALSE;
    }

  if (n_dims == 3)
    {
      guint64 total = (guint64) idx->dims[0] * idx->dims[1] * idx->dims[2];

      if (idx->dims[1] == 0 || idx->dims[2] == 0 ||
          idx->dims[1] > CONVOLVE_LIMIT_IDX_SIDE || idx->dims[2] > CONVOLVE_LIMIT_IDX_SIDE ||
          total > CONVOLVE_LIMIT_IDX_BYTES)
        {
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                       _("“%s” declares %u images of %u × %u pixels, which is not a size Convolve reads"),
                       idx->display, idx->dims[0], idx->dims[1], idx->dims[2]);
          return FALSE;
        }
    }

  /* At most CONVOLVE_LIMIT_IDX_BYTES of images (checked above) or 2^32
   * labels: no overflow. */
  payload = n_dims == 3 ? (guint64) idx->dims[0] * idx->dims[1] * idx->dims[2] : idx->dims[0];
  if (payload > CONVOLVE_LIMIT_IDX_BYTES)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_UNSUPPORTED,
                   _("“%s” declares %" PRIu64 " bytes of data, more than the limit of %"
                     PRIu64 " for an IDX file"),
                   idx->display, payload, (guint64) CONVOLVE_LIMIT_IDX_BYTES);
      return FALSE;
    }

  if (idx->base != NULL)
    {
      guint64 header = 4 + 4 * (guint64) n_dims;

      /* What the file cannot hold is refused before decoding it. */
      if (compressed_size >= 0 &&
          header + payload > (guint64) compressed_size * CONVOLVE_LIMIT_GZIP_RATIO)
        {
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                       _("“%s” declares %" PRIu64 " bytes of data, more than its %"
                         PRId64 " compressed bytes can hold (gzip expands at most %d times)"),
                       idx->display, payload, (gint64) compressed_size, CONVOLVE_LIMIT_GZIP_RATIO);
          return FALSE;
        }
      if (!idx_count_gzip (idx, payload, cancellable, error))
        return FALSE;

      /* Counted: decode again, from the start, past the header. The
       * stream reads its descriptor unbuffered, so rewinding that is
       * rewinding the stream. */
      if (lseek (g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (idx->base)), 0, SEEK_SET) < 0)
        {
          int saved_errno = errno;

          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IO,
                       _("Could not read “%s”: %s"), idx->display, g_strerror (saved_errno));
          return FALSE;
        }
      idx_start_gunzip (idx);
      if (!idx_read (idx, magic, sizeof magic, cancellable, error) ||
          !idx_read (idx, dims, 4 * (gsize) n_dims, cancellable, error))
        return FALSE;
    }

  if (raw_size >= 0)
    {
      guint64 expected = 4 + 4 * (guint64) n_dims + payload;

      if ((guint64) raw_size < expected)
        {
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_TRUNCATED,
                       _("“%s” ends early: it is shorter than its header says"), idx->display);
          return FALSE;
        }
      if ((guint64) raw_size > expected)
        {
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                       _("“%s” is longer than its header says"), idx->display);
          return FALSE;
        }
    }

  return TRUE;
}

/* Reads the data that follows the header, and checks nothing follows it. */
static gboolean
idx_read_payload (IdxFile       *idx,
                  guint8        *buffer,
                  gsize          n,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  guint8 extra;
  gsize n_read = 0;

  if (!idx_read (idx, buffer, n, cancellable, error))
    return FALSE;

  if (!g_input_stream_read_all (idx->stream, &extra, 1, &n_read, cancellable, &local_error))
    {
      convolve_data_propagate_io_error (error, g_steal_pointer (&local_error), idx->path);
      return FALSE;
    }

  if (n_read != 0)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("“%s” is longer than its header says"), idx->display);
      return FALSE;
    }

  return TRUE;
}

static ConvolveDataset *
idx_load_pair (const char          *images_path,
               const char          *labels_path,
               const char          *name,
               const char * const  *class_names,
               GCancellable        *cancellable,
               GError             **error)
{
  g_auto(IdxFile) images = { NULL, };
  g_auto(IdxFile) labels = { NULL, };
  g_autoptr(ConvolveDataset) dataset = NULL;
  guint n_classes = g_strv_length ((char **) class_names);
  guint8 *label_data;
  guint n;

  if (convolve_data_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (!idx_open (&images, images_path, 3, cancellable, error) ||
      !idx_open (&labels, labels_path, 1, cancellable, error))
    return NULL;

  n = images.dims[0];
  if (labels.dims[0] != n)
    {
      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                   _("“%s” holds %u images but “%s” holds %u labels"),
                   images.display, n, labels.display, labels.dims[0]);
      return NULL;
    }

  dataset = convolve_dataset_try_new (name, n, 1, (int) images.dims[1], (int) images.dims[2],
                                      class_names, error);
  if (dataset == NULL)
    return NULL;

  if (!idx_read_payload (&images, convolve_dataset_get_pixels_mutable (dataset),
                         (gsize) n * images.dims[1] * images.dims[2], cancellable, error))
    return NULL;

  if (convolve_data_set_error_if_cancelled (cancellable, error))
    return NULL;

  label_data = convolve_dataset_get_labels_mutable (dataset);
  if (!idx_read_payload (&labels, label_data, n, cancellable, error))
    return NULL;

  for (guint i = 0; i < n; i++)
    {
      if (label_data[i] >= n_classes)
        {
          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                       _("“%s”: label %u is %u, but labels go from 0 to %u"),
                       labels.display, i + 1, (guint) label_data[i], n_classes - 1);
          return NULL;
        }
    }

  return g_steal_pointer (&dataset);
}

/* The first of the usual spellings present in dir: raw, then gzip; the
 * dotted names are how some mirrors spell them. */
char *
convolve_idx_find_file (const char *dir,
                        const char *prefix,
                        const char *suffix)
{
  static const char * const separators[] = { "-", "." };
  static const char * const extensions[] = { "", ".gz" };

  for (gsize s = 0; s < G_N_ELEMENTS (separators); s++)
    {
      for (gsize e = 0; e < G_N_ELEMENTS (extensions); e++)
        {
          g_autofree char *name = g_strconcat (prefix, separators[s], suffix, extensions[e], NULL);
          g_autofree char *path = g_build_filename (dir, name, NULL);

          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            return g_steal_pointer (&path);
        }
    }

  return NULL;
}

static gboolean
idx_find_pair (const char  *dir,
               const char  *images_prefix,
               const char  *labels_prefix,
               char       **images_path,
               char       **labels_path,
               GError     **error)
{
  *images_path = convolve_idx_find_file (dir, images_prefix, "idx3-ubyte");
  *labels_path = convolve_idx_find_file (dir, labels_prefix, "idx1-ubyte");

  if ((*images_path == NULL) != (*labels_path == NULL))
    {
      g_autofree char *display = g_filename_display_name (dir);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                   _("“%s” has no %s-idx%d-ubyte file to go with its %s file"),
                   display,
                   *images_path == NULL ? images_prefix : labels_prefix,
                   *images_path == NULL ? 3 : 1,
                   *images_path == NULL ? labels_prefix : images_prefix);
      g_clear_pointer (images_path, g_free);
      g_clear_pointer (labels_path, g_free);
      return FALSE;
    }

  return TRUE;
}

gboolean
convolve_idx_load_dir (const char       *dir,
                       ConvolveDataset **train,
                       ConvolveDataset **test,
                       GCancellable     *cancellable,
                       GError          **error)
{
  g_autofree char *train_images = NULL;
  g_autofree char *train_labels = NULL;
  g_autofree char *test_images = NULL;
  g_autofree char *test_labels = NULL;
  g_autoptr(ConvolveDataset) train_set = NULL;
  g_autoptr(ConvolveDataset) test_set = NULL;
  g_auto(GStrv) class_names = NULL;
  gboolean fashion;
  const char *name;
  ConvolveShape shape;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (train != NULL && test != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!idx_find_pair (dir, "train-images", "train-labels", &train_images, &train_labels, error) ||
      !idx_find_pair (dir, "t10k-images", "t10k-labels", &test_images, &test_labels, error))
    return FALSE;

  if (train_images == NULL)
    {
      g_autofree char *display = g_filename_display_name (dir);

      g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND,
                   _("No IDX training files (train-images-idx3-ubyte, train-labels-idx1-ubyte) in “%s”"),
                   display);
      return FALSE;
    }

  fashion = convolve_idx_path_is_fashion (dir);
  name = fashion ? "fashion-mnist" : "mnist";
  class_names = fashion ? convolve_fashion_mnist_class_names () : convolve_mnist_class_names ();

  train_set = idx_load_pair (train_images, train_labels, name,
                             (const char * const *) class_names, cancellable, error);
  if (train_set == NULL)
    return FALSE;
  shape = convolve_dataset_get_shape (train_set);

  if (test_images != NULL)
    {
      ConvolveShape test_shape;

      test_set = idx_load_pair (test_images, test_labels, name,
                                (const char * const *) class_names, cancellable, error);
      if (test_set == NULL)
        return FALSE;

      test_shape = convolve_dataset_get_shape (test_set);
      /* Both are grey (one channel): only the sizes can differ. */
      if (!convolve_shape_equal (test_shape, shape))
        {
          g_autofree char *display = g_filename_display_name (test_images);

          g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT,
                       _("“%s” holds images of %d × %d pixels, but the training images are %d × %d"),
                       display, test_shape.w, test_shape.h, shape.w, shape.h);
          return FALSE;
        }
    }
  else
    {
      test_set = convolve_dataset_try_new (name, 0, shape.c, shape.h, shape.w,
                                           (const char * const *) class_names, error);
      if (test_set == NULL)
        return FALSE;
    }

  *train = g_steal_pointer (&train_set);
  *test = g_steal_pointer (&test_set);
  return TRUE;
}
