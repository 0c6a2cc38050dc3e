/* test-image.c: image files to model input (gdk-pixbuf).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convolve-loaders.h"
#include "data-test-util.h"

/* A 4 x 3 picture with distinct colours: pixel (x, y) is
 * (40 x + 10, 60 y + 5, 255 - 30 x - 50 y). */
static guint8
colour (int x,
        int y,
        int k)
{
  switch (k)
    {
    case 0:
      return (guint8) (40 * x + 10);
    case 1:
      return (guint8) (60 * y + 5);
    default:
      return (guint8) (255 - 30 * x - 50 * y);
    }
}

static GdkPixbuf *
make_pixbuf (int      width,
             int      height,
             gboolean alpha)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * rowstride + x * n_channels;

        for (int k = 0; k < 3; k++)
          p[k] = colour (x, y, k);
        if (alpha)
          p[3] = 255;
      }

  return pixbuf;
}

static char *
save_pixbuf (GdkPixbuf  *pixbuf,
             const char *dir,
             const char *name,
             const char *type)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
  return path;
}

static void
test_image_rgb (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (4, 3, FALSE);
  g_autofree char *path = save_pixbuf (pixbuf, dir, "picture.png", "png");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 3, 4 };
  float input[36];
  guint8 preview[36];

  g_assert_true (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, preview, NULL, &error));
  g_assert_no_error (error);

  /* planar: all of red, then green, then blue */
  for (int k = 0; k < 3; k++)
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 4; x++)
        {
          int i = (k * 3 + y) * 4 + x;

          g_assert_cmpuint (preview[i], ==, colour (x, y, k));
          g_assert_cmpfloat (input[i], ==, (float) colour (x, y, k) / 255.0f);
        }

  /* preview is optional */
  g_assert_true (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_no_error (error);

  data_test_remove_dir (dir);
}

static void
test_image_grey (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (4, 3, FALSE);
  g_autofree char *path = save_pixbuf (pixbuf, dir, "picture.png", "png");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 1, 3, 4 };
  float input[12];
  guint8 preview[12];

  g_assert_true (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, preview, NULL, &error));
  g_assert_no_error (error);

  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      {
        /* ITU-R BT.601 luma, computed in double here */
        double luma = 0.299 * colour (x, y, 0) + 0.587 * colour (x, y, 1) + 0.114 * colour (x, y, 2);
        int i = y * 4 + x;

        /* float against double: a tie may round either way */
        g_assert_cmpint (ABS ((int) preview[i] - (int) lround (luma)), <=, 1);
        g_assert_cmpfloat (input[i], ==, (float) preview[i] / 255.0f);
      }

  data_test_remove_dir (dir);
}

/* Transparent pixels are laid on white. */
static void
test_image_alpha (void)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 3, 1);
  guint8 *p = gdk_pixbuf_get_pixels (pixbuf);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  ConvolveShape shape = { 3, 1, 3 };
  gchar *buffer = NULL;
  gsize length = 0;
  float input[9];
  guint8 preview[9];
  const guint8 pixels[] = {
    0, 0, 0, 0,        /* transparent black: white */
    0, 0, 0, 128,      /* half black: mid grey */
    255, 0, 0, 255,    /* opaque red */
  };

  memcpy (p, pixels, sizeof pixels);
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", &error, NULL);
  g_assert_no_error (error);
  bytes = g_bytes_new_take (buffer, length);

  g_assert_true (convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, preview, &error));
  g_assert_no_error (error);

  for (int k = 0; k < 3; k++)
    {
      g_assert_cmpuint (preview[k * 3 + 0], ==, 255);
      /* 255 * (1 - 128 / 255) = 127 */
      g_assert_cmpuint (preview[k * 3 + 1], ==, 127);
      g_assert_cmpuint (preview[k * 3 + 2], ==, k == 0 ? 255 : 0);
    }
  g_assert_cmpfloat (input[0], ==, 1.0f);
}

/* Shrinking averages the covered area: a fine checkerboard becomes grey
 * (nearest-neighbour sampling would keep black or white). */
static void
test_image_downscale (void)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 64);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  ConvolveShape shape = { 1, 16, 16 };
  gchar *buffer = NULL;
  gsize length = 0;
  float input[256];
  guint8 preview[256];

  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      memset (pixels + y * rowstride + x * 3, ((x + y) % 2) ? 255 : 0, 3);

  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", &error, NULL);
  g_assert_no_error (error);
  bytes = g_bytes_new_take (buffer, length);

  g_assert_true (convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, preview, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 256; i++)
    {
      g_assert_cmpint (preview[i], >=, 125);
      g_assert_cmpint (preview[i], <=, 130);
    }

  /* enlarging works too; a flat picture stays flat */
  {
    g_autoptr(GdkPixbuf) flat = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2, 2);
    g_autoptr(GBytes) flat_bytes = NULL;
    ConvolveShape big = { 3, 8, 8 };
    float big_input[192];

    gdk_pixbuf_fill (flat, 0x336699ff);
    gdk_pixbuf_save_to_buffer (flat, &buffer, &length, "png", &error, NULL);
    g_assert_no_error (error);
    flat_bytes = g_bytes_new_take (buffer, length);
    g_assert_true (convolve_image_load_bytes (flat_bytes, big, CONVOLVE_IMAGE_FIT_CROP, big_input, NULL, &error));
    g_assert_no_error (error);
    for (int i = 0; i < 64; i++)
      {
        g_assert_cmpfloat (big_input[i], ==, 0x33 / 255.0f);
        g_assert_cmpfloat (big_input[64 + i], ==, 0x66 / 255.0f);
        g_assert_cmpfloat (big_input[128 + i], ==, 0x99 / 255.0f);
      }
  }
}

/* Another format than PNG: JPEG, lossy, so only roughly. */
static void
test_image_jpeg (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 30);
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  gdk_pixbuf_fill (pixbuf, 0xc08040ff);
  path = save_pixbuf (pixbuf, dir, "photo.jpg", "jpeg");
  file = g_file_new_for_path (path);
  g_assert_true (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (input[0], 0xc0 / 255.0f, 0.03f);
  g_assert_cmpfloat_with_epsilon (input[1024 + 500], 0x80 / 255.0f, 0.03f);
  g_assert_cmpfloat_with_epsilon (input[2048 + 1023], 0x40 / 255.0f, 0.03f);

  data_test_remove_dir (dir);
}

static void
assert_file_rejected (const char *path,
                      const char *mentions)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  g_assert_false (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
  if (mentions != NULL)
    data_test_assert_names (error, mentions);
  g_test_message ("%s", error->message);
}

static void
test_image_not_image (void)
{
  g_autofree char *dir = data_test_make_dir ();
  const char *text = "Dear reader,\nthis is a letter, not a picture.\n";
  g_autofree char *letter = data_test_write (dir, "letter.png", text, strlen (text));
  g_autofree char *empty = data_test_write (dir, "empty.png", "", 0);
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  g_autofree char *folder = g_build_filename (dir, "folder.png", NULL);
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (4, 3, FALSE);
  g_autofree char *good = save_pixbuf (pixbuf, dir, "cut.png", "png");
  g_autofree char *contents = NULL;
  g_autofree char *cut = NULL;
  gsize length = 0;

  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  assert_file_rejected (letter, "letter.png");
  assert_file_rejected (empty, "empty.png");
  assert_file_rejected (missing, "missing.png");
  assert_file_rejected (folder, "folder.png");

  /* a PNG cut after its header */
  g_assert_true (g_file_get_contents (good, &contents, &length, NULL));
  cut = data_test_write (dir, "cut.png", contents, 40);
  assert_file_rejected (cut, "cut.png");

  data_test_remove_dir (dir);
}

/* zlib's CRC-32, for a hand-made PNG */
static guint32
crc32 (const guint8 *data,
       gsize         length,
       guint32       crc)
{
  crc = ~crc;
  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
  return ~crc;
}

static void
png_chunk (GByteArray   *png,
           const char   *type,
           const guint8 *data,
           guint32       length)
{
  guint8 be[4] = { length >> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff };
  guint32 crc;

  g_byte_array_append (png, be, 4);
  g_byte_array_append (png, (const guint8 *) type, 4);
  g_byte_array_append (png, data, length);
  crc = crc32 ((const guint8 *) type, 4, 0);
  crc = crc32 (data, length, crc);
  be[0] = crc >> 24;
  be[1] = (crc >> 16) & 0xff;
  be[2] = (crc >> 8) & 0xff;
  be[3] = crc & 0xff;
  g_byte_array_append (png, be, 4);
}

/* A valid PNG header that declares 20000 x 20000 pixels (1.6 GB decoded):
 * refused from the header, before any pixel memory is taken. */
static void
test_image_huge (void)
{
  GByteArray *png = g_byte_array_new ();
  const guint8 ihdr[13] = { 0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 6, 0, 0, 0 };
  const guint8 idat[] = { 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  png_chunk (png, "IHDR", ihdr, sizeof ihdr);
  png_chunk (png, "IDAT", idat, sizeof idat);
  png_chunk (png, "IEND", NULL, 0);
  bytes = g_byte_array_free_to_bytes (png);

  g_assert_false (convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
  data_test_assert_names (error, "20000");
  g_test_message ("%s", error->message);
}

static void
assert_bytes_truncated (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  g_assert_false (convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
  data_test_assert_names (error, "truncated");
}

/* PNG, BMP and PNM decoders give an image for a file cut in its pixel
 * data, the missing rows left as allocated, and no error: such a file is
 * refused, while whole files of the same kinds still load. */
static void
test_image_truncated (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (64, 48, FALSE);
  const char *types[] = { "png", "bmp" };
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  /* noise, so that compression leaves most of the file to pixel data */
  {
    guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
    gsize n = (gsize) gdk_pixbuf_get_rowstride (pixbuf) * 48;
    guint32 state = 7;

    for (gsize i = 0; i < n; i++)
      {
        state = state * 1664525u + 1013904223u;
        pixels[i] = (guint8) (state >> 24);
      }
  }

  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) whole = NULL;
      g_autoptr(GBytes) half = NULL;
      gchar *buffer = NULL;
      gsize length = 0;

      g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, types[t], &error, NULL));
      g_assert_no_error (error);
      whole = g_bytes_new_take (buffer, length);

      g_assert_true (convolve_image_load_bytes (whole, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error));
      g_assert_no_error (error);

      half = g_bytes_new_from_bytes (whole, 0, length / 2);
      assert_bytes_truncated (half);
    }

  {
    /* the header of a 2000 x 2000 PNG and one row of pixels, compressed */
    GByteArray *png = g_byte_array_new ();
    const guint8 ihdr[13] = { 0, 0, 0x07, 0xd0, 0, 0, 0x07, 0xd0, 8, 2, 0, 0, 0 };
    g_autoptr(GBytes) row = g_bytes_new_take (g_malloc0 (1 + 3 * 2000), 1 + 3 * 2000);
    g_autoptr(GBytes) idat = NULL;
    g_autoptr(GConverter) zlib = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9));
    g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
    g_autoptr(GOutputStream) compress = g_converter_output_stream_new (memory, zlib);
    g_autoptr(GBytes) bytes = NULL;

    g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
    png_chunk (png, "IHDR", ihdr, sizeof ihdr);
    g_assert_true (g_output_stream_write_all (compress, g_bytes_get_data (row, NULL), g_bytes_get_size (row),
                                              NULL, NULL, NULL));
    g_assert_true (g_output_stream_close (compress, NULL, NULL));
    idat = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
    png_chunk (png, "IDAT", g_bytes_get_data (idat, NULL), (guint32) g_bytes_get_size (idat));
    png_chunk (png, "IEND", NULL, 0);
    bytes = g_byte_array_free_to_bytes (png);
    assert_bytes_truncated (bytes);
  }
}

/* ------------------------------------------------------------------ */
/* Hostile headers: refused from the header, before gdk-pixbuf's module
 * allocates what they claim. Each runs in a forked child, which reports
 * how long it took and how much its peak RSS grew. */

/* A guard against a hang, not a speed test: refused inputs take about a
 * millisecond, and a loaded CI machine can be many times slow. */
#define HOSTILE_SECONDS   10.0
#define HOSTILE_RSS_KB    (32 * 1024)

typedef struct {
  double   seconds;
  long     rss_growth_kb;
  gboolean refused;
  char     message[512];
} HostileResult;

static void
run_hostile (GBytes        *bytes,
             const char    *path,
             HostileResult *result)
{
  int fds[2];
  pid_t pid;
  int status = 0;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      ConvolveShape shape = { 3, 32, 32 };
      float input[3 * 32 * 32];
      HostileResult r = { 0 };
      struct rusage before, after;
      GError *error = NULL;
      gint64 start;

      close (fds[0]);
      getrusage (RUSAGE_SELF, &before);
      start = g_get_monotonic_time ();
      if (path != NULL)
        {
          GFile *file = g_file_new_for_path (path);

          r.refused = !convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error);
          g_object_unref (file);
        }
      else
        {
          r.refused = !convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error);
        }
      r.seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
      getrusage (RUSAGE_SELF, &after);
      r.rss_growth_kb = after.ru_maxrss - before.ru_maxrss;
      if (error != NULL)
        g_strlcpy (r.message, error->message, sizeof r.message);
      if (write (fds[1], &r, sizeof r) != sizeof r)
        _exit (2);
      _exit (0);
    }

  close (fds[1]);
  g_assert_cmpint (read (fds[0], result, sizeof *result), ==, sizeof *result);
  close (fds[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_test_message ("%s: %.4f s, peak RSS +%ld KB", result->message, result->seconds, result->rss_growth_kb);
}

static void
assert_hostile_refused (GBytes     *bytes,
                        const char *path,
                        const char *mentions)
{
  HostileResult result;

  run_hostile (bytes, path, &result);
  g_assert_true (result.refused);
  if (strstr (result.message, mentions) == NULL)
    g_error ("“%s” does not mention %s", result.message, mentions);
  g_assert_cmpfloat (result.seconds, <, HOSTILE_SECONDS);
  g_assert_cmpint (result.rss_growth_kb, <, HOSTILE_RSS_KB);
}

static void
put_le16 (guint8 *p, guint v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }

static void
put_le32 (guint8 *p, guint32 v) { put_le16 (p, v & 0xffff); put_le16 (p + 2, v >> 16); }

/* 29 bytes: a file header and a BMP info header size of 4 GB, which
 * gdk-pixbuf's module would realloc its buffer to. */
static void
test_image_hostile_bmp_29_bytes (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autofree char *path = NULL;
  guint8 bmp[29] = { 'B', 'M' };

  put_le32 (bmp + 2, sizeof bmp);
  put_le32 (bmp + 10, 26);
  put_le32 (bmp + 14, 0xfffffff0u);
  path = data_test_write (dir, "tiny.bmp", bmp, sizeof bmp);
  /* through the file, as the CLI and the predictor read it */
  assert_hostile_refused (NULL, path, "BMP header is damaged");
  data_test_remove_dir (dir);
}

/* Headers of each format read that claim 100 000 × 100 000 pixels (or the
 * format's largest, where that is less but still over the limit). */
static void
test_image_hostile_dimensions (void)
{
  /* PNG: signature and IHDR */
  {
    GByteArray *png = g_byte_array_new ();
    const guint8 ihdr[13] = { 0, 0x01, 0x86, 0xa0, 0, 0x01, 0x86, 0xa0, 8, 2, 0, 0, 0 };
    g_autoptr(GBytes) bytes = NULL;

    g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
    png_chunk (png, "IHDR", ihdr, sizeof ihdr);
    bytes = g_byte_array_free_to_bytes (png);
    assert_hostile_refused (bytes, NULL, "100000 × 100000 pixels");
  }
  /* BMP: file header and a 40-byte info header, no pixels */
  {
    guint8 bmp[54] = { 'B', 'M' };
    g_autoptr(GBytes) bytes = NULL;

    put_le32 (bmp + 2, sizeof bmp);
    put_le32 (bmp + 10, sizeof bmp);
    put_le32 (bmp + 14, 40);
    put_le32 (bmp + 18, 100000);
    put_le32 (bmp + 22, 100000);
    put_le16 (bmp + 26, 1);
    put_le16 (bmp + 28, 24);
    bytes = g_bytes_new (bmp, sizeof bmp);
    assert_hostile_refused (bytes, NULL, "100000 × 100000 pixels");
  }
  /* JPEG: start of image and a baseline frame header of 65535 × 65535 */
  {
    const guint8 jpeg[] = { 0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8, 0xff, 0xff, 0xff, 0xff, 3,
                            1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 0xff, 0xd9 };
    g_autoptr(GBytes) bytes = g_bytes_new (jpeg, sizeof jpeg);

    assert_hostile_refused (bytes, NULL, "65535 × 65535 pixels");
  }
  /* GIF: a small screen with a frame of 65535 × 65535 */
  {
    guint8 gif[] = { 'G', 'I', 'F', '8', '9', 'a', 4, 0, 4, 0, 0x80, 0, 0,
                     0, 0, 0, 255, 255, 255,
                     0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0,
                     2, 2, 0x44, 0x01, 0, 0x3b };
    g_autoptr(GBytes) bytes = g_bytes_new (gif, sizeof gif);

    assert_hostile_refused (bytes, NULL, "65535 × 65535 pixels");
  }
  /* WebP: an extended header with a 16384 × 16384 canvas */
  {
    guint8 webp[30] = { 'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0 };
    g_autoptr(GBytes) bytes = NULL;

    /* canvas width and height less one, 24 bits each */
    put_le16 (webp + 24, 16383);
    put_le16 (webp + 27, 16383);
    bytes = g_bytes_new (webp, sizeof webp);
    assert_hostile_refused (bytes, NULL, "16384 × 16384 pixels");
  }
}

static void
assert_bytes_refused (const guint8 *data,
                      gsize         length,
                      const char   *mentions)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, length);
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  g_assert_false (convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
  data_test_assert_names (error, mentions);
  g_test_message ("%s", error->message);
}

/* A frame of width 0 makes gdk-pixbuf's GIF module raise a critical (a
 * failure here: the tests run with G_DEBUG=fatal-warnings); so does a
 * screen of 0 × 0. Both are refused first. */
static void
test_image_gif_zero_width (void)
{
  const guint8 zero_frame[] = { 'G', 'I', 'F', '8', '9', 'a', 4, 0, 4, 0, 0x80, 0, 0,
                                0, 0, 0, 255, 255, 255,
                                0x2c, 0, 0, 0, 0, 0, 0, 4, 0, 0,
                                2, 2, 0x44, 0x01, 0, 0x3b };
  const guint8 zero_screen[] = { 'G', 'I', 'F', '8', '9', 'a', 0, 0, 0, 0, 0x80, 0, 0,
                                 0, 0, 0, 255, 255, 255,
                                 0x2c, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                 2, 2, 0x44, 0x01, 0, 0x3b };

  assert_bytes_refused (zero_frame, sizeof zero_frame, "GIF header describes an image without pixels");
  assert_bytes_refused (zero_screen, sizeof zero_screen, "GIF header describes an image without pixels");
}

/* Cut inside the header (PNG), and inside the pixels of a JPEG, which
 * libjpeg would complete with grey rows without an error. */
static void
test_image_truncated_header (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (64, 48, FALSE);
  gchar *buffer = NULL;
  gsize length = 0;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  guint32 state = 11;

  for (gsize i = 0; i < (gsize) gdk_pixbuf_get_rowstride (pixbuf) * 48; i++)
    {
      state = state * 1664525u + 1013904223u;
      pixels[i] = (guint8) (state >> 24);
    }

  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", NULL, NULL));
  assert_bytes_refused ((const guint8 *) buffer, 20, "truncated");
  g_free (buffer);

  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "jpeg", NULL, NULL));
  {
    g_autoptr(GBytes) whole = g_bytes_new (buffer, length);
    g_autoptr(GError) error = NULL;
    ConvolveShape shape = { 3, 32, 32 };
    g_autofree float *input = g_new (float, 3 * 32 * 32);

    g_assert_true (convolve_image_load_bytes (whole, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error));
    g_assert_no_error (error);
  }
  assert_bytes_refused ((const guint8 *) buffer, length / 2, "truncated");
  assert_bytes_refused ((const guint8 *) buffer, length - 2, "truncated");
  g_free (buffer);
}

/* Only regular files are read: a FIFO would block the read forever,
 * /dev/zero would never end. */
static void
test_image_not_regular (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autofree char *fifo = g_build_filename (dir, "fifo.png", NULL);
  const char *paths[] = { fifo, "/dev/zero" };
  ConvolveShape shape = { 3, 32, 32 };
  g_autofree float *input = g_new (float, 3 * 32 * 32);

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  alarm (30);  /* a hang fails the test instead of stalling it */
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (paths[i]);
      g_autoptr(GError) error = NULL;

      if (!g_file_test (paths[i], G_FILE_TEST_EXISTS))
        continue;
      g_assert_false (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
      g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
      data_test_assert_names (error, "not a regular file");
    }
  alarm (0);
  data_test_remove_dir (dir);
}

/* A model file may ask for any channel count; pictures give 1 or 3. */
static void
test_image_channels (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (4, 3, FALSE);
  g_autofree char *dir = data_test_make_dir ();
  g_autofree char *path = save_pixbuf (pixbuf, dir, "picture.png", "png");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  ConvolveShape shape = { 2, 3, 4 };
  float input[4 * 3 * 4];

  g_assert_false (convolve_image_load_file (file, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
  data_test_assert_names (error, "picture.png");
  data_test_assert_names (error, "2 channels");
  g_clear_error (&error);

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  bytes = g_bytes_new (contents, length);
  shape.c = 4;
  g_assert_false (convolve_image_load_bytes (bytes, shape, CONVOLVE_IMAGE_FIT_CROP, input, NULL, &error));
  g_assert_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE);
  data_test_assert_names (error, "4 channels");

  data_test_remove_dir (dir);
}

/* ---- fitting a picture of another shape: crop and pad ---------------- */

#define BLOCK 8

/* Square (bx, by) of BLOCK x BLOCK pixels of a block picture; never 0, so
 * padding (black) cannot pass for the picture. */
static guint8
block_colour (int bx,
              int by,
              int k)
{
  return (guint8) (20 + (bx * 29 + by * 53 + k * 71) % 230);
}

/* A width x height PNG of BLOCK x BLOCK squares of one colour each. Each
 * case below resizes by a whole factor that divides BLOCK (or is BLOCK)
 * from an offset that is a multiple of it, so area averaging keeps every
 * output pixel inside one square and the expected values are exact; a
 * cut or a bar one pixel off mixes two squares and shows. */
static GBytes *
block_png (int width,
           int height)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GError) error = NULL;
  gchar *buffer = NULL;
  gsize length = 0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int k = 0; k < 3; k++)
        pixels[y * rowstride + x * 3 + k] = block_colour (x / BLOCK, y / BLOCK, k);
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", &error, NULL);
  g_assert_no_error (error);
  return g_bytes_new_take (buffer, length);
}

typedef struct {
  const char      *name;
  int              width, height;   /* the picture */
  int              out_w, out_h;    /* the model's input */
  ConvolveImageFit fit;
  /* worked out by hand: output pixel (x, y) shows picture pixel
   * (src_x + x * factor, src_y + y * factor) when inside the picture's
   * place (at place_x, place_y, place_w x place_h), else black */
  int              factor;
  int              src_x, src_y;
  int              place_x, place_y, place_w, place_h;
} FitCase;

static const FitCase fit_cases[] = {
  /* 64 x 16: the middle 16 x 16 (from x 24) halved */
  { "wide-crop", 64, 16, 8, 8, CONVOLVE_IMAGE_FIT_CROP, 2, 24, 0, 0, 0, 8, 8 },
  /* 64 x 16: all of it at an eighth, 8 x 2, rows 3 and 4 */
  { "wide-pad", 64, 16, 8, 8, CONVOLVE_IMAGE_FIT_PAD, 8, 0, 0, 0, 3, 8, 2 },
  /* 16 x 64: the middle 16 x 16 (from y 24) halved */
  { "tall-crop", 16, 64, 8, 8, CONVOLVE_IMAGE_FIT_CROP, 2, 0, 24, 0, 0, 8, 8 },
  /* 16 x 64: 2 x 8, columns 3 and 4 */
  { "tall-pad", 16, 64, 8, 8, CONVOLVE_IMAGE_FIT_PAD, 8, 0, 0, 3, 0, 2, 8 },
  /* a square picture into an input twice as wide as high: its middle
   * 16 x 8 band (from y 4)... */
  { "square-crop-wide-input", 16, 16, 8, 4, CONVOLVE_IMAGE_FIT_CROP, 2, 0, 4, 0, 0, 8, 4 },
  /* ...or all of it at a quarter, 4 x 4 from column 2 */
  { "square-pad-wide-input", 32, 32, 8, 4, CONVOLVE_IMAGE_FIT_PAD, 8, 0, 0, 2, 0, 4, 4 },
  /* the same shape as the input: nothing cut, no bar, either way */
  { "same-shape-crop", 32, 16, 8, 4, CONVOLVE_IMAGE_FIT_CROP, 4, 0, 0, 0, 0, 8, 4 },
  { "same-shape-pad", 32, 16, 8, 4, CONVOLVE_IMAGE_FIT_PAD, 4, 0, 0, 0, 0, 8, 4 },
};

static guint8
fit_case_expected (const FitCase *c,
                   int            x,
                   int            y,
                   int            k)
{
  int px = x - c->place_x, py = y - c->place_y;

  if (px < 0 || py < 0 || px >= c->place_w || py >= c->place_h)
    return 0;
  return block_colour ((c->src_x + px * c->factor) / BLOCK, (c->src_y + py * c->factor) / BLOCK, k);
}

static void
test_image_fit (gconstpointer data)
{
  const FitCase *c = data;
  g_autoptr(GBytes) bytes = block_png (c->width, c->height);
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, c->out_h, c->out_w };
  ConvolveShape grey = { 1, c->out_h, c->out_w };
  gsize plane = (gsize) c->out_w * c->out_h;
  g_autofree float *input = g_new (float, 3 * plane);
  g_autofree guint8 *preview = g_new (guint8, 3 * plane);

  g_assert_true (convolve_image_load_bytes (bytes, shape, c->fit, input, preview, &error));
  g_assert_no_error (error);
  for (int k = 0; k < 3; k++)
    for (int y = 0; y < c->out_h; y++)
      for (int x = 0; x < c->out_w; x++)
        {
          gsize i = (gsize) k * plane + (gsize) y * c->out_w + x;
          guint8 expected = fit_case_expected (c, x, y, k);

          if (preview[i] != expected)
            g_error ("%s: channel %d at (%d, %d) is %u, not %u", c->name, k, x, y, preview[i], expected);
          g_assert_cmpfloat (input[i], ==, expected / 255.0f);
        }

  /* a grey model: the same picture through the luma weights, black bars */
  g_assert_true (convolve_image_load_bytes (bytes, grey, c->fit, input, preview, &error));
  g_assert_no_error (error);
  for (int y = 0; y < c->out_h; y++)
    for (int x = 0; x < c->out_w; x++)
      {
        gsize i = (gsize) y * c->out_w + x;
        double luma = 0.299 * fit_case_expected (c, x, y, 0) + 0.587 * fit_case_expected (c, x, y, 1) +
                      0.114 * fit_case_expected (c, x, y, 2);

        g_assert_cmpint (ABS ((int) preview[i] - (int) lround (luma)), <=, 1);
        g_assert_cmpfloat (input[i], ==, preview[i] / 255.0f);
      }
}

/* Crop and pad agree on which picture shapes leave nothing to cut: a
 * file read through GFile fits as bytes do. */
static void
test_image_fit_file (void)
{
  g_autofree char *dir = data_test_make_dir ();
  g_autoptr(GBytes) bytes = block_png (64, 16);
  g_autofree char *path = data_test_write (dir, "wide.png", g_bytes_get_data (bytes, NULL),
                                           g_bytes_get_size (bytes));
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  ConvolveShape shape = { 3, 8, 8 };
  float from_file[192], from_bytes[192];
  guint8 crop[192], pad[192];

  for (int fit = CONVOLVE_IMAGE_FIT_CROP; fit <= CONVOLVE_IMAGE_FIT_PAD; fit++)
    {
      g_assert_true (convolve_image_load_file (file, shape, (ConvolveImageFit) fit, from_file,
                                               fit == CONVOLVE_IMAGE_FIT_CROP ? crop : pad, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (convolve_image_load_bytes (bytes, shape, (ConvolveImageFit) fit, from_bytes, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (from_file, sizeof from_file, from_bytes, sizeof from_bytes);
    }
  /* and the two differ: the bars are black */
  g_assert_cmpuint (pad[0], ==, 0);
  g_assert_cmpuint (crop[0], !=, 0);

  data_test_remove_dir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/image/rgb", test_image_rgb);
  g_test_add_func ("/data/image/grey", test_image_grey);
  g_test_add_func ("/data/image/alpha", test_image_alpha);
  g_test_add_func ("/data/image/downscale", test_image_downscale);
  g_test_add_func ("/data/image/jpeg", test_image_jpeg);
  for (gsize i = 0; i < G_N_ELEMENTS (fit_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/data/image/fit/%s", fit_cases[i].name);

      g_test_add_data_func (name, &fit_cases[i], test_image_fit);
    }
  g_test_add_func ("/data/image/fit/file", test_image_fit_file);
  g_test_add_func ("/data/image/not-image", test_image_not_image);
  g_test_add_func ("/data/image/huge", test_image_huge);
  g_test_add_func ("/data/image/truncated", test_image_truncated);
  g_test_add_func ("/data/image/not-regular", test_image_not_regular);
  g_test_add_func ("/data/image/channels", test_image_channels);
  g_test_add_func ("/data/image/hostile/bmp-29-bytes", test_image_hostile_bmp_29_bytes);
  g_test_add_func ("/data/image/hostile/dimensions", test_image_hostile_dimensions);
  g_test_add_func ("/data/image/gif-zero-width", test_image_gif_zero_width);
  g_test_add_func ("/data/image/truncated-header", test_image_truncated_header);

  return g_test_run ();
}
