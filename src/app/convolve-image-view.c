/* convolve-image-view.c: a small image shown crisp, nearest-neighbour
 * upscaled.
 *
 * GTK 4.8 has no scaling filter on texture nodes (that came in 4.10), so the
 * pixels go through a cairo node with CAIRO_FILTER_NEAREST, which cairo
 * renders at the device scale: crisp on HiDPI too.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "convolve-heatmap.h"
#include "convolve-image-view.h"

struct _ConvolveImageView
{
  GtkWidget        parent_instance;

  cairo_surface_t *surface;       /* RGB24, width x height, or NULL */
  int              natural_size;

  /* Kept for the heatmap, which is blended with them (convolve-heatmap.c,
   * as convolve-cli explain does) whenever either changes. */
  guint8          *pixels;        /* planar, channels x height x width */
  int              channels;
  float           *heatmap;       /* height x width in [0, 1], or NULL */
  double           heatmap_alpha;
};

G_DEFINE_FINAL_TYPE (ConvolveImageView, convolve_image_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_NATURAL_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Pixel (x, y) of planar pixels as 8-bit R, G, B. */
static inline void
planar_rgb (const guint8 *pixels,
            int           channels,
            int           height,
            int           width,
            int           x,
            int           y,
            guint8       *r,
            guint8       *g,
            guint8       *b)
{
  gsize plane = (gsize) height * width;
  gsize at = (gsize) y * width + x;

  *r = pixels[at];
  if (channels >= 3)
    {
      *g = pixels[plane + at];
      *b = pixels[2 * plane + at];
    }
  else
    *g = *b = *r;
}

GdkTexture *
convolve_texture_new_from_planar (const guint8 *pixels,
                                  int           channels,
                                  int           height,
                                  int           width,
                                  int           scale)
{
  g_autoptr(GBytes) bytes = NULL;
  gsize stride;
  guint8 *data;

  g_return_val_if_fail (pixels != NULL, NULL);
  g_return_val_if_fail (channels == 1 || channels == 3, NULL);
  g_return_val_if_fail (width > 0 && height > 0 && scale >= 1, NULL);

  stride = (gsize) width * scale * 3;
  data = g_malloc (stride * height * scale);
  for (int y = 0; y < height * scale; y++)
    {
      guint8 *row = data + y * stride;
      for (int x = 0; x < width * scale; x++)
        planar_rgb (pixels, channels, height, width, x / scale, y / scale,
                    &row[3 * x], &row[3 * x + 1], &row[3 * x + 2]);
    }
  bytes = g_bytes_new_take (data, stride * height * scale);
  return gdk_memory_texture_new (width * scale, height * scale, GDK_MEMORY_R8G8B8, bytes, stride);
}

/* Where the image goes in a view of width x height: as large as fits,
 * centred; by a whole factor when that loses little (under 1/8 of the
 * size), so that every source pixel gets the same number of screen
 * pixels. Beyond that, size wins: a 32 px image in an 81 px cell shows
 * at 81 px rather than 64. */
static gboolean
convolve_image_view_compute_rect (ConvolveImageView *self,
                                  int                width,
                                  int                height,
                                  graphene_rect_t   *rect)
{
  int image_width, image_height;
  double scale, whole;

  if (self->surface == NULL || width <= 0 || height <= 0)
    return FALSE;

  image_width = cairo_image_surface_get_width (self->surface);
  image_height = cairo_image_surface_get_height (self->surface);
  scale = MIN ((double) width / image_width, (double) height / image_height);
  whole = floor (scale);
  if (whole >= 1.0 && whole >= 0.875 * scale)
    scale = whole;
  graphene_rect_init (rect,
                      floor ((width - image_width * scale) / 2.0),
                      floor ((height - image_height * scale) / 2.0),
                      image_width * scale, image_height * scale);
  return TRUE;
}

static void
convolve_image_view_snapshot (GtkWidget   *widget,
                              GtkSnapshot *snapshot)
{
  ConvolveImageView *self = CONVOLVE_IMAGE_VIEW (widget);
  graphene_rect_t rect;
  cairo_t *cr;

  if (!convolve_image_view_compute_rect (self, gtk_widget_get_width (widget),
                                         gtk_widget_get_height (widget), &rect))
    return;

  cr = gtk_snapshot_append_cairo (snapshot, &rect);
  cairo_translate (cr, rect.origin.x, rect.origin.y);
  cairo_scale (cr, rect.size.width / cairo_image_surface_get_width (self->surface),
               rect.size.height / cairo_image_surface_get_height (self->surface));
  cairo_set_source_surface (cr, self->surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_destroy (cr);
}

gboolean
convolve_image_view_get_image_rect (ConvolveImageView *view,
                                    graphene_rect_t   *rect)
{
  g_return_val_if_fail (CONVOLVE_IS_IMAGE_VIEW (view), FALSE);
  g_return_val_if_fail (rect != NULL, FALSE);

  return convolve_image_view_compute_rect (view, gtk_widget_get_width (GTK_WIDGET (view)),
                                           gtk_widget_get_height (GTK_WIDGET (view)), rect);
}

static void
convolve_image_view_measure (GtkWidget      *widget,
                             GtkOrientation  orientation,
                             int             for_size,
                             int            *minimum,
                             int            *natural,
                             int            *minimum_baseline,
                             int            *natural_baseline)
{
  ConvolveImageView *self = CONVOLVE_IMAGE_VIEW (widget);
  int image_width = 1, image_height = 1, along, across;

  if (self->surface != NULL)
    {
      image_width = cairo_image_surface_get_width (self->surface);
      image_height = cairo_image_surface_get_height (self->surface);
    }
  along = orientation == GTK_ORIENTATION_HORIZONTAL ? image_width : image_height;
  across = orientation == GTK_ORIENTATION_HORIZONTAL ? image_height : image_width;

  /* At least one screen pixel per image pixel (and 32 for an empty view);
   * naturally natural_size on the longer side. */
  *minimum = self->surface != NULL ? along : 32;
  *natural = MAX (*minimum, self->natural_size * along / MAX (image_width, image_height));
  if (for_size > 0 && self->surface != NULL)
    *natural = MAX (*minimum, MIN (*natural, for_size * along / across));
}

static void
convolve_image_view_finalize (GObject *object)
{
  ConvolveImageView *self = CONVOLVE_IMAGE_VIEW (object);

  g_clear_pointer (&self->surface, cairo_surface_destroy);
  g_free (self->pixels);
  g_free (self->heatmap);

  G_OBJECT_CLASS (convolve_image_view_parent_class)->finalize (object);
}

static void
convolve_image_view_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ConvolveImageView *self = CONVOLVE_IMAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_NATURAL_SIZE:
      g_value_set_int (value, self->natural_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_image_view_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ConvolveImageView *self = CONVOLVE_IMAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_NATURAL_SIZE:
      convolve_image_view_set_natural_size (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_image_view_class_init (ConvolveImageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = convolve_image_view_finalize;
  object_class->get_property = convolve_image_view_get_property;
  object_class->set_property = convolve_image_view_set_property;

  widget_class->snapshot = convolve_image_view_snapshot;
  widget_class->measure = convolve_image_view_measure;

  properties[PROP_NATURAL_SIZE] =
    g_param_spec_int ("natural-size", NULL, NULL, 1, 4096, 96,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "convolveimageview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
convolve_image_view_init (ConvolveImageView *self)
{
  self->natural_size = 96;
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
}

GtkWidget *
convolve_image_view_new (void)
{
  return g_object_new (CONVOLVE_TYPE_IMAGE_VIEW, NULL);
}

/* Fills the surface (of the pixels' size) from the pixels and any heatmap. */
static void
convolve_image_view_render (ConvolveImageView *self)
{
  int width = cairo_image_surface_get_width (self->surface);
  int height = cairo_image_surface_get_height (self->surface);
  guint8 *data;
  int stride;

  cairo_surface_flush (self->surface);
  data = cairo_image_surface_get_data (self->surface);
  stride = cairo_image_surface_get_stride (self->surface);

  if (self->heatmap != NULL)
    {
      cairo_surface_t *blended = convolve_heatmap_overlay (self->pixels, self->channels, height, width,
                                                           self->heatmap, 1, CONVOLVE_COLORMAP_VIRIDIS,
                                                           self->heatmap_alpha);
      if (blended != NULL)
        {
          const guint8 *from = cairo_image_surface_get_data (blended);
          int from_stride = cairo_image_surface_get_stride (blended);

          cairo_surface_flush (blended);
          for (int y = 0; y < height; y++)
            memcpy (data + (gsize) y * stride, from + (gsize) y * from_stride, (gsize) width * 4);
          cairo_surface_destroy (blended);
          cairo_surface_mark_dirty (self->surface);
          return;
        }
    }

  for (int y = 0; y < height; y++)
    {
      guint32 *row = (guint32 *) (void *) (data + (gsize) y * stride);
      for (int x = 0; x < width; x++)
        {
          guint8 r, g, b;
          planar_rgb (self->pixels, self->channels, height, width, x, y, &r, &g, &b);
          row[x] = 0xff000000u | ((guint32) r << 16) | ((guint32) g << 8) | b;
        }
    }
  cairo_surface_mark_dirty (self->surface);
}

void
convolve_image_view_set_pixels (ConvolveImageView *view,
                                const guint8      *pixels,
                                int                channels,
                                int                height,
                                int                width)
{
  gboolean resized;

  g_return_if_fail (CONVOLVE_IS_IMAGE_VIEW (view));
  g_return_if_fail (pixels == NULL || channels == 1 || channels == 3);
  g_return_if_fail (pixels == NULL || (width > 0 && height > 0));

  resized = view->surface == NULL || pixels == NULL ||
            cairo_image_surface_get_width (view->surface) != width ||
            cairo_image_surface_get_height (view->surface) != height;

  /* A heatmap belongs to the image it was made for. */
  g_clear_pointer (&view->heatmap, g_free);
  g_clear_pointer (&view->pixels, g_free);
  if (pixels == NULL)
    g_clear_pointer (&view->surface, cairo_surface_destroy);
  else
    {
      if (resized)
        {
          g_clear_pointer (&view->surface, cairo_surface_destroy);
          view->surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
        }
      view->pixels = g_memdup2 (pixels, (gsize) channels * height * width);
      view->channels = channels;
      convolve_image_view_render (view);
    }

  if (resized)
    gtk_widget_queue_resize (GTK_WIDGET (view));
  gtk_widget_queue_draw (GTK_WIDGET (view));
}

void
convolve_image_view_set_heatmap (ConvolveImageView *view,
                                 const float       *map,
                                 double             alpha)
{
  g_return_if_fail (CONVOLVE_IS_IMAGE_VIEW (view));

  if (view->surface == NULL)
    return;
  g_clear_pointer (&view->heatmap, g_free);
  if (map != NULL)
    view->heatmap = g_memdup2 (map, sizeof (float) * cairo_image_surface_get_width (view->surface)
                                    * cairo_image_surface_get_height (view->surface));
  view->heatmap_alpha = CLAMP (alpha, 0.0, 1.0);
  convolve_image_view_render (view);
  gtk_widget_queue_draw (GTK_WIDGET (view));
}

gboolean
convolve_image_view_has_heatmap (ConvolveImageView *view)
{
  g_return_val_if_fail (CONVOLVE_IS_IMAGE_VIEW (view), FALSE);
  return view->heatmap != NULL;
}

gboolean
convolve_image_view_has_pixels (ConvolveImageView *view)
{
  g_return_val_if_fail (CONVOLVE_IS_IMAGE_VIEW (view), FALSE);
  return view->surface != NULL;
}

int
convolve_image_view_get_natural_size (ConvolveImageView *view)
{
  g_return_val_if_fail (CONVOLVE_IS_IMAGE_VIEW (view), 0);
  return view->natural_size;
}

void
convolve_image_view_set_natural_size (ConvolveImageView *view,
                                      int                size)
{
  g_return_if_fail (CONVOLVE_IS_IMAGE_VIEW (view));

  size = CLAMP (size, 1, 4096);
  if (view->natural_size == size)
    return;
  view->natural_size = size;
  gtk_widget_queue_resize (GTK_WIDGET (view));
  g_object_notify_by_pspec (G_OBJECT (view), properties[PROP_NATURAL_SIZE]);
}
