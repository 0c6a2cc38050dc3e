/* convolve-image.c: image files (anything gdk-pixbuf reads) to model input.
 *
 * The image is decoded, turned as its EXIF orientation says, stretched to
 * the model's input size (area averaging when shrinking, bilinear when
 * enlarging), laid on white where it is transparent, and for one-channel
 * models turned to grey with the ITU-R BT.601 luma weights. Pixels are
 * rounded to uint8 first and then scaled by 1/255, exactly as a dataset
 * image is, so a picture saved from the dataset predicts as it does there.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>

#include "convolve-data-private.h"

#define MAX_PIXELS  (G_GINT64_CONSTANT (100) * 1000 * 1000)
#define MAX_BYTES   (G_GINT64_CONSTANT (256) * 1024 * 1024)
#define CHUNK_SIZE  (64 * 1024)

typedef struct {
  int      width;
  int      height;
  gboolean too_large;
  guint8  *rows_done;   /* one bit per row the decoder has filled in */
} SizeCheck;

static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  SizeCheck       *check)
{
  check->width = width;
  check->height = height;
  if ((gint64) width * (gint64) height > MAX_PIXELS)
    {
      /* A zero size asks the module to stop before it allocates the
       * image (gdk_pixbuf_get_file_info() relies on the same). */
      check->too_large = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  if (height > 0 && check->rows_done == NULL)
    check->rows_done = g_malloc0 ((gsize) height / 8 + 1);
}

static void
on_area_updated (GdkPixbufLoader *loader,
                 int              x,
                 int              y,
                 int              width,
                 int              height,
                 SizeCheck       *check)
{
  if (check->rows_done == NULL)
    return;
  for (int row = MAX (y, 0); row < MIN (y + height, check->height); row++)
    check->rows_done[row / 8] |= (guint8) (1u << (row % 8));
}

static void
size_check_clear (SizeCheck *check)
{
  g_clear_pointer (&check->rows_done, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SizeCheck, size_check_clear)

/* PNG, BMP and PNM decoders leave the rows after a premature end of file
 * as they were allocated, without an error: a truncated file would be
 * classified as a picture with a blank (or random) lower part. Every
 * decoder reports the rows it fills in (the loader does it for those that
 * decode in one go), so a row never reported was never decoded. */
static gboolean
rows_missing (const SizeCheck *check,
              GdkPixbuf       *pixbuf)
{
  int height = gdk_pixbuf_get_height (pixbuf);

  if (check->rows_done == NULL || height != check->height)
    return FALSE;
  for (int row = 0; row < height; row++)
    if ((check->rows_done[row / 8] & (1u << (row % 8))) == 0)
      return TRUE;
  return FALSE;
}

G_GNUC_PRINTF (3, 4)
static void
set_image_error (GError     **error,
                 const char  *display,
                 const char  *format,
                 ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  if (display != NULL)
    /* TRANSLATORS: a file name, then why it cannot be used */
    g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE,
                 _("Cannot use “%s” as an image: %s"), display, reason);
  else
    g_set_error (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_IMAGE,
                 _("Cannot use the image: %s"), reason);
}

static GdkPixbuf *
decode_image (GBytes      *bytes,
              const char  *display,
              GError     **error)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  GdkPixbuf *pixbuf;
  g_auto(SizeCheck) check = { 0, 0, FALSE, NULL };
  const guint8 *data;
  gsize length;
  gsize offset = 0;

  data = g_bytes_get_data (bytes, &length);
  if (length == 0)
    {
      set_image_error (error, display, _("the file is empty"));
      return NULL;
    }

  if ((gint64) length > MAX_BYTES)
    {
      set_image_error (error, display, _("the file is larger than 256 MB"));
      return NULL;
    }

  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &check);
  g_signal_connect (loader, "area-updated", G_CALLBACK (on_area_updated), &check);

  /* In chunks, so a huge image is refused once its header is read. */
  while (offset < length && !check.too_large)
    {
      gsize n = MIN (length - offset, (gsize) CHUNK_SIZE);

      if (!gdk_pixbuf_loader_write (loader, data + offset, n, &local_error))
        break;
      offset += n;
    }

  /* A loader must always be closed; its error only matters when nothing
   * went wrong before. */
  gdk_pixbuf_loader_close (loader, local_error == NULL && !check.too_large ? &local_error : NULL);
  g_signal_handlers_disconnect_by_data (loader, &check);

  if (check.too_large)
    {
      set_image_error (error, display,
                       _("it is %d × %d pixels, more than the 100 megapixels Convolve reads"),
                       check.width, check.height);
      return NULL;
    }

  if (local_error != NULL)
    {
      set_image_error (error, display, _("it is not an image Convolve can read (%s)"),
                       local_error->message);
      return NULL;
    }

  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf == NULL)
    {
      set_image_error (error, display, _("it holds no image"));
      return NULL;
    }

  if (rows_missing (&check, pixbuf))
    {
      set_image_error (error, display, _("the file ends before the image does (it is truncated)"));
      return NULL;
    }

  /* Photos from phones are often stored sideways with an EXIF tag. */
  return gdk_pixbuf_apply_embedded_orientation (pixbuf);
}

static gboolean
pixbuf_to_input (GdkPixbuf      *pixbuf,
                 ConvolveShape   shape,
                 float          *input,
                 guint8         *preview,
                 const char     *display,
                 GError        **error)
{
  g_autoptr(GdkPixbuf) scaled = NULL;
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  gsize plane = (gsize) shape.h * (gsize) shape.w;
  const guint8 *pixels;
  int rowstride;
  int n_channels;
  gboolean has_alpha;

  if (width == shape.w && height == shape.h)
    {
      scaled = g_object_ref (pixbuf);
    }
  else
    {
      /* TILES averages the covered area when shrinking; it would repeat
       * pixels when enlarging, where bilinear is smoother. */
      GdkInterpType interp = (shape.w < width || shape.h < height) ? GDK_INTERP_TILES
                                                                   : GDK_INTERP_BILINEAR;

      scaled = gdk_pixbuf_scale_simple (pixbuf, shape.w, shape.h, interp);
      if (scaled == NULL)
        {
          set_image_error (error, display, _("there is not enough memory to resize it"));
          return FALSE;
        }
    }

  pixels = gdk_pixbuf_read_pixels (scaled);
  rowstride = gdk_pixbuf_get_rowstride (scaled);
  n_channels = gdk_pixbuf_get_n_channels (scaled);
  has_alpha = gdk_pixbuf_get_has_alpha (scaled);

  for (int y = 0; y < shape.h; y++)
    {
      const guint8 *row = pixels + (gsize) y * (gsize) rowstride;

      for (int x = 0; x < shape.w; x++)
        {
          const guint8 *p = row + (gsize) x * (gsize) n_channels;
          guint rgb[3] = { p[0], p[1], p[2] };
          gsize i = (gsize) y * (gsize) shape.w + (gsize) x;

          if (has_alpha)
            {
              guint alpha = p[3];

              /* over white: c * a + 255 * (1 - a), rounded */
              for (int k = 0; k < 3; k++)
                rgb[k] = (rgb[k] * alpha + 255u * (255u - alpha) + 127u) / 255u;
            }

          if (shape.c == 1)
            {
              /* ITU-R BT.601 luma */
              float luma = 0.299f * (float) rgb[0] + 0.587f * (float) rgb[1] + 0.114f * (float) rgb[2];
              guint8 grey = (guint8) CLAMP (lrintf (luma), 0, 255);

              input[i] = (float) grey / 255.0f;
              if (preview != NULL)
                preview[i] = grey;
            }
          else
            {
              for (int k = 0; k < 3; k++)
                {
                  input[(gsize) k * plane + i] = (float) rgb[k] / 255.0f;
                  if (preview != NULL)
                    preview[(gsize) k * plane + i] = (guint8) rgb[k];
                }
            }
        }
    }

  return TRUE;
}

static gboolean
load_bytes (GBytes         *bytes,
            const char     *display,
            ConvolveShape   shape,
            float          *input,
            guint8         *preview,
            GError        **error)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  pixbuf = decode_image (bytes, display, error);
  if (pixbuf == NULL)
    return FALSE;

  return pixbuf_to_input (pixbuf, shape, input, preview, display, error);
}

/* The shape comes from a model file, which may be foreign: a model for
 * other than grey or colour pictures is an error, not a programming one. */
static gboolean
check_channels (ConvolveShape   shape,
                const char     *display,
                GError        **error)
{
  if (shape.c == 1 || shape.c == 3)
    return TRUE;

  set_image_error (error, display,
                   g_dngettext (GETTEXT_PACKAGE,
                                "the model takes images with %d channel, but a picture gives 1 (grey) or 3 (colour)",
                                "the model takes images with %d channels, but a picture gives 1 (grey) or 3 (colour)",
                                (gulong) MAX (shape.c, 0)),
                   shape.c);
  return FALSE;
}

gboolean
convolve_image_load_bytes (GBytes         *bytes,
                           ConvolveShape   shape,
                           float          *input,
                           guint8         *preview,
                           GError        **error)
{
  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (shape.h > 0 && shape.w > 0, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_channels (shape, NULL, error))
    return FALSE;
  return load_bytes (bytes, NULL, shape, input, preview, error);
}

gboolean
convolve_image_load_file (GFile          *file,
                          ConvolveShape   shape,
                          float          *input,
                          guint8         *preview,
                          GCancellable   *cancellable,
                          GError        **error)
{
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *display = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GByteArray) buffer = NULL;

  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (shape.h > 0 && shape.w > 0, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  basename = g_file_get_basename (file);
  display = basename != NULL ? g_filename_display_name (basename) : g_file_get_parse_name (file);

  if (!check_channels (shape, display, error))
    return FALSE;

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_SIZE,
                            G_FILE_QUERY_INFO_NONE, cancellable, &local_error);
  if (info == NULL)
    goto read_failed;

  if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      set_image_error (error, display, _("it is a folder"));
      return FALSE;
    }

  /* A FIFO would block the read forever, a device never end. */
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      set_image_error (error, display, _("it is not a regular file"));
      return FALSE;
    }

  if (g_file_info_get_size (info) > MAX_BYTES)
    {
      set_image_error (error, display, _("the file is larger than 256 MB"));
      return FALSE;
    }

  /* Read at most one byte past the limit: the size above may be stale, or
   * 0 as for files in /proc. */
  stream = g_file_read (file, cancellable, &local_error);
  if (stream == NULL)
    goto read_failed;
  buffer = g_byte_array_new ();
  for (;;)
    {
      guint8 chunk[16 * 1024];
      gssize n = g_input_stream_read (G_INPUT_STREAM (stream), chunk, sizeof chunk,
                                      cancellable, &local_error);

      if (n < 0)
        goto read_failed;
      if (n == 0)
        break;
      if ((gint64) buffer->len + n > MAX_BYTES)
        {
          set_image_error (error, display, _("the file is larger than 256 MB"));
          return FALSE;
        }
      g_byte_array_append (buffer, chunk, (guint) n);
    }

  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&buffer));
  return load_bytes (bytes, display, shape, input, preview, error);

read_failed:
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                         _("Loading was cancelled"));
  else
    set_image_error (error, display, _("it could not be read (%s)"), local_error->message);
  return FALSE;
}
