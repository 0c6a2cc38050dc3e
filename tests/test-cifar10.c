/* test-cifar10.c: the CIFAR-10 binary and python (pickle) layouts.
 *
 * The pickles are written here, opcode by opcode, the way Python 2's
 * cPickle wrote the original files (and, for one variant, the way Python 3
 * writes the same dictionary with protocol 2), so the tests need no Python.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* pread64 */

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-loaders.h"
#include "data-test-util.h"

#define RECORD 3073
#define IMAGE  3072

/* A recognisable image: pixel p of image i is (i * 7 + p) mod 251. */
static guint8
pixel_value (guint image,
             guint p)
{
  return (guint8) ((image * 7 + p) % 251);
}

static GBytes *
make_binary_batch (guint        n,
                   guint        first_image,
                   const guint8 *labels)
{
  guint8 *data = g_malloc ((gsize) n * RECORD);

  for (guint i = 0; i < n; i++)
    {
      guint8 *record = data + (gsize) i * RECORD;

      record[0] = labels[i];
      for (guint p = 0; p < IMAGE; p++)
        record[1 + p] = pixel_value (first_image + i, p);
    }

  return g_bytes_new_take (data, (gsize) n * RECORD);
}

static void
write_bytes (const char *dir,
             const char *name,
             GBytes     *bytes)
{
  g_autofree char *path = data_test_write (dir, name, g_bytes_get_data (bytes, NULL),
                                           g_bytes_get_size (bytes));
}

static void
assert_images (const ConvolveDataset *dataset,
               guint                  first_image,
               const guint8          *labels,
               guint                  n)
{
  ConvolveShape shape = convolve_dataset_get_shape (dataset);

  g_assert_cmpuint (convolve_dataset_get_n_images (dataset), ==, n);
  g_assert_cmpint (shape.c, ==, 3);
  g_assert_cmpint (shape.h, ==, 32);
  g_assert_cmpint (shape.w, ==, 32);
  g_assert_cmpstr (convolve_dataset_get_name (dataset), ==, "cifar10");
  for (guint i = 0; i < n; i++)
    {
      const guint8 *image = convolve_dataset_get_image (dataset, i);

      g_assert_cmpuint (convolve_dataset_get_label (dataset, i), ==, labels[i]);
      for (guint p = 0; p < IMAGE; p++)
        if (image[p] != pixel_value (first_image + i, p))
          g_error ("image %u pixel %u is %u, expected %u", i, p, image[p], pixel_value (first_image + i, p));
    }
}

static const char * const standard_names[] = {
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", NULL,
};

/* ---------------------------------------------------------------- binary */

static void
test_binary_good (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) batch1 = NULL;
  g_autoptr(GBytes) batch3 = NULL;
  g_autoptr(GBytes) test_batch = NULL;
  const guint8 train_labels[] = { 6, 9, 9, 4, 1 };
  const guint8 test_labels[] = { 3, 8 };
  const char *meta = "apple\nbanana\ncherry\ndate\nelder\nfig\ngrape\nhoney\niris\njuniper\n\n";
  const char * const *names;

  /* batch 2 is missing: the others still load, in order */
  batch1 = make_binary_batch (3, 0, train_labels);
  batch3 = make_binary_batch (2, 3, train_labels + 3);
  test_batch = make_binary_batch (2, 100, test_labels);
  write_bytes (dir, "data_batch_1.bin", batch1);
  write_bytes (dir, "data_batch_3.bin", batch3);
  write_bytes (dir, "test_batch.bin", test_batch);
  g_free (data_test_write (dir, "batches.meta.txt", meta, strlen (meta)));

  g_assert_true (convolve_cifar10_load_binary (dir, &train, &test, NULL, &error));
  g_assert_no_error (error);
  assert_images (train, 0, train_labels, 5);
  assert_images (test, 100, test_labels, 2);

  /* names that are not the standard ones are kept as written */
  names = convolve_dataset_get_class_names (train);
  g_assert_cmpint (convolve_dataset_get_n_classes (train), ==, 10);
  g_assert_cmpstr (names[0], ==, "apple");
  g_assert_cmpstr (names[9], ==, "juniper");
  g_assert_cmpint (convolve_dataset_get_n_classes (test), ==, 10);

  data_test_remove_dir (dir);
}

static void
test_binary_defaults (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 0 };

  batch = make_binary_batch (1, 0, labels);
  write_bytes (dir, "data_batch_5.bin", batch);

  g_assert_true (convolve_cifar10_load_binary (dir, &train, &test, NULL, &error));
  g_assert_no_error (error);
  assert_images (train, 0, labels, 1);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 0);
  g_assert_cmpstrv (convolve_dataset_get_class_names (train), standard_names);

  data_test_remove_dir (dir);
}

static void
assert_binary_fails (const char *dir,
                     int         code,
                     const char *mentions)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (convolve_cifar10_load_binary (dir, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, code);
  g_assert_null (train);
  g_assert_null (test);
  if (mentions != NULL)
    data_test_assert_names (error, mentions);
  g_test_message ("%s", error->message);
}

static void
test_binary_truncated (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 1, 2 };

  batch = make_binary_batch (2, 0, labels);
  write_bytes (dir, "data_batch_1.bin", batch);
  /* the test batch ends in the middle of its second record */
  g_free (data_test_write (dir, "test_batch.bin", g_bytes_get_data (batch, NULL), RECORD + 100));
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "test_batch.bin");

  data_test_remove_dir (dir);
}

/* ------------------------------------------------------------------ */
/* A file cut short while it is loaded. read() and pread() are defined
 * here, so the loaders (linked into this test) call these: when armed,
 * the first read of the armed file first cuts it to half its size, just
 * after the loader measured it. A loader that mapped the file would die
 * of SIGBUS here instead of failing. */

static char *cut_path;       /* armed: the file to cut */
static guint cut_count;      /* how often the file was cut */

static void
maybe_cut (int fd)
{
  g_autofree char *link = NULL;
  g_autofree char *target = NULL;
  struct stat st;

  if (cut_path == NULL)
    return;
  link = g_strdup_printf ("/proc/self/fd/%d", fd);
  target = g_file_read_link (link, NULL);
  if (g_strcmp0 (target, cut_path) != 0 || fstat (fd, &st) != 0)
    return;
  g_assert_cmpint (truncate (cut_path, st.st_size / 2), ==, 0);
  g_clear_pointer (&cut_path, g_free);
  cut_count++;
}

ssize_t
read (int     fd,
      void   *buffer,
      size_t  n)
{
  maybe_cut (fd);
  return syscall (SYS_read, fd, buffer, n);
}

ssize_t
pread64 (int      fd,
         void    *buffer,
         size_t   n,
         off64_t  offset)
{
  maybe_cut (fd);
  return syscall (SYS_pread64, fd, buffer, n, offset);
}

static void
test_binary_cut_while_loading (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) batch = NULL;
  guint8 labels[600];

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    labels[i] = (guint8) (i % 10);
  batch = make_binary_batch (G_N_ELEMENTS (labels), 0, labels);
  write_bytes (dir, "data_batch_1.bin", batch);
  write_bytes (dir, "data_batch_2.bin", batch);

  cut_path = g_build_filename (dir, "data_batch_2.bin", NULL);
  cut_count = 0;
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "changed while it was being read");
  g_assert_cmpuint (cut_count, ==, 1);
  g_clear_pointer (&cut_path, g_free);

  data_test_remove_dir (dir);
}

/* A FIFO (or a device) under a batch's name: open() and read() would
 * block forever; the load fails at once instead. */
static void
test_binary_fifo (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autofree char *fifo = g_build_filename (dir, "data_batch_2.bin", NULL);
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 1, 2 };
  gint64 start;

  batch = make_binary_batch (2, 0, labels);
  write_bytes (dir, "data_batch_1.bin", batch);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  alarm (30);  /* a hang fails the test instead of stalling it */
  start = g_get_monotonic_time ();
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_FORMAT, "is not a regular file");
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  alarm (0);

  data_test_remove_dir (dir);
}

static void
test_binary_empty (void)
{
  g_autofree char *dir = data_test_make_dir ();

  g_free (data_test_write (dir, "data_batch_1.bin", "", 0));
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "data_batch_1.bin");

  data_test_remove_dir (dir);
}

static void
test_binary_bad_label (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 1, 2, 10 };

  batch = make_binary_batch (3, 0, labels);
  write_bytes (dir, "data_batch_2.bin", batch);
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_FORMAT, "data_batch_2.bin");

  data_test_remove_dir (dir);
}

static void
test_binary_foreign (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autofree char *text = g_strnfill (RECORD * 2, 'x');
  const char *png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

  /* whole records, but text: 'x' is no label */
  g_free (data_test_write (dir, "data_batch_1.bin", text, RECORD * 2));
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_FORMAT, "data_batch_1.bin");

  /* a picture under a batch's name */
  g_free (data_test_write (dir, "data_batch_1.bin", png, 16));
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "data_batch_1.bin");

  data_test_remove_dir (dir);
}

static void
test_binary_missing (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 1 };

  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_NOT_FOUND, NULL);

  /* a test batch alone is not a training set */
  batch = make_binary_batch (1, 0, labels);
  write_bytes (dir, "test_batch.bin", batch);
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_NOT_FOUND, NULL);

  data_test_remove_dir (dir);
}

static void
test_binary_bad_meta (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 1 };
  const char *meta = "cat\ndog\n";

  batch = make_binary_batch (1, 0, labels);
  write_bytes (dir, "data_batch_1.bin", batch);
  g_free (data_test_write (dir, "batches.meta.txt", meta, strlen (meta)));
  assert_binary_fails (dir, CONVOLVE_DATA_ERROR_FORMAT, "batches.meta.txt");

  data_test_remove_dir (dir);
}

static void
test_binary_cancelled (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 1 };

  batch = make_binary_batch (1, 0, labels);
  write_bytes (dir, "data_batch_1.bin", batch);
  g_cancellable_cancel (cancellable);

  g_assert_false (convolve_cifar10_load_binary (dir, &train, &test, cancellable, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);

  data_test_remove_dir (dir);
}

/* ---------------------------------------------------------------- pickles */

typedef struct {
  GByteArray *bytes;
  guint       memo;
  gboolean    python3;  /* byte strings as _codecs.encode(text, 'latin1') */
} PickleWriter;

static void
w_raw (PickleWriter *w,
       const void   *data,
       gsize         n)
{
  g_byte_array_append (w->bytes, data, (guint) n);
}

static void
w_op (PickleWriter *w,
      guint8        op)
{
  w_raw (w, &op, 1);
}

static void
w_u32 (PickleWriter *w,
       guint32       v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

  w_raw (w, b, 4);
}

/* BINPUT / LONG_BINPUT, as cPickle does after nearly every object */
static void
w_put (PickleWriter *w)
{
  if (w->memo < 256)
    {
      w_op (w, 'q');
      w_op (w, (guint8) w->memo);
    }
  else
    {
      w_op (w, 'r');
      w_u32 (w, w->memo);
    }
  w->memo++;
}

static void
w_int (PickleWriter *w,
       gint64        v)
{
  if (v >= 0 && v < 256)
    {
      w_op (w, 'K');
      w_op (w, (guint8) v);
    }
  else if (v >= 0 && v < 65536)
    {
      w_op (w, 'M');
      w_op (w, v & 0xff);
      w_op (w, (v >> 8) & 0xff);
    }
  else
    {
      w_op (w, 'J');
      w_u32 (w, (guint32) (gint32) v);
    }
}

static void
w_global (PickleWriter *w,
          const char   *module,
          const char   *name)
{
  w_op (w, 'c');
  w_raw (w, module, strlen (module));
  w_op (w, '\n');
  w_raw (w, name, strlen (name));
  w_op (w, '\n');
  w_put (w);
}

static void
w_unicode (PickleWriter *w,
           const char   *utf8,
           gsize         n)
{
  w_op (w, 'X');
  w_u32 (w, (guint32) n);
  w_raw (w, utf8, n);
  w_put (w);
}

static void
w_bytes (PickleWriter *w,
         const void   *data,
         gsize         n)
{
  const guint8 *b = data;

  if (w->python3)
    {
      GString *text = g_string_sized_new (n * 2);

      for (gsize i = 0; i < n; i++)
        g_string_append_unichar (text, b[i]);

      w_global (w, "_codecs", "encode");
      w_unicode (w, text->str, text->len);
      w_unicode (w, "latin1", 6);
      w_op (w, 0x86); /* TUPLE2 */
      w_put (w);
      w_op (w, 'R');
      w_put (w);
      g_string_free (text, TRUE);
      return;
    }

  if (n < 256)
    {
      w_op (w, 'U');
      w_op (w, (guint8) n);
    }
  else
    {
      w_op (w, 'T');
      w_u32 (w, (guint32) n);
    }
  w_raw (w, data, n);
  w_put (w);
}

static void
w_str (PickleWriter *w,
       const char   *s)
{
  w_bytes (w, s, strlen (s));
}

typedef struct {
  guint         n_images;
  guint         first_image;
  const guint8 *labels;
  guint         n_labels;
  const char   *dtype;        /* "u1" */
  guint         columns;      /* 3072 */
  const char   *reconstruct;  /* "numpy.core.multiarray" */
  gboolean      python3;
} BatchSpec;

static void
batch_spec_init (BatchSpec    *spec,
                 guint         n_images,
                 guint         first_image,
                 const guint8 *labels)
{
  spec->n_images = n_images;
  spec->first_image = first_image;
  spec->labels = labels;
  spec->n_labels = n_images;
  spec->dtype = "u1";
  spec->columns = IMAGE;
  spec->reconstruct = "numpy.core.multiarray";
  spec->python3 = FALSE;
}

/* numpy's __reduce__ of a uint8 array, as cPickle writes it */
static void
w_ndarray (PickleWriter    *w,
           const BatchSpec *spec)
{
  gsize size = (gsize) spec->n_images * spec->columns;
  guint8 *data = g_malloc (MAX (size, 1));

  for (guint i = 0; i < spec->n_images; i++)
    for (guint p = 0; p < spec->columns; p++)
      data[(gsize) i * spec->columns + p] = pixel_value (spec->first_image + i, p);

  w_global (w, spec->reconstruct, "_reconstruct");
  w_global (w, "numpy", "ndarray");
  w_int (w, 0);
  w_op (w, 0x85); /* TUPLE1 */
  w_put (w);
  w_str (w, "b");
  w_op (w, 0x87); /* TUPLE3 */
  w_put (w);
  w_op (w, 'R');
  w_put (w);

  w_op (w, '(');
  w_int (w, 1);
  w_int (w, spec->n_images);
  w_int (w, spec->columns);
  w_op (w, 0x86); /* TUPLE2: the shape */
  w_put (w);
  w_global (w, "numpy", "dtype");
  w_str (w, spec->dtype);
  w_int (w, 0);
  w_int (w, 1);
  w_op (w, 0x87);
  w_put (w);
  w_op (w, 'R');
  w_put (w);
  w_op (w, '(');
  w_int (w, 3);
  w_str (w, "|");
  w_op (w, 'N');
  w_op (w, 'N');
  w_op (w, 'N');
  w_int (w, -1);
  w_int (w, -1);
  w_int (w, 0);
  w_op (w, 't');
  w_put (w);
  w_op (w, 'b');   /* BUILD the dtype */
  w_op (w, 0x89);  /* NEWFALSE: not Fortran order */
  w_bytes (w, data, size);
  w_op (w, 't');
  w_put (w);
  w_op (w, 'b');   /* BUILD the array */

  g_free (data);
}

/* A list, in APPENDS runs of at most 1000 items as cPickle writes them. */
static void
w_label_list (PickleWriter    *w,
              const BatchSpec *spec)
{
  w_op (w, ']');
  w_put (w);
  for (guint start = 0; start < spec->n_labels; start += 1000)
    {
      w_op (w, '(');
      for (guint i = start; i < MIN (start + 1000, spec->n_labels); i++)
        w_int (w, spec->labels[i]);
      w_op (w, 'e');
    }
}

static GBytes *
make_pickle_batch (const BatchSpec *spec)
{
  PickleWriter w = { g_byte_array_new (), 0, spec->python3 };

  w_op (&w, 0x80);
  w_op (&w, 2);
  w_op (&w, '}');
  w_put (&w);
  w_op (&w, '(');

  w_str (&w, "data");
  w_ndarray (&w, spec);

  w_str (&w, "labels");
  w_label_list (&w, spec);

  w_str (&w, "batch_label");
  w_str (&w, "training batch 1 of 5");

  w_str (&w, "filenames");
  w_op (&w, ']');
  w_put (&w);
  w_op (&w, '(');
  for (guint i = 0; i < spec->n_images; i++)
    {
      g_autofree char *name = g_strdup_printf ("image_%u.png", i);

      w_str (&w, name);
    }
  w_op (&w, 'e');

  w_op (&w, 'u');  /* SETITEMS */
  w_op (&w, '.');  /* STOP */

  return g_byte_array_free_to_bytes (w.bytes);
}

static GBytes *
make_pickle_meta (const char * const *names,
                  gboolean            python3)
{
  PickleWriter w = { g_byte_array_new (), 0, python3 };

  w_op (&w, 0x80);
  w_op (&w, 2);
  w_op (&w, '}');
  w_put (&w);
  w_op (&w, '(');
  w_str (&w, "num_cases_per_batch");
  w_int (&w, 10000);
  w_str (&w, "label_names");
  w_op (&w, ']');
  w_put (&w);
  w_op (&w, '(');
  for (guint i = 0; names[i] != NULL; i++)
    w_str (&w, names[i]);
  w_op (&w, 'e');
  w_str (&w, "num_vis");
  w_int (&w, 3072);
  w_op (&w, 'u');
  w_op (&w, '.');

  return g_byte_array_free_to_bytes (w.bytes);
}

static void
check_python_layout (gboolean python3)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) batch1 = NULL;
  g_autoptr(GBytes) batch2 = NULL;
  g_autoptr(GBytes) test_batch = NULL;
  g_autoptr(GBytes) meta = NULL;
  const guint8 train_labels[] = { 6, 9, 9, 4, 1 };
  const guint8 test_labels[] = { 3, 8 };
  BatchSpec spec;

  batch_spec_init (&spec, 3, 0, train_labels);
  spec.python3 = python3;
  batch1 = make_pickle_batch (&spec);
  batch_spec_init (&spec, 2, 3, train_labels + 3);
  spec.python3 = python3;
  batch2 = make_pickle_batch (&spec);
  batch_spec_init (&spec, 2, 100, test_labels);
  spec.python3 = python3;
  test_batch = make_pickle_batch (&spec);
  meta = make_pickle_meta (standard_names, python3);

  write_bytes (dir, "data_batch_1", batch1);
  write_bytes (dir, "data_batch_2", batch2);
  write_bytes (dir, "test_batch", test_batch);
  write_bytes (dir, "batches.meta", meta);

  convolve_cifar10_load_python (dir, &train, &test, NULL, &error);
  g_assert_no_error (error);
  assert_images (train, 0, train_labels, 5);
  assert_images (test, 100, test_labels, 2);
  g_assert_cmpstrv (convolve_dataset_get_class_names (train), standard_names);
  g_assert_cmpstrv (convolve_dataset_get_class_names (test), standard_names);

  data_test_remove_dir (dir);
}

static void
test_python_good (void)
{
  check_python_layout (FALSE);
}

static void
test_python_good_python3 (void)
{
  check_python_layout (TRUE);
}

/* More than 255 memo entries (LONG_BINPUT) and more than 1000 labels (several
 * APPENDS runs), as in the real 10,000-image batches. */
static void
test_python_long_lists (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveCifar10Batch batch = { 0, NULL, NULL };
  guint8 labels[1500];
  BatchSpec spec;

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    labels[i] = (guint8) (i % 10);
  batch_spec_init (&spec, G_N_ELEMENTS (labels), 0, labels);
  bytes = make_pickle_batch (&spec);

  g_assert_true (convolve_cifar10_python_read_batch (bytes, "data_batch_1", &batch, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (batch.n_images, ==, 1500);
  g_assert_cmpmem (batch.labels, 1500, labels, 1500);
  g_assert_cmpuint (g_bytes_get_size (batch.pixels), ==, 1500 * IMAGE);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (batch.pixels, NULL))[1499 * IMAGE + 5], ==,
                    pixel_value (1499, 5));
  convolve_cifar10_batch_clear (&batch);
}

static void
assert_pickle_fails (GBytes     *bytes,
                     int         code,
                     const char *mentions)
{
  g_autoptr(GError) error = NULL;
  ConvolveCifar10Batch batch = { 0, NULL, NULL };

  g_assert_false (convolve_cifar10_python_read_batch (bytes, "/tmp/evil/data_batch_1", &batch, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, code);
  g_assert_null (batch.pixels);
  g_assert_null (batch.labels);
  data_test_assert_names (error, "data_batch_1");
  if (mentions != NULL)
    data_test_assert_names (error, mentions);
  g_test_message ("%s", error->message);
}

static void
assert_raw_pickle_fails (const void *data,
                         gsize       length,
                         int         code,
                         const char *mentions)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, length);

  assert_pickle_fails (bytes, code, mentions);
}

/* The classic exploit: os.system('...') through REDUCE. Nothing may run
 * (a file would appear) and the global must be named in the error. */
static void
test_python_malicious_global (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autofree char *witness = g_build_filename (dir, "pwned", NULL);
  g_autofree char *command = g_strdup_printf ("touch %s", witness);
  PickleWriter w = { g_byte_array_new (), 0, FALSE };
  g_autoptr(GBytes) bytes = NULL;
  static const char * const globals[][2] = {
    { "__builtin__", "eval" },
    { "builtins", "exec" },
    { "subprocess", "Popen" },
    { "numpy", "load" },
    { "numpy.core.multiarray", "scalar" },
  };

  w_op (&w, 0x80);
  w_op (&w, 2);
  w_global (&w, "os", "system");
  w_str (&w, command);
  w_op (&w, 0x85);
  w_op (&w, 'R');
  w_op (&w, '.');
  bytes = g_byte_array_free_to_bytes (w.bytes);
  assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_UNSUPPORTED, "os.system");
  g_assert_false (g_file_test (witness, G_FILE_TEST_EXISTS));

  for (gsize i = 0; i < G_N_ELEMENTS (globals); i++)
    {
      g_autoptr(GBytes) other = NULL;
      g_autofree char *name = g_strdup_printf ("%s.%s", globals[i][0], globals[i][1]);

      w.bytes = g_byte_array_new ();
      w_op (&w, 0x80);
      w_op (&w, 2);
      w_op (&w, '}');
      w_global (&w, globals[i][0], globals[i][1]);
      other = g_byte_array_free_to_bytes (w.bytes);
      assert_pickle_fails (other, CONVOLVE_DATA_ERROR_UNSUPPORTED, name);
    }

  data_test_remove_dir (dir);
}

/* Opcodes a CIFAR-10 batch never uses: object building and protocol 4. */
static void
test_python_unknown_opcodes (void)
{
  static const struct {
    const char *data;
    gsize       length;
  } cases[] = {
    { "\x80\x02(cnumpy\ndtype\no.", 18 },            /* OBJ */
    { "\x80\x02(ios\nsystem\n.", 15 },                /* INST */
    { "\x80\x02\x95\x10\0\0\0\0\0\0\0.", 12 },       /* FRAME */
    { "\x80\x02\x8c\x02os\x8c\x06system\x93.", 16 }, /* STACK_GLOBAL */
    { "\x80\x02P1\n.", 6 },                          /* PERSID */
    { "\x80\x02\x82\x01.", 5 },                      /* EXT1 */
    { "\x80\x02]\x81.", 5 },                         /* NEWOBJ */
    { "\x80\x02I1\n.", 6 },                          /* INT (text) */
    { "\x80\x02Z.", 4 },                             /* not an opcode */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_raw_pickle_fails (cases[i].data, cases[i].length, CONVOLVE_DATA_ERROR_UNSUPPORTED, "opcode");
}

static void
test_python_damaged (void)
{
  /* not a pickle at all */
  assert_raw_pickle_fails ("Hello, world\n", 13, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* protocol 4 */
  assert_raw_pickle_fails ("\x80\x04}.", 4, CONVOLVE_DATA_ERROR_UNSUPPORTED, NULL);
  /* empty */
  assert_raw_pickle_fails ("", 0, CONVOLVE_DATA_ERROR_TRUNCATED, NULL);
  /* no STOP */
  assert_raw_pickle_fails ("\x80\x02}", 3, CONVOLVE_DATA_ERROR_TRUNCATED, NULL);
  /* a string longer than the file */
  assert_raw_pickle_fails ("\x80\x02U\x40short.", 10, CONVOLVE_DATA_ERROR_TRUNCATED, NULL);
  /* BINSTRING with a negative length */
  assert_raw_pickle_fails ("\x80\x02T\xff\xff\xff\xff.", 8, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* stack underflow */
  assert_raw_pickle_fails ("\x80\x02\x86.", 4, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* a memo entry that was never stored */
  assert_raw_pickle_fails ("\x80\x02h\x05.", 5, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* SETITEMS on a list */
  assert_raw_pickle_fails ("\x80\x02](K\x01K\x02u.", 10, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* SETITEMS without a mark */
  assert_raw_pickle_fails ("\x80\x02}K\x01K\x02u.", 9, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* two values left at STOP */
  assert_raw_pickle_fails ("\x80\x02}}.", 5, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* bytes after STOP */
  assert_raw_pickle_fails ("\x80\x02}.junk", 8, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* a list, not a dictionary */
  assert_raw_pickle_fails ("\x80\x02].", 4, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* a dictionary without data */
  assert_raw_pickle_fails ("\x80\x02}(U\x06labels]u.", 15, CONVOLVE_DATA_ERROR_FORMAT, "data");
  /* invalid UTF-8 in BINUNICODE */
  assert_raw_pickle_fails ("\x80\x02X\x02\0\0\0\xff\xfe.", 10, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  /* the array global called directly */
  assert_raw_pickle_fails ("\x80\x02\x63numpy\nndarray\n)R.", 20, CONVOLVE_DATA_ERROR_UNSUPPORTED, NULL);
}

static void
test_python_truncated (void)
{
  g_autoptr(GBytes) bytes = NULL;
  const guint8 labels[] = { 1, 2 };
  BatchSpec spec;

  batch_spec_init (&spec, 2, 0, labels);
  bytes = make_pickle_batch (&spec);

  /* cut anywhere: always refused, never read past the end */
  for (gsize cut = 1; cut < g_bytes_get_size (bytes); cut += 97)
    {
      g_autoptr(GBytes) part = g_bytes_new_from_bytes (bytes, 0, cut);
      g_autoptr(GError) error = NULL;
      ConvolveCifar10Batch batch = { 0, NULL, NULL };

      g_assert_false (convolve_cifar10_python_read_batch (part, "data_batch_1", &batch, &error));
      g_assert_nonnull (error);
    }

  {
    g_autoptr(GBytes) half = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) / 2);

    assert_pickle_fails (half, CONVOLVE_DATA_ERROR_TRUNCATED, NULL);
  }
}

static void
test_python_wrong_shapes (void)
{
  const guint8 labels[] = { 1, 2, 12 };
  BatchSpec spec;

  /* int16 pixels */
  {
    g_autoptr(GBytes) bytes = NULL;

    batch_spec_init (&spec, 2, 0, labels);
    spec.dtype = "<i2";
    bytes = make_pickle_batch (&spec);
    assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_UNSUPPORTED, "uint8");
  }

  /* 32 x 32 grey images */
  {
    g_autoptr(GBytes) bytes = NULL;

    batch_spec_init (&spec, 2, 0, labels);
    spec.columns = 1024;
    bytes = make_pickle_batch (&spec);
    assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_UNSUPPORTED, "3072");
  }

  /* three labels for two images */
  {
    g_autoptr(GBytes) bytes = NULL;

    batch_spec_init (&spec, 2, 0, labels);
    spec.n_labels = 3;
    bytes = make_pickle_batch (&spec);
    assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  }

  /* a label out of range */
  {
    g_autoptr(GBytes) bytes = NULL;

    batch_spec_init (&spec, 3, 0, labels);
    bytes = make_pickle_batch (&spec);
    assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_FORMAT, NULL);
  }

  /* _reconstruct from a module that only looks like numpy's */
  {
    g_autoptr(GBytes) bytes = NULL;

    batch_spec_init (&spec, 2, 0, labels);
    spec.reconstruct = "numpy.core.multiarray.evil";
    bytes = make_pickle_batch (&spec);
    assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_UNSUPPORTED, NULL);
  }
}

/* A file of a million small objects is refused before it eats memory. */
static void
test_python_too_many_objects (void)
{
  gsize n = 1100000;
  guint8 *data = g_malloc (n + 3);
  g_autoptr(GBytes) bytes = NULL;

  data[0] = 0x80;
  data[1] = 2;
  memset (data + 2, 'N', n);
  data[n + 2] = '.';
  bytes = g_bytes_new_take (data, n + 3);
  assert_pickle_fails (bytes, CONVOLVE_DATA_ERROR_UNSUPPORTED, NULL);
}

static void
test_python_meta (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  const char * const custom[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", NULL };
  const char * const short_list[] = { "a", "b", NULL };

  {
    g_autoptr(GBytes) meta = make_pickle_meta (custom, FALSE);

    names = convolve_cifar10_python_read_label_names (meta, "batches.meta", &error);
    g_assert_no_error (error);
    g_assert_cmpstrv (names, custom);
  }

  {
    g_autoptr(GBytes) meta = make_pickle_meta (short_list, TRUE);
    g_auto(GStrv) none = convolve_cifar10_python_read_label_names (meta, "batches.meta", &error);

    g_assert_null (none);
    g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_FORMAT);
    data_test_assert_names (error, "batches.meta");
  }
}

static void
test_python_missing (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) batch = NULL;
  const guint8 labels[] = { 7 };
  BatchSpec spec;

  g_assert_false (convolve_cifar10_load_python (dir, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* one batch, no test batch, no meta: standard names, empty test set */
  batch_spec_init (&spec, 1, 0, labels);
  batch = make_pickle_batch (&spec);
  write_bytes (dir, "data_batch_4", batch);
  convolve_cifar10_load_python (dir, &train, &test, NULL, &error);
  g_assert_no_error (error);
  assert_images (train, 0, labels, 1);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 0);
  g_assert_cmpstrv (convolve_dataset_get_class_names (train), standard_names);

  data_test_remove_dir (dir);
}

static void
assert_python_fails (const char *dir,
                     int         code,
                     const char *name)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (convolve_cifar10_load_python (dir, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, code);
  data_test_assert_names (error, name);
}

static void
test_python_cut_while_loading (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) batch = NULL;
  guint8 labels[300];
  BatchSpec spec;

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    labels[i] = (guint8) (i % 10);
  batch_spec_init (&spec, G_N_ELEMENTS (labels), 0, labels);
  batch = make_pickle_batch (&spec);
  write_bytes (dir, "data_batch_1", batch);

  cut_path = g_build_filename (dir, "data_batch_1", NULL);
  cut_count = 0;
  assert_python_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "changed while it was being read");
  g_assert_cmpuint (cut_count, ==, 1);
  g_clear_pointer (&cut_path, g_free);

  data_test_remove_dir (dir);
}

/* A FIFO under a dataset file's name would block open() forever, a device
 * such as /dev/zero never end: both are refused, and a class list that
 * is far too long is not read to its end. */
static void
test_not_regular_files (void)
{
  g_autofree char *binary = data_test_make_dir ();
  g_autofree char *python = data_test_make_dir ();
  g_autofree char *meta_txt = g_build_filename (binary, "batches.meta.txt", NULL);
  g_autofree char *test_batch = g_build_filename (python, "test_batch", NULL);
  g_autofree char *meta = g_build_filename (python, "batches.meta", NULL);
  g_autofree char *long_meta = g_malloc (100 * 1024);
  g_autoptr(GBytes) batch = NULL;
  g_autoptr(GBytes) pickle = NULL;
  const guint8 labels[] = { 1 };
  BatchSpec spec;

  /* a hang fails the test instead of stalling it */
  alarm (30);

  batch = make_binary_batch (1, 0, labels);
  write_bytes (binary, "data_batch_1.bin", batch);
  g_assert_cmpint (mkfifo (meta_txt, 0600), ==, 0);
  assert_binary_fails (binary, CONVOLVE_DATA_ERROR_FORMAT, "batches.meta.txt");
  g_unlink (meta_txt);
  g_assert_cmpint (symlink ("/dev/zero", meta_txt), ==, 0);
  assert_binary_fails (binary, CONVOLVE_DATA_ERROR_FORMAT, "batches.meta.txt");
  g_unlink (meta_txt);
  memset (long_meta, 'a', 100 * 1024);
  g_free (data_test_write (binary, "batches.meta.txt", long_meta, 100 * 1024));
  assert_binary_fails (binary, CONVOLVE_DATA_ERROR_FORMAT, "batches.meta.txt");

  batch_spec_init (&spec, 1, 0, labels);
  pickle = make_pickle_batch (&spec);
  write_bytes (python, "data_batch_1", pickle);
  g_assert_cmpint (mkfifo (test_batch, 0600), ==, 0);
  assert_python_fails (python, CONVOLVE_DATA_ERROR_FORMAT, "test_batch");
  g_unlink (test_batch);
  g_assert_cmpint (symlink ("/dev/zero", meta), ==, 0);
  assert_python_fails (python, CONVOLVE_DATA_ERROR_FORMAT, "batches.meta");

  alarm (0);
  data_test_remove_dir (binary);
  data_test_remove_dir (python);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/cifar10/binary/good", test_binary_good);
  g_test_add_func ("/data/cifar10/binary/defaults", test_binary_defaults);
  g_test_add_func ("/data/cifar10/binary/truncated", test_binary_truncated);
  g_test_add_func ("/data/cifar10/binary/cut-while-loading", test_binary_cut_while_loading);
  g_test_add_func ("/data/cifar10/binary/fifo", test_binary_fifo);
  g_test_add_func ("/data/cifar10/binary/empty", test_binary_empty);
  g_test_add_func ("/data/cifar10/binary/bad-label", test_binary_bad_label);
  g_test_add_func ("/data/cifar10/binary/foreign", test_binary_foreign);
  g_test_add_func ("/data/cifar10/binary/missing", test_binary_missing);
  g_test_add_func ("/data/cifar10/binary/bad-meta", test_binary_bad_meta);
  g_test_add_func ("/data/cifar10/binary/cancelled", test_binary_cancelled);
  g_test_add_func ("/data/cifar10/python/good", test_python_good);
  g_test_add_func ("/data/cifar10/python/cut-while-loading", test_python_cut_while_loading);
  g_test_add_func ("/data/cifar10/python/good-python3", test_python_good_python3);
  g_test_add_func ("/data/cifar10/python/long-lists", test_python_long_lists);
  g_test_add_func ("/data/cifar10/python/malicious-global", test_python_malicious_global);
  g_test_add_func ("/data/cifar10/python/unknown-opcodes", test_python_unknown_opcodes);
  g_test_add_func ("/data/cifar10/python/damaged", test_python_damaged);
  g_test_add_func ("/data/cifar10/python/truncated", test_python_truncated);
  g_test_add_func ("/data/cifar10/python/wrong-shapes", test_python_wrong_shapes);
  g_test_add_func ("/data/cifar10/python/too-many-objects", test_python_too_many_objects);
  g_test_add_func ("/data/cifar10/python/meta", test_python_meta);
  g_test_add_func ("/data/cifar10/python/missing", test_python_missing);
  g_test_add_func ("/data/cifar10/not-regular-files", test_not_regular_files);

  return g_test_run ();
}
