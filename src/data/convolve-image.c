/* convolve-image.c: image files (anything gdk-pixbuf reads) to model input.
 *
 * The image is decoded, turned as its EXIF orientation says, fitted to
 * the model's input size as an image folder fits its pictures (cropped:
 * resized until it covers the input, its middle cut out; or padded:
 * resized until it fits inside, centred on black; area averaging when
 * shrinking, bilinear when enlarging), laid on white where it is
 * transparent, and for one-channel models turned to grey with the
 * ITU-R BT.601 luma weights. Pixels are
 * rounded to uint8 first and then scaled by 1/255, exactly as a dataset
 * image is, so a picture saved from the dataset predicts as it does there.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n-lib.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convolve-data-private.h"
#include "convolve-limits.h"

#define CHUNK_SIZE  (64 * 1024)

typedef struct {
  int      width;
  int      height;
  gboolean too_large;
  guint8  *rows_done;   /* one bit per row the decoder has filled in */
  int      rows_size;   /* rows rows_done has room for */
  /* JPEG only: decode at 1/2, 1/4 or 1/8 of the size (libjpeg's DCT
   * scaling, far quicker) as long as the short and long sides stay at
   * least this large; 0 and 0 for the full size */
  gboolean is_jpeg;
  int      min_short;
  int      min_long;
} SizeCheck;

/* The largest of 8, 4, 2 that keeps both sides' minimums, else 1. */
static int
jpeg_reduction (const SizeCheck *check,
                int              width,
                int              height)
{
  int short_side = MIN (width, height);
  int long_side = MAX (width, height);

  if (!check->is_jpeg || (check->min_short <= 0 && check->min_long <= 0))
    return 1;
  for (int denominator = 8; denominator > 1; denominator /= 2)
    if (short_side / denominator >= check->min_short && long_side / denominator >= check->min_long)
      return denominator;
  return 1;
}

static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  SizeCheck       *check)
{
  check->width = width;
  check->height = height;
  if (width <= 0 || height <= 0 ||
      (gint64) width * (gint64) height > CONVOLVE_LIMIT_IMAGE_PIXELS)
    {
      /* A zero size asks the module to stop before it allocates the
       * image (gdk_pixbuf_get_file_info() relies on the same). */
      check->too_large = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  /* Asking for exactly what libjpeg makes at 1/d: no second resize. */
  {
    int denominator = jpeg_reduction (check, width, height);

    if (denominator > 1)
      {
        width = (width + denominator - 1) / denominator;
        height = (height + denominator - 1) / denominator;
        gdk_pixbuf_loader_set_size (loader, width, height);
      }
  }
  /* A module may announce the size more than once: the row map follows
   * the latest, never the first. */
  if (height != check->rows_size)
    {
      g_free (check->rows_done);
      check->rows_done = g_malloc0 ((gsize) height / 8 + 1);
      check->rows_size = height;
    }
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
  for (int row = MAX (y, 0); row < MIN (y + height, check->rows_size); row++)
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

  if (check->rows_done == NULL || height != check->rows_size)
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

static void
set_too_large_error (GError     **error,
                     const char  *display,
                     gint64       width,
                     gint64       height)
{
  /* every format's sides fit an int (PNG's are below 2^31) */
  set_image_error (error, display,
                   _("it is %d × %d pixels, more than the %d megapixels Convolve reads"),
                   (int) width, (int) height, (int) (CONVOLVE_LIMIT_IMAGE_PIXELS / 1000000));
}

/* ------------------------------------------------------------------ */
/* Headers. gdk-pixbuf's modules size their buffers from the header
 * before anyone can say no (the BMP one reallocs whatever header size the
 * file names, 4 GB from 29 bytes; the GIF one raises a critical on a
 * frame of width 0), so the format and its dimensions are read here, and
 * a file is only handed to the module of the format it was found to be. */

typedef enum {
  SNIFF_OK,         /* format and size known */
  SNIFF_UNKNOWN,    /* not a format Convolve reads */
  SNIFF_TRUNCATED,  /* ends inside its header */
  SNIFF_DAMAGED,    /* the header is impossible */
  SNIFF_EMPTY,      /* an image of no pixels */
} SniffResult;

typedef struct {
  const char *type;     /* gdk-pixbuf module name */
  const char *name;     /* for messages */
  gint64      width;
  gint64      height;
  gint64      frame_width;   /* the largest frame (GIF), else the image */
  gint64      frame_height;
  gboolean    incomplete;    /* the file ends before the image does */
} ImageHeader;

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint
read_be16 (const guint8 *p)
{
  return ((guint) p[0] << 8) | p[1];
}

static guint32
read_le32 (const guint8 *p)
{
  return ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

static guint
read_le16 (const guint8 *p)
{
  return ((guint) p[1] << 8) | p[0];
}

static SniffResult
sniff_png (const guint8 *data,
           gsize         length,
           ImageHeader  *header)
{
  /* signature, then IHDR first: length 13, width, height */
  if (length < 8 + 8 + 13)
    return SNIFF_TRUNCATED;
  if (read_be32 (data + 8) != 13 || memcmp (data + 12, "IHDR", 4) != 0)
    return SNIFF_DAMAGED;
  header->width = read_be32 (data + 16);
  header->height = read_be32 (data + 20);
  /* the PNG standard's own bound: 2^31 - 1 */
  if (header->width > G_MAXINT32 || header->height > G_MAXINT32)
    return SNIFF_DAMAGED;
  return SNIFF_OK;
}

/* libjpeg makes up the rest of a file cut short (grey rows, a warning
 * gdk-pixbuf drops) and reports every row as decoded: a JPEG is whole
 * only if its segments and scans lead to an end-of-image marker. */
static gboolean
jpeg_find_end (const guint8 *data,
               gsize         length,
               gsize         at)
{
  while (at + 2 <= length)
    {
      guint marker;

      if (data[at] != 0xff)
        {
          at++;  /* entropy-coded data of a scan */
          continue;
        }
      marker = data[at + 1];
      if (marker == 0xd9)
        return TRUE;
      if (marker == 0x00 || marker == 0xff || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
        {
          at += marker == 0xff ? 1 : 2;  /* stuffing, fill, restarts */
          continue;
        }
      /* a segment: skip its length (SOS too; its scan follows) */
      if (at + 4 > length)
        return FALSE;
      at += 2 + read_be16 (data + at + 2);
    }
  return FALSE;
}

static SniffResult
sniff_jpeg (const guint8 *data,
            gsize         length,
            ImageHeader  *header)
{
  gsize at = 2;

  /* markers up to the first start of frame, which holds the size */
  for (;;)
    {
      guint marker;
      gsize segment;

      while (at < length && data[at] == 0xff && at + 1 < length && data[at + 1] == 0xff)
        at++;  /* fill bytes */
      if (at + 2 > length)
        return SNIFF_TRUNCATED;
      if (data[at] != 0xff)
        return SNIFF_DAMAGED;
      marker = data[at + 1];
      at += 2;
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
        continue;  /* no length */
      if (marker == 0xd8 || marker == 0xd9 || marker == 0xda)
        return SNIFF_DAMAGED;  /* image data or an end before any frame */
      if (at + 2 > length)
        return SNIFF_TRUNCATED;
      segment = read_be16 (data + at);
      if (segment < 2)
        return SNIFF_DAMAGED;
      if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc)
        {
          /* length, precision, height, width */
          if (segment < 7)
            return SNIFF_DAMAGED;
          if (at + 7 > length)
            return SNIFF_TRUNCATED;
          header->height = read_be16 (data + at + 3);
          header->width = read_be16 (data + at + 5);
          header->incomplete = !jpeg_find_end (data, length, at + segment);
          return SNIFF_OK;
        }
      at += segment;
    }
}

/* Skips a run of GIF sub-blocks (each a length byte and that many bytes,
 * ended by a zero length). */
static gboolean
gif_skip_sub_blocks (const guint8 *data,
                     gsize         length,
                     gsize        *at)
{
  for (;;)
    {
      guint n;

      if (*at >= length)
        return FALSE;
      n = data[(*at)++];
      if (n == 0)
        return TRUE;
      if (length - *at < n)
        return FALSE;
      *at += n;
    }
}

static SniffResult
sniff_gif (const guint8 *data,
           gsize         length,
           ImageHeader  *header)
{
  gsize at = 13;
  guint n_frames = 0;

  if (length < 13)
    return SNIFF_TRUNCATED;
  header->width = read_le16 (data + 6);
  header->height = read_le16 (data + 8);
  if (header->width == 0 || header->height == 0)
    return SNIFF_EMPTY;
  if (data[10] & 0x80)
    at += 3u << ((data[10] & 0x07) + 1);  /* the global colour table */

  /* Every frame: the module makes a pixbuf of each frame's own size. */
  for (;;)
    {
      if (at >= length)
        return n_frames > 0 ? SNIFF_OK : SNIFF_TRUNCATED;
      switch (data[at++])
        {
        case 0x21:  /* extension: label, sub-blocks */
          if (at >= length)
            return SNIFF_TRUNCATED;
          at++;
          if (!gif_skip_sub_blocks (data, length, &at))
            return n_frames > 0 ? SNIFF_OK : SNIFF_TRUNCATED;
          break;

        case 0x2c:  /* image: left, top, width, height, flags */
          {
            gint64 w, h;

            if (length - at < 9)
              return SNIFF_TRUNCATED;
            w = read_le16 (data + at + 4);
            h = read_le16 (data + at + 6);
            if (w == 0 || h == 0)
              return SNIFF_EMPTY;
            /* The module clips each frame to the screen: one wholly
             * outside it becomes a frame of width 0 (found by fuzzing). */
            if (read_le16 (data + at) >= header->width || read_le16 (data + at + 2) >= header->height)
              return SNIFF_DAMAGED;
            if (w * h > header->frame_width * header->frame_height)
              {
                header->frame_width = w;
                header->frame_height = h;
              }
            if (data[at + 8] & 0x80)
              at += 3u << ((data[at + 8] & 0x07) + 1);
            at += 9 + 1;  /* and the LZW code size */
            if (at > length || !gif_skip_sub_blocks (data, length, &at))
              return n_frames > 0 ? SNIFF_OK : SNIFF_TRUNCATED;
            n_frames++;
          }
          break;

        case 0x3b:  /* trailer */
          return n_frames > 0 ? SNIFF_OK : SNIFF_EMPTY;

        default:
          /* The module skips any other byte between blocks, looking for
           * the next one, and so does the sniffer: stopping here would let
           * a later frame of width 0 reach the module unseen (found by
           * fuzzing). */
          break;
        }
    }
}

static SniffResult
sniff_bmp (const guint8 *data,
           gsize         length,
           ImageHeader  *header)
{
  guint32 pixels_at;
  guint32 info_size;

  if (length < 14 + 4)
    return SNIFF_TRUNCATED;
  pixels_at = read_le32 (data + 10);
  info_size = read_le32 (data + 14);
  /* the sizes of the info headers there are; the module would allocate
   * any other */
  if (info_size != 12 && info_size != 16 && info_size != 40 && info_size != 52 &&
      info_size != 56 && info_size != 64 && info_size != 108 && info_size != 124)
    return SNIFF_DAMAGED;
  if (length < 14 + (gsize) info_size)
    return SNIFF_TRUNCATED;
  /* the pixels start inside the file (the module skips to them) */
  if (pixels_at < 14 + info_size || pixels_at > length)
    return pixels_at > length ? SNIFF_TRUNCATED : SNIFF_DAMAGED;

  if (info_size == 12)
    {
      header->width = read_le16 (data + 18);
      header->height = read_le16 (data + 20);
    }
  else
    {
      gint32 w = (gint32) read_le32 (data + 18);
      gint32 h = (gint32) read_le32 (data + 22);

      /* a negative height is a top-down picture */
      if (w < 0 || h == G_MININT32)
        return SNIFF_DAMAGED;
      header->width = w;
      header->height = ABS (h);
    }
  /* The palette lies between the headers and the pixels, 4 bytes a colour,
   * 256 at most: the module reallocates what the colour count says before
   * reading it (a count of 2^32 - 1 asked for 4 GiB; found by fuzzing). */
  if (info_size >= 40)
    {
      guint32 n_colors = read_le32 (data + 14 + 32);

      if (n_colors > 256 || (guint64) n_colors * 4 > pixels_at - 14 - info_size)
        return SNIFF_DAMAGED;
    }
  return SNIFF_OK;
}

static SniffResult
sniff_webp (const guint8 *data,
            gsize         length,
            ImageHeader  *header)
{
  if (length < 30)
    return SNIFF_TRUNCATED;
  if (memcmp (data + 12, "VP8X", 4) == 0)
    {
      /* canvas width and height less one, 24 bits each */
      header->width = (gint64) (data[24] | (data[25] << 8) | (data[26] << 16)) + 1;
      header->height = (gint64) (data[27] | (data[28] << 8) | (data[29] << 16)) + 1;
    }
  else if (memcmp (data + 12, "VP8L", 4) == 0)
    {
      guint32 bits = read_le32 (data + 21);

      if (data[20] != 0x2f)
        return SNIFF_DAMAGED;
      header->width = (gint64) (bits & 0x3fff) + 1;
      header->height = (gint64) ((bits >> 14) & 0x3fff) + 1;
    }
  else if (memcmp (data + 12, "VP8 ", 4) == 0)
    {
      /* frame tag, start code, then 14-bit sizes */
      if (data[23] != 0x9d || data[24] != 0x01 || data[25] != 0x2a)
        return SNIFF_DAMAGED;
      header->width = read_le16 (data + 26) & 0x3fff;
      header->height = read_le16 (data + 28) & 0x3fff;
    }
  else
    {
      return SNIFF_DAMAGED;
    }
  return SNIFF_OK;
}

static SniffResult
sniff_image (const guint8 *data,
             gsize         length,
             ImageHeader  *header)
{
  SniffResult result;

  header->frame_width = 0;
  header->frame_height = 0;
  header->incomplete = FALSE;
  if (length >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    {
      header->type = "png";
      header->name = "PNG";
      result = sniff_png (data, length, header);
    }
  else if (length >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    {
      header->type = "jpeg";
      header->name = "JPEG";
      result = sniff_jpeg (data, length, header);
    }
  else if (length >= 6 && (memcmp (data, "GIF87a", 6) == 0 || memcmp (data, "GIF89a", 6) == 0))
    {
      header->type = "gif";
      header->name = "GIF";
      result = sniff_gif (data, length, header);
    }
  else if (length >= 2 && data[0] == 'B' && data[1] == 'M')
    {
      header->type = "bmp";
      header->name = "BMP";
      result = sniff_bmp (data, length, header);
    }
  else if (length >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    {
      header->type = "webp";
      header->name = "WebP";
      result = sniff_webp (data, length, header);
    }
  else
    {
      return SNIFF_UNKNOWN;
    }

  if (result == SNIFF_OK && (header->width == 0 || header->height == 0))
    return SNIFF_EMPTY;
  if (result == SNIFF_OK && header->frame_width * header->frame_height < header->width * header->height)
    {
      header->frame_width = header->width;
      header->frame_height = header->height;
    }
  return result;
}

/* Refuses what the header says cannot be read, before any module sees it. */
static gboolean
check_header (const guint8  *data,
              gsize          length,
              ImageHeader   *header,
              const char    *display,
              GError       **error)
{
  switch (sniff_image (data, length, header))
    {
    case SNIFF_OK:
      break;
    case SNIFF_UNKNOWN:
      set_image_error (error, display,
                       _("it is not an image Convolve can read (PNG, JPEG, GIF, BMP or WebP)"));
      return FALSE;
    case SNIFF_TRUNCATED:
      set_image_error (error, display, _("the file ends before the image does (it is truncated)"));
      return FALSE;
    case SNIFF_EMPTY:
      set_image_error (error, display, _("its %s header describes an image without pixels"), header->name);
      return FALSE;
    case SNIFF_DAMAGED:
    default:
      set_image_error (error, display, _("its %s header is damaged"), header->name);
      return FALSE;
    }

  /* the size first: it is what the header alone can claim */
  if (header->frame_width * header->frame_height > CONVOLVE_LIMIT_IMAGE_PIXELS)
    {
      set_too_large_error (error, display, header->frame_width, header->frame_height);
      return FALSE;
    }
  if (header->incomplete)
    {
      set_image_error (error, display, _("the file ends before the image does (it is truncated)"));
      return FALSE;
    }
  return TRUE;
}

static void
set_too_big_file_error (GError     **error,
                        const char  *display)
{
  g_autofree char *limit = g_format_size (CONVOLVE_LIMIT_IMAGE_BYTES);

  /* TRANSLATORS: %s is a size such as “268.4 MB” */
  set_image_error (error, display, _("the file is larger than %s, the most Convolve reads"), limit);
}

static GdkPixbuf *
decode_image (GBytes      *bytes,
              const char  *display,
              int          min_short,
              int          min_long,
              GError     **error)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  GdkPixbuf *pixbuf;
  g_auto(SizeCheck) check = { 0, 0, FALSE, NULL, 0, FALSE, min_short, min_long };
  ImageHeader header = { NULL, NULL, 0, 0, 0, 0, FALSE };
  const guint8 *data;
  gsize length;
  gsize offset = 0;

  data = g_bytes_get_data (bytes, &length);
  if (length == 0)
    {
      set_image_error (error, display, _("the file is empty"));
      return NULL;
    }

  if ((gint64) length > CONVOLVE_LIMIT_IMAGE_BYTES)
    {
      set_too_big_file_error (error, display);
      return NULL;
    }

  if (!check_header (data, length, &header, display, error))
    return NULL;

  /* The module of the format found, not whichever gdk-pixbuf guesses. */
  loader = gdk_pixbuf_loader_new_with_type (header.type, &local_error);
  if (loader == NULL)
    {
      set_image_error (error, display, _("it is a %s image, and no decoder for %s is installed"),
                       header.name, header.name);
      return NULL;
    }
  check.is_jpeg = g_str_equal (header.type, "jpeg");
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
      if (check.width <= 0 || check.height <= 0)
        set_image_error (error, display, _("its %s header describes an image without pixels"), header.name);
      else
        set_too_large_error (error, display, check.width, check.height);
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

void
convolve_image_pixbuf_to_rgb (GdkPixbuf *pixbuf,
                              guint8    *out)
{
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  gboolean has_alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  gsize plane = (gsize) width * (gsize) height;

  for (int y = 0; y < height; y++)
    {
      const guint8 *row = pixels + (gsize) y * (gsize) rowstride;

      for (int x = 0; x < width; x++)
        {
          const guint8 *p = row + (gsize) x * (gsize) n_channels;
          guint rgb[3] = { p[0], p[1], p[2] };
          gsize i = (gsize) y * (gsize) width + (gsize) x;

          if (has_alpha)
            {
              guint alpha = p[3];

              /* over white: c * a + 255 * (1 - a), rounded */
              for (int k = 0; k < 3; k++)
                rgb[k] = (rgb[k] * alpha + 255u * (255u - alpha) + 127u) / 255u;
            }
          for (int k = 0; k < 3; k++)
            out[(gsize) k * plane + i] = (guint8) rgb[k];
        }
    }
}

guint8
convolve_image_luma (guint8 r,
                     guint8 g,
                     guint8 b)
{
  /* ITU-R BT.601 luma */
  float luma = 0.299f * (float) r + 0.587f * (float) g + 0.114f * (float) b;

  return (guint8) CLAMP (lrintf (luma), 0, 255);
}

GdkPixbuf *
convolve_image_scale (GdkPixbuf *pixbuf,
                      int        width,
                      int        height)
{
  /* TILES averages the covered area when shrinking; it would repeat
   * pixels when enlarging, where bilinear is smoother. */
  GdkInterpType interp = (width < gdk_pixbuf_get_width (pixbuf) ||
                          height < gdk_pixbuf_get_height (pixbuf)) ? GDK_INTERP_TILES
                                                                   : GDK_INTERP_BILINEAR;

  if (width == gdk_pixbuf_get_width (pixbuf) && height == gdk_pixbuf_get_height (pixbuf))
    return g_object_ref (pixbuf);
  return gdk_pixbuf_scale_simple (pixbuf, width, height, interp);
}

void
convolve_image_fit_geometry (int               width,
                             int               height,
                             int               out_width,
                             int               out_height,
                             ConvolveImageFit  fit,
                             ConvolveImageFitGeometry *geometry)
{
  /* whether the picture is at least as wide, for its height, as the input */
  gboolean wider = (gint64) width * out_height >= (gint64) height * out_width;

  if (fit == CONVOLVE_IMAGE_FIT_CROP)
    {
      /* the largest centred part of the input's shape */
      geometry->source_width = wider ? MAX (1, (int) lround ((double) height * out_width / out_height)) : width;
      geometry->source_height = wider ? height : MAX (1, (int) lround ((double) width * out_height / out_width));
      geometry->source_x = (width - geometry->source_width) / 2;
      geometry->source_y = (height - geometry->source_height) / 2;
      geometry->width = out_width;
      geometry->height = out_height;
    }
  else
    {
      /* the whole picture, as large as fits */
      geometry->source_x = 0;
      geometry->source_y = 0;
      geometry->source_width = width;
      geometry->source_height = height;
      geometry->width = wider ? out_width : MAX (1, (int) lround ((double) width * out_height / height));
      geometry->height = wider ? MAX (1, (int) lround ((double) height * out_width / width)) : out_height;
    }
  geometry->x = (out_width - geometry->width) / 2;
  geometry->y = (out_height - geometry->height) / 2;
}

void
convolve_image_fit_decode_hints (int               out_width,
                                 int               out_height,
                                 ConvolveImageFit  fit,
                                 int              *min_short,
                                 int              *min_long)
{
  int side = MAX (out_width, out_height);

  /* twice the input's side left for the area averaging to work on */
  *min_short = fit == CONVOLVE_IMAGE_FIT_CROP ? 2 * side : 0;
  *min_long = fit == CONVOLVE_IMAGE_FIT_PAD ? 2 * side : 0;
}

gboolean
convolve_image_fit_pixbuf (GdkPixbuf        *pixbuf,
                           int               out_width,
                           int               out_height,
                           ConvolveImageFit  fit,
                           guint8           *out)
{
  ConvolveImageFitGeometry g;
  g_autoptr(GdkPixbuf) part = NULL;
  g_autoptr(GdkPixbuf) scaled = NULL;
  gsize plane = (gsize) out_width * (gsize) out_height;
  g_autofree guint8 *small = NULL;

  convolve_image_fit_geometry (gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf),
                               out_width, out_height, fit, &g);
  part = gdk_pixbuf_new_subpixbuf (pixbuf, g.source_x, g.source_y, g.source_width, g.source_height);
  scaled = convolve_image_scale (part, g.width, g.height);
  if (scaled == NULL)
    return FALSE;
  if (g.width == out_width && g.height == out_height)
    {
      convolve_image_pixbuf_to_rgb (scaled, out);
      return TRUE;
    }

  small = g_malloc (3 * (gsize) g.width * (gsize) g.height);
  convolve_image_pixbuf_to_rgb (scaled, small);
  memset (out, 0, 3 * plane);
  for (int k = 0; k < 3; k++)
    for (int y = 0; y < g.height; y++)
      memcpy (out + k * plane + (gsize) (g.y + y) * out_width + g.x,
              small + ((gsize) k * g.height + y) * g.width, (gsize) g.width);
  return TRUE;
}

static gboolean
pixbuf_to_input (GdkPixbuf        *pixbuf,
                 ConvolveShape     shape,
                 ConvolveImageFit  fit,
                 float            *input,
                 guint8           *preview,
                 const char       *display,
                 GError          **error)
{
  g_autofree guint8 *rgb = NULL;
  gsize plane = (gsize) shape.h * (gsize) shape.w;

  rgb = g_malloc (3 * plane);
  if (!convolve_image_fit_pixbuf (pixbuf, shape.w, shape.h, fit, rgb))
    {
      set_image_error (error, display, _("there is not enough memory to resize it"));
      return FALSE;
    }

  for (gsize i = 0; i < plane; i++)
    {
      if (shape.c == 1)
        {
          guint8 grey = convolve_image_luma (rgb[i], rgb[plane + i], rgb[2 * plane + i]);

          input[i] = (float) grey / 255.0f;
          if (preview != NULL)
            preview[i] = grey;
        }
      else
        {
          for (int k = 0; k < 3; k++)
            {
              input[(gsize) k * plane + i] = (float) rgb[(gsize) k * plane + i] / 255.0f;
              if (preview != NULL)
                preview[(gsize) k * plane + i] = rgb[(gsize) k * plane + i];
            }
        }
    }

  return TRUE;
}

static gboolean
load_bytes (GBytes           *bytes,
            const char       *display,
            ConvolveShape     shape,
            ConvolveImageFit  fit,
            float            *input,
            guint8           *preview,
            GError          **error)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  int min_short, min_long;

  /* decoded as an image folder decodes its pictures, so one of them
   * predicts here as it does in the dataset */
  convolve_image_fit_decode_hints (shape.w, shape.h, fit, &min_short, &min_long);
  pixbuf = decode_image (bytes, display, min_short, min_long, error);
  if (pixbuf == NULL)
    return FALSE;

  return pixbuf_to_input (pixbuf, shape, fit, input, preview, display, error);
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
convolve_image_load_bytes (GBytes           *bytes,
                           ConvolveShape     shape,
                           ConvolveImageFit  fit,
                           float            *input,
                           guint8           *preview,
                           GError          **error)
{
  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (shape.h > 0 && shape.w > 0, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_channels (shape, NULL, error))
    return FALSE;
  return load_bytes (bytes, NULL, shape, fit, input, preview, error);
}

/* The whole of a native file, read through one descriptor: opened without
 * blocking (a FIFO put there would hang open() and read()), checked with
 * fstat() on that descriptor, so nothing swapped in after the check is
 * read, and read rather than mapped, so a file cut short meanwhile is a
 * short read, not a SIGBUS. */
static GBytes *
read_native_file (const char    *path,
                  const char    *display,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GByteArray) buffer = NULL;
  struct stat st;
  int fd;

  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      set_image_error (error, display, _("it could not be read (%s)"), g_strerror (saved_errno));
      return NULL;
    }

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      set_image_error (error, display, _("it could not be read (%s)"), g_strerror (saved_errno));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      close (fd);
      set_image_error (error, display, _("it is a folder"));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      set_image_error (error, display, _("it is not a regular file"));
      return NULL;
    }
  if ((gint64) st.st_size > CONVOLVE_LIMIT_IMAGE_BYTES)
    {
      close (fd);
      set_too_big_file_error (error, display);
      return NULL;
    }

  /* To the end, at most one byte past the limit: st_size may be stale,
   * or 0 as for files in /proc. */
  buffer = g_byte_array_sized_new ((guint) st.st_size + 1);
  for (;;)
    {
      guint8 chunk[CHUNK_SIZE];
      gssize n;

      if (g_cancellable_is_cancelled (cancellable))
        {
          close (fd);
          g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                               _("Loading was cancelled"));
          return NULL;
        }
      n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          set_image_error (error, display, _("it could not be read (%s)"), g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      if ((gint64) buffer->len + n > CONVOLVE_LIMIT_IMAGE_BYTES)
        {
          close (fd);
          set_too_big_file_error (error, display);
          return NULL;
        }
      g_byte_array_append (buffer, chunk, (guint) n);
    }
  close (fd);

  return g_byte_array_free_to_bytes (g_steal_pointer (&buffer));
}

/* Any other GFile (a remote one, say): one stream, whose own info is
 * checked, never the path's. */
static GBytes *
read_stream_file (GFile         *file,
                  const char    *display,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GByteArray) buffer = NULL;
  g_autoptr(GError) local_error = NULL;

  stream = g_file_read (file, cancellable, &local_error);
  if (stream == NULL)
    goto read_failed;

  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable, NULL);
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE) &&
      g_file_info_get_size (info) > CONVOLVE_LIMIT_IMAGE_BYTES)
    {
      set_too_big_file_error (error, display);
      return NULL;
    }

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
      if ((gint64) buffer->len + n > CONVOLVE_LIMIT_IMAGE_BYTES)
        {
          set_too_big_file_error (error, display);
          return NULL;
        }
      g_byte_array_append (buffer, chunk, (guint) n);
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&buffer));

read_failed:
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_set_error_literal (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED,
                         _("Loading was cancelled"));
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY))
    set_image_error (error, display, _("it is a folder"));
  else
    set_image_error (error, display, _("it could not be read (%s)"), local_error->message);
  return NULL;
}

gboolean
convolve_image_load_file (GFile            *file,
                          ConvolveShape     shape,
                          ConvolveImageFit  fit,
                          float            *input,
                          guint8           *preview,
                          GCancellable     *cancellable,
                          GError          **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *display = NULL;
  const char *path;

  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (shape.h > 0 && shape.w > 0, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  basename = g_file_get_basename (file);
  display = basename != NULL ? g_filename_display_name (basename) : g_file_get_parse_name (file);

  if (!check_channels (shape, display, error))
    return FALSE;

  path = g_file_peek_path (file);
  if (path != NULL)
    bytes = read_native_file (path, display, cancellable, error);
  else
    bytes = read_stream_file (file, display, cancellable, error);
  if (bytes == NULL)
    return FALSE;

  return load_bytes (bytes, display, shape, fit, input, preview, error);
}

GdkPixbuf *
convolve_image_decode_path (const char    *path,
                            const char    *display,
                            int            min_short,
                            int            min_long,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL && display != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bytes = read_native_file (path, display, cancellable, error);
  if (bytes == NULL)
    return NULL;
  return decode_image (bytes, display, min_short, min_long, error);
}
