/* make-image-folder.c: writes a folder of photo-like JPEG pictures, one
 * subfolder per class (beach, forest, night, snow, sunset), drawn with
 * cairo from a seed: skies, ground, sun or moon, trees, waves, stars. For
 * the import benchmark (scripts/bench-image-folder.sh) and screenshots.
 *
 * usage: make-image-folder OUT-DIR [PER-CLASS [WIDTH HEIGHT [SEED]]]
 *        (defaults: 40 pictures per class of 500 x 375, seed 1)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cairo.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "convolve-rng.h"

typedef struct {
  ConvolveRng rng;
  int         width;
  int         height;
} Scene;

static double
uniform (Scene  *scene,
         double  low,
         double  high)
{
  return low + (high - low) * convolve_rng_uniform (&scene->rng);
}

static void
sky (cairo_t *cr,
     Scene   *scene,
     double   top_r, double top_g, double top_b,
     double   low_r, double low_g, double low_b,
     double   horizon)
{
  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, 0, 0, horizon);
  double jitter = uniform (scene, -0.06, 0.06);

  cairo_pattern_add_color_stop_rgb (gradient, 0, top_r + jitter, top_g + jitter, top_b + jitter);
  cairo_pattern_add_color_stop_rgb (gradient, 1, low_r, low_g, low_b);
  cairo_set_source (cr, gradient);
  cairo_rectangle (cr, 0, 0, scene->width, horizon + 0.05 * scene->height);
  cairo_fill (cr);
  cairo_pattern_destroy (gradient);
}

static void
ground (cairo_t *cr,
        Scene   *scene,
        double   r, double g, double b,
        double   horizon)
{
  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, horizon, 0, scene->height);

  cairo_pattern_add_color_stop_rgb (gradient, 0, r, g, b);
  cairo_pattern_add_color_stop_rgb (gradient, 1, r * 0.6, g * 0.6, b * 0.6);
  cairo_set_source (cr, gradient);
  cairo_move_to (cr, 0, horizon);
  for (int x = 0; x <= scene->width; x += scene->width / 10)
    cairo_line_to (cr, x, horizon + uniform (scene, -0.03, 0.03) * scene->height);
  cairo_line_to (cr, scene->width, scene->height);
  cairo_line_to (cr, 0, scene->height);
  cairo_close_path (cr);
  cairo_fill (cr);
  cairo_pattern_destroy (gradient);
}

static void
disc (cairo_t *cr,
      double   x, double y, double radius,
      double   r, double g, double b, double a)
{
  cairo_pattern_t *glow = cairo_pattern_create_radial (x, y, radius * 0.2, x, y, radius);

  cairo_pattern_add_color_stop_rgba (glow, 0, r, g, b, a);
  cairo_pattern_add_color_stop_rgba (glow, 0.7, r, g, b, a * 0.9);
  cairo_pattern_add_color_stop_rgba (glow, 1, r, g, b, 0);
  cairo_set_source (cr, glow);
  cairo_arc (cr, x, y, radius, 0, 2 * G_PI);
  cairo_fill (cr);
  cairo_pattern_destroy (glow);
}

static void
tree (cairo_t *cr,
      double   x, double base, double size,
      double   shade)
{
  cairo_set_source_rgb (cr, 0.3 * shade, 0.2 * shade, 0.1 * shade);
  cairo_rectangle (cr, x - size * 0.05, base - size * 0.25, size * 0.1, size * 0.25);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0.05 * shade, 0.35 * shade, 0.1 * shade);
  for (int tier = 0; tier < 3; tier++)
    {
      double y = base - size * (0.2 + 0.25 * tier);

      cairo_move_to (cr, x - size * (0.35 - 0.08 * tier), y);
      cairo_line_to (cr, x + size * (0.35 - 0.08 * tier), y);
      cairo_line_to (cr, x, y - size * 0.4);
      cairo_close_path (cr);
      cairo_fill (cr);
    }
}

static void
draw (cairo_t    *cr,
      Scene      *scene,
      const char *kind)
{
  double w = scene->width, h = scene->height;
  double horizon = h * uniform (scene, 0.45, 0.65);

  if (g_str_equal (kind, "beach"))
    {
      sky (cr, scene, 0.25, 0.55, 0.95, 0.75, 0.88, 1.0, horizon);
      disc (cr, uniform (scene, 0.1, 0.9) * w, uniform (scene, 0.1, 0.3) * h, h * 0.12, 1, 0.95, 0.6, 1);
      cairo_set_source_rgb (cr, 0.05, 0.35 + uniform (scene, 0, 0.1), 0.6);
      cairo_rectangle (cr, 0, horizon, w, h * 0.2);
      cairo_fill (cr);
      for (int i = 0; i < 6; i++)
        {
          double y = horizon + h * 0.03 * (i + 1);

          cairo_set_source_rgba (cr, 1, 1, 1, 0.35);
          cairo_set_line_width (cr, 2);
          cairo_move_to (cr, 0, y);
          for (double x = 0; x <= w; x += w / 16)
            cairo_line_to (cr, x, y + sin (x / w * 12 + i) * h * 0.006);
          cairo_stroke (cr);
        }
      ground (cr, scene, 0.93, 0.82, 0.6, horizon + h * 0.2);
    }
  else if (g_str_equal (kind, "forest"))
    {
      sky (cr, scene, 0.5, 0.7, 0.9, 0.85, 0.9, 0.85, horizon);
      ground (cr, scene, 0.25, 0.5, 0.15, horizon);
      for (int i = 0; i < 14; i++)
        {
          double depth = uniform (scene, 0.3, 1.0);

          tree (cr, uniform (scene, 0, w), horizon + depth * (h - horizon) * 0.8,
                h * 0.5 * depth, 0.6 + 0.6 * depth);
        }
    }
  else if (g_str_equal (kind, "night"))
    {
      sky (cr, scene, 0.01, 0.02, 0.1, 0.08, 0.1, 0.3, horizon);
      for (int i = 0; i < 120; i++)
        {
          cairo_set_source_rgba (cr, 1, 1, 0.9, uniform (scene, 0.3, 1));
          cairo_arc (cr, uniform (scene, 0, w), uniform (scene, 0, horizon), uniform (scene, 0.5, 1.8), 0, 2 * G_PI);
          cairo_fill (cr);
        }
      disc (cr, uniform (scene, 0.15, 0.85) * w, uniform (scene, 0.1, 0.35) * h, h * 0.08, 0.95, 0.95, 0.85, 1);
      ground (cr, scene, 0.05, 0.07, 0.1, horizon);
    }
  else if (g_str_equal (kind, "snow"))
    {
      sky (cr, scene, 0.6, 0.7, 0.85, 0.9, 0.92, 0.95, horizon);
      cairo_set_source_rgb (cr, 0.55, 0.6, 0.7);
      cairo_move_to (cr, 0, horizon);
      for (int i = 0; i <= 6; i++)
        cairo_line_to (cr, w * i / 6.0, horizon - (i % 2 ? uniform (scene, 0.15, 0.35) * h : 0));
      cairo_close_path (cr);
      cairo_fill (cr);
      ground (cr, scene, 0.97, 0.97, 1.0, horizon);
      for (int i = 0; i < 5; i++)
        tree (cr, uniform (scene, 0, w), uniform (scene, horizon, h), h * 0.25, 0.5);
    }
  else
    {
      sky (cr, scene, 0.35, 0.15, 0.4, 1.0, 0.55, 0.2, horizon);
      disc (cr, uniform (scene, 0.2, 0.8) * w, horizon - h * 0.05, h * 0.16, 1, 0.75, 0.3, 1);
      ground (cr, scene, 0.2, 0.1, 0.12, horizon);
    }
}

static GdkPixbuf *
surface_to_pixbuf (cairo_surface_t *surface)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  const guint8 *data = cairo_image_surface_get_data (surface);
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);

  cairo_surface_flush (surface);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint32 argb = *(const guint32 *) (const void *) (data + y * stride + x * 4);
        guint8 *p = pixels + y * rowstride + x * 3;

        p[0] = (guint8) (argb >> 16);
        p[1] = (guint8) (argb >> 8);
        p[2] = (guint8) argb;
      }
  return pixbuf;
}

int
main (int   argc,
      char *argv[])
{
  static const char * const kinds[] = { "beach", "forest", "night", "snow", "sunset" };
  const char *out;
  int per_class = 40, width = 500, height = 375;
  guint64 seed = 1;
  Scene scene;

  if (argc < 2 || argc == 4 || argc > 6)
    {
      fprintf (stderr, "usage: %s OUT-DIR [PER-CLASS [WIDTH HEIGHT [SEED]]]\n", argv[0]);
      return 2;
    }
  out = argv[1];
  if (argc > 2)
    per_class = atoi (argv[2]);
  if (argc > 4)
    {
      width = atoi (argv[3]);
      height = atoi (argv[4]);
    }
  if (argc > 5)
    seed = g_ascii_strtoull (argv[5], NULL, 10);
  if (per_class < 1 || width < 8 || height < 8 || width > 8192 || height > 8192)
    {
      fprintf (stderr, "%s: impossible size or count\n", argv[0]);
      return 2;
    }

  convolve_rng_init (&scene.rng, seed);
  scene.width = width;
  scene.height = height;
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *dir = g_build_filename (out, kinds[k], NULL);

      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          perror (dir);
          return 1;
        }
      for (int i = 0; i < per_class; i++)
        {
          cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
          cairo_t *cr = cairo_create (surface);
          g_autoptr(GdkPixbuf) pixbuf = NULL;
          g_autoptr(GError) error = NULL;
          g_autofree char *name = g_strdup_printf ("%s-%05d.jpg", kinds[k], i);
          g_autofree char *path = g_build_filename (dir, name, NULL);

          draw (cr, &scene, kinds[k]);
          cairo_destroy (cr);
          pixbuf = surface_to_pixbuf (surface);
          cairo_surface_destroy (surface);
          if (!gdk_pixbuf_save (pixbuf, path, "jpeg", &error, "quality", "85", NULL))
            {
              fprintf (stderr, "%s: %s\n", path, error->message);
              return 1;
            }
        }
    }
  return 0;
}
