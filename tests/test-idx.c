/* test-idx.c: IDX files (MNIST, Fashion-MNIST), raw and gzip-compressed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <sys/resource.h>

#include "convolve-data-private.h"
#include "convolve-loaders.h"
#include "data-test-util.h"
#include "resource-test-util.h"

static guint8
pixel_value (guint image,
             guint p)
{
  return (guint8) ((image * 13 + p * 3) % 256);
}

static void
put_u32_be (GByteArray *bytes,
            guint32     v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (bytes, b, 4);
}

static GBytes *
make_images (guint32 magic,
             guint   n,
             guint   rows,
             guint   cols,
             guint   first_image,
             gssize  payload_delta)   /* bytes more (or fewer) than the header says */
{
  GByteArray *bytes = g_byte_array_new ();
  gsize size = (gsize) n * rows * cols;
  gsize written = (gsize) ((gssize) size + payload_delta);

  put_u32_be (bytes, magic);
  put_u32_be (bytes, n);
  put_u32_be (bytes, rows);
  put_u32_be (bytes, cols);
  for (gsize i = 0; i < written; i++)
    {
      guint8 v = pixel_value (first_image + (guint) (i / (rows * cols)), (guint) (i % (rows * cols)));

      g_byte_array_append (bytes, &v, 1);
    }

  return g_byte_array_free_to_bytes (bytes);
}

static GBytes *
make_labels (guint32       magic,
             guint         n,
             const guint8 *labels)
{
  GByteArray *bytes = g_byte_array_new ();

  put_u32_be (bytes, magic);
  put_u32_be (bytes, n);
  g_byte_array_append (bytes, labels, n);
  return g_byte_array_free_to_bytes (bytes);
}

static GBytes *
gzip_bytes (GBytes *raw)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) gz = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  g_output_stream_write_all (gz, g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                             &written, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (gz, NULL, &error);
  g_assert_no_error (error);

  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static void
write_file (const char *dir,
            const char *name,
            GBytes     *bytes,
            gboolean    compress)
{
  g_autoptr(GBytes) data = compress ? gzip_bytes (bytes) : g_bytes_ref (bytes);
  g_autofree char *file_name = compress ? g_strconcat (name, ".gz", NULL) : g_strdup (name);

  g_free (data_test_write (dir, file_name, g_bytes_get_data (data, NULL), g_bytes_get_size (data)));
}

/* A small dataset: 5 training and 3 test images of 4 x 6 pixels. */
static const guint8 train_labels[] = { 9, 0, 0, 3, 7 };
static const guint8 test_labels[] = { 2, 5, 9 };

static void
write_good_set (const char *dir,
                gboolean    compress)
{
  g_autoptr(GBytes) train_images = make_images (0x803, 5, 4, 6, 0, 0);
  g_autoptr(GBytes) train_label_file = make_labels (0x801, 5, train_labels);
  g_autoptr(GBytes) test_images = make_images (0x803, 3, 4, 6, 50, 0);
  g_autoptr(GBytes) test_label_file = make_labels (0x801, 3, test_labels);

  write_file (dir, "train-images-idx3-ubyte", train_images, compress);
  write_file (dir, "train-labels-idx1-ubyte", train_label_file, compress);
  write_file (dir, "t10k-images-idx3-ubyte", test_images, compress);
  write_file (dir, "t10k-labels-idx1-ubyte", test_label_file, compress);
}

static void
assert_set (const ConvolveDataset *dataset,
            const char            *name,
            guint                  first_image,
            const guint8          *labels,
            guint                  n)
{
  ConvolveShape shape = convolve_dataset_get_shape (dataset);

  g_assert_cmpstr (convolve_dataset_get_name (dataset), ==, name);
  g_assert_cmpuint (convolve_dataset_get_n_images (dataset), ==, n);
  g_assert_cmpint (shape.c, ==, 1);
  g_assert_cmpint (shape.h, ==, 4);
  g_assert_cmpint (shape.w, ==, 6);
  g_assert_cmpint (convolve_dataset_get_n_classes (dataset), ==, 10);
  for (guint i = 0; i < n; i++)
    {
      const guint8 *image = convolve_dataset_get_image (dataset, i);

      g_assert_cmpuint (convolve_dataset_get_label (dataset, i), ==, labels[i]);
      for (guint p = 0; p < 24; p++)
        g_assert_cmpuint (image[p], ==, pixel_value (first_image + i, p));
    }
}

static void
check_good (gboolean    compress,
            const char *subdir,
            const char *name)
{
  g_autofree char *tmp = data_test_make_dir ();
  g_autofree char *dir = g_build_filename (tmp, subdir, NULL);
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *names;

  write_good_set (dir, compress);
  g_assert_true (convolve_idx_load_dir (dir, &train, &test, NULL, &error));
  g_assert_no_error (error);
  assert_set (train, name, 0, train_labels, 5);
  assert_set (test, name, 50, test_labels, 3);

  names = convolve_dataset_get_class_names (train);
  if (g_str_equal (name, "fashion-mnist"))
    {
      g_assert_cmpstr (names[0], ==, "T-shirt/top");
      g_assert_cmpstr (names[9], ==, "Ankle boot");
    }
  else
    {
      g_assert_cmpstr (names[0], ==, "0");
      g_assert_cmpstr (names[9], ==, "9");
    }

  data_test_remove_dir (tmp);
}

static void
test_idx_raw (void)
{
  check_good (FALSE, "fashion-mnist", "fashion-mnist");
}

static void
test_idx_gzip (void)
{
  check_good (TRUE, "MNIST/raw", "mnist");
}

static void
test_idx_no_test_set (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) images = make_images (0x803, 5, 4, 6, 0, 0);
  g_autoptr(GBytes) labels = make_labels (0x801, 5, train_labels);
  ConvolveShape shape;

  /* the dotted spelling some mirrors use */
  write_file (dir, "train-images.idx3-ubyte", images, FALSE);
  write_file (dir, "train-labels.idx1-ubyte", labels, TRUE);
  g_assert_true (convolve_idx_load_dir (dir, &train, &test, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 5);
  g_assert_cmpuint (convolve_dataset_get_n_images (test), ==, 0);
  shape = convolve_dataset_get_shape (test);
  g_assert_cmpint (shape.h, ==, 4);
  g_assert_cmpint (shape.w, ==, 6);

  data_test_remove_dir (dir);
}

static void
assert_fails (const char *dir,
              int         code,
              const char *mentions)
{
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (convolve_idx_load_dir (dir, &train, &test, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, code);
  g_assert_null (train);
  g_assert_null (test);
  if (mentions != NULL)
    data_test_assert_names (error, mentions);
  g_test_message ("%s", error->message);
}

/* Replaces one file of a good set and expects the given failure. */
static void
check_bad_file (const char *name,
                GBytes     *contents,
                gboolean    compress,
                int         code)
{
  g_autofree char *dir = data_test_make_dir ();

  write_good_set (dir, compress);
  write_file (dir, name, contents, compress);
  assert_fails (dir, code, name);

  data_test_remove_dir (dir);
}

static void
test_idx_truncated (void)
{
  g_autoptr(GBytes) short_images = make_images (0x803, 5, 4, 6, 0, -10);
  g_autoptr(GBytes) short_labels = make_labels (0x801, 3, test_labels);
  g_autoptr(GBytes) header_only = g_bytes_new ("\0\0\x08\x03\0\0", 6);
  g_autoptr(GBytes) cut_labels = g_bytes_new_from_bytes (short_labels, 0, 9);

  check_bad_file ("train-images-idx3-ubyte", short_images, FALSE, CONVOLVE_DATA_ERROR_TRUNCATED);
  check_bad_file ("train-images-idx3-ubyte", short_images, TRUE, CONVOLVE_DATA_ERROR_TRUNCATED);
  check_bad_file ("t10k-images-idx3-ubyte", header_only, FALSE, CONVOLVE_DATA_ERROR_TRUNCATED);
  check_bad_file ("t10k-labels-idx1-ubyte", cut_labels, FALSE, CONVOLVE_DATA_ERROR_TRUNCATED);

  /* a gzip stream cut in the middle */
  {
    g_autofree char *dir = data_test_make_dir ();
    g_autoptr(GBytes) images = make_images (0x803, 5, 4, 6, 0, 0);
    g_autoptr(GBytes) gz = gzip_bytes (images);

    write_good_set (dir, FALSE);
    g_free (data_test_write (dir, "train-images-idx3-ubyte", g_bytes_get_data (gz, NULL),
                             g_bytes_get_size (gz) - 12));
    assert_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "train-images-idx3-ubyte");
    data_test_remove_dir (dir);
  }
}

static void
test_idx_wrong_size (void)
{
  g_autoptr(GBytes) long_images = make_images (0x803, 5, 4, 6, 0, 7);
  g_autoptr(GBytes) few_labels = make_labels (0x801, 4, train_labels);
  g_autoptr(GBytes) wide_images = make_images (0x803, 3, 4, 7, 50, 0);
  g_autoptr(GBytes) no_images = make_images (0x803, 0, 4, 6, 0, 0);
  g_autoptr(GBytes) huge_images = make_images (0x803, 5, 100000, 6, 0, -(gssize) (5 * 100000 * 6));

  check_bad_file ("train-images-idx3-ubyte", long_images, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-labels-idx1-ubyte", few_labels, TRUE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("t10k-images-idx3-ubyte", wide_images, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-images-idx3-ubyte", no_images, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-images-idx3-ubyte", huge_images, FALSE, CONVOLVE_DATA_ERROR_UNSUPPORTED);
}

static void
test_idx_wrong_magic (void)
{
  g_autoptr(GBytes) int_images = make_images (0x0c03, 5, 4, 6, 0, 0);    /* int32 data */
  g_autoptr(GBytes) labels_as_images = make_labels (0x801, 5, train_labels);
  g_autoptr(GBytes) images_as_labels = make_images (0x803, 5, 4, 6, 0, 0);
  g_autoptr(GBytes) two_dims = make_images (0x802, 5, 4, 6, 0, 0);

  check_bad_file ("train-images-idx3-ubyte", int_images, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-images-idx3-ubyte", labels_as_images, TRUE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("t10k-labels-idx1-ubyte", images_as_labels, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-images-idx3-ubyte", two_dims, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
}

static void
test_idx_foreign (void)
{
  const char *text = "This is not an IDX file, just some text that happens to be here.\n";
  g_autoptr(GBytes) text_bytes = g_bytes_new_static (text, strlen (text));
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  /* gzip magic, then garbage */
  g_autoptr(GBytes) fake_gz = g_bytes_new_static ("\x1f\x8b\x08\0garbage garbage garbage", 27);
  const guint8 bad_labels[] = { 9, 0, 10, 3, 7 };
  g_autoptr(GBytes) out_of_range = make_labels (0x801, 5, bad_labels);

  check_bad_file ("train-images-idx3-ubyte", text_bytes, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-labels-idx1-ubyte", text_bytes, TRUE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-images-idx3-ubyte", empty, FALSE, CONVOLVE_DATA_ERROR_TRUNCATED);
  check_bad_file ("train-images-idx3-ubyte", fake_gz, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
  check_bad_file ("train-labels-idx1-ubyte", out_of_range, FALSE, CONVOLVE_DATA_ERROR_FORMAT);
}

static void
test_idx_missing (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) images = make_images (0x803, 5, 4, 6, 0, 0);
  g_autofree char *test_images = NULL;

  assert_fails (dir, CONVOLVE_DATA_ERROR_NOT_FOUND, NULL);

  /* images without labels */
  write_file (dir, "train-images-idx3-ubyte", images, TRUE);
  assert_fails (dir, CONVOLVE_DATA_ERROR_NOT_FOUND, "train-labels");
  data_test_remove_dir (dir);
  g_free (dir);

  /* test labels without test images */
  dir = data_test_make_dir ();
  write_good_set (dir, FALSE);
  test_images = g_build_filename (dir, "t10k-images-idx3-ubyte", NULL);
  g_assert_cmpint (g_remove (test_images), ==, 0);
  assert_fails (dir, CONVOLVE_DATA_ERROR_NOT_FOUND, "t10k-images");
  data_test_remove_dir (dir);
}

static void
test_idx_cancelled (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(ConvolveDataset) train = NULL;
  g_autoptr(ConvolveDataset) test = NULL;
  g_autoptr(GError) error = NULL;

  write_good_set (dir, TRUE);
  g_cancellable_cancel (cancellable);
  g_assert_false (convolve_idx_load_dir (dir, &train, &test, cancellable, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED);

  data_test_remove_dir (dir);
}

static void
test_idx_fashion_path (void)
{
  g_assert_true (convolve_idx_path_is_fashion ("/usr/share/datasets/fashion-mnist"));
  g_assert_true (convolve_idx_path_is_fashion ("/home/u/data/FashionMNIST/raw"));
  g_assert_false (convolve_idx_path_is_fashion ("/home/u/data/MNIST/raw"));
}

/* An uncompressed file whose header claims 4 GB of images: its size says
 * it is short before the dataset is allocated. Run with the address space
 * capped, where that allocation would fail with "not enough memory". */
static void
test_idx_lying_header (void)
{
#ifdef __SANITIZE_ADDRESS__
  g_test_skip ("AddressSanitizer needs more address space than the test allows");
#else
  if (g_test_subprocess ())
    {
      g_autofree char *dir = data_test_make_dir ();
      GByteArray *lying_images = g_byte_array_new ();
      GByteArray *lying_labels = g_byte_array_new ();
      g_autoptr(GBytes) images = NULL;
      g_autoptr(GBytes) lying = NULL;
      guint8 pixels[100] = { 0 };
      struct rlimit limit = { 1024u << 20, 1024u << 20 };

      put_u32_be (lying_images, 0x803);
      put_u32_be (lying_images, 65535);
      put_u32_be (lying_images, 256);
      put_u32_be (lying_images, 256);
      g_byte_array_append (lying_images, pixels, sizeof pixels);
      images = g_byte_array_free_to_bytes (lying_images);

      /* labels that agree with the images' count */
      put_u32_be (lying_labels, 0x801);
      put_u32_be (lying_labels, 65535);
      g_byte_array_append (lying_labels, test_labels, 3);
      lying = g_byte_array_free_to_bytes (lying_labels);

      write_file (dir, "train-images-idx3-ubyte", images, FALSE);
      write_file (dir, "train-labels-idx1-ubyte", lying, FALSE);
      g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
      assert_fails (dir, CONVOLVE_DATA_ERROR_TRUNCATED, "train-images-idx3-ubyte");
      data_test_remove_dir (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
#endif
}

/* Writes a gzip file of an IDX images header (n, rows, cols) followed by
 * n_zeros zero bytes, compressed as it goes, so the test itself stays
 * small. */
static void
write_gzip_images (const char *dir,
                   const char *name,
                   guint32     n,
                   guint32     rows,
                   guint32     cols,
                   guint64     n_zeros)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileOutputStream) out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
  g_autoptr(GOutputStream) gz = NULL;
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autofree guint8 *zeros = g_malloc0 (1 << 16);

  g_assert_no_error (error);
  gz = g_converter_output_stream_new (G_OUTPUT_STREAM (out), G_CONVERTER (compressor));
  put_u32_be (header, 0x803);
  put_u32_be (header, n);
  put_u32_be (header, rows);
  put_u32_be (header, cols);
  g_output_stream_write_all (gz, header->data, header->len, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint64 left = n_zeros; left > 0; )
    {
      gsize chunk = (gsize) MIN (left, (guint64) 1 << 16);

      g_output_stream_write_all (gz, zeros, chunk, NULL, NULL, &error);
      g_assert_no_error (error);
      left -= chunk;
    }
  g_output_stream_close (gz, NULL, &error);
  g_assert_no_error (error);
}

/* Gzip bombs: a header that declares more than the compressed file can
 * hold is refused without decoding; data that expands beyond what the
 * header declares is counted, never kept, and decoding stops one byte
 * past it. Before this, a 40-byte file could ask for 4 GiB. Run in a
 * subprocess so that its peak memory is its own. */
static void
test_idx_gzip_bomb (void)
{
  g_autofree char *dir = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  dir = data_test_make_dir ();
  write_good_set (dir, FALSE);

  /* 4 GiB declared by about 60 bytes */
  {
    ResourceProbe probe;

    write_gzip_images (dir, "train-images-idx3-ubyte", 65535, 256, 256, 100);
    probe = resource_probe_begin ();
    assert_fails (dir, CONVOLVE_DATA_ERROR_FORMAT, "train-images-idx3-ubyte");
    resource_probe_check (&probe, "4 GiB declared in a tiny gzip file", 1000, 16);
  }
  {
    g_autoptr(ConvolveDataset) train = NULL;
    g_autoptr(ConvolveDataset) test = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_false (convolve_idx_load_dir (dir, &train, &test, NULL, &error));
    g_assert_nonnull (strstr (error->message, "1032"));
  }

  /* 64 MiB declared, 256 MiB of zeros in 256 KB: counted up to 64 MiB + 1 */
  {
    ResourceProbe probe;

    write_gzip_images (dir, "train-images-idx3-ubyte", 1024, 256, 256, (guint64) 256 << 20);
    probe = resource_probe_begin ();
    assert_fails (dir, CONVOLVE_DATA_ERROR_FORMAT, "train-images-idx3-ubyte");
    resource_probe_check (&probe, "a gzip file expanding past its header", 1000, 16);
  }

  /* the same header with exactly its data loads (decoded twice) */
  {
    g_autoptr(ConvolveDataset) train = NULL;
    g_autoptr(ConvolveDataset) test = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) labels = NULL;
    g_autofree guint8 *zeros = g_malloc0 (1024);
    g_autofree char *t10k_images = g_build_filename (dir, "t10k-images-idx3-ubyte", NULL);
    g_autofree char *t10k_labels = g_build_filename (dir, "t10k-labels-idx1-ubyte", NULL);

    labels = make_labels (0x801, 1024, zeros);
    write_file (dir, "train-labels-idx1-ubyte", labels, FALSE);
    g_assert_cmpint (g_remove (t10k_images), ==, 0);
    g_assert_cmpint (g_remove (t10k_labels), ==, 0);
    write_gzip_images (dir, "train-images-idx3-ubyte", 1024, 256, 256, (guint64) 64 << 20);
    g_assert_true (convolve_idx_load_dir (dir, &train, &test, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (convolve_dataset_get_n_images (train), ==, 1024);
  }

  data_test_remove_dir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/idx/raw", test_idx_raw);
  g_test_add_func ("/data/idx/gzip", test_idx_gzip);
  g_test_add_func ("/data/idx/no-test-set", test_idx_no_test_set);
  g_test_add_func ("/data/idx/truncated", test_idx_truncated);
  g_test_add_func ("/data/idx/wrong-size", test_idx_wrong_size);
  g_test_add_func ("/data/idx/wrong-magic", test_idx_wrong_magic);
  g_test_add_func ("/data/idx/foreign", test_idx_foreign);
  g_test_add_func ("/data/idx/missing", test_idx_missing);
  g_test_add_func ("/data/idx/cancelled", test_idx_cancelled);
  g_test_add_func ("/data/idx/fashion-path", test_idx_fashion_path);
  g_test_add_func ("/data/idx/lying-header", test_idx_lying_header);
  g_test_add_func ("/data/idx/gzip-bomb", test_idx_gzip_bomb);

  return g_test_run ();
}
