/* convolve-image-grid.c: captioned image grids.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <pango/pangocairo.h>

#include "convolve-heatmap.h"
#include "convolve-image-grid.h"
#include "convolve-metrics.h"

#define PADDING        10
#define CAPTION_GAP    4
#define CAPTION_SIZE   11.0
#define CAPTION_LINES  2
#define MIN_TILE_WIDTH 128

static int
tile_width (const ConvolveDataset *dataset,
            int                    scale)
{
  ConvolveShape shape = convolve_dataset_get_shape (dataset);

  return MAX (shape.w * scale, MIN_TILE_WIDTH);
}

static int
caption_height (void)
{
  /* Two lines of CAPTION_SIZE pixel text, with Pango's line spacing. */
  return (int) (CAPTION_LINES * CAPTION_SIZE * 1.3 + 0.5);
}

void
convolve_image_grid_get_size (const ConvolveDataset *dataset,
                              guint                  n_images,
                              int                    columns,
                              int                    scale,
                              int                   *width,
                              int                   *height)
{
  ConvolveShape shape;
  int rows;

  g_return_if_fail (dataset != NULL);
  g_return_if_fail (columns > 0);

  shape = convolve_dataset_get_shape (dataset);
  columns = (int) MIN ((guint) columns, MAX (n_images, 1u));
  rows = (int) ((n_images + columns - 1) / columns);
  *width = PADDING + columns * (tile_width (dataset, scale) + PADDING);
  *height = PADDING + rows * (shape.h * scale + CAPTION_GAP + caption_height () + PADDING);
}

cairo_surface_t *
convolve_image_grid_render (const ConvolveDataset     *dataset,
                            const guint               *indices,
                            const char * const        *captions,
                            guint                      n_images,
                            int                        columns,
                            int                        scale,
                            const ConvolveReportColor *foreground,
                            const ConvolveReportColor *background)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  ConvolveShape shape;
  PangoFontDescription *font;
  int width, height, tile, row_height;

  g_return_val_if_fail (dataset != NULL, NULL);
  g_return_val_if_fail (indices != NULL || n_images == 0, NULL);
  g_return_val_if_fail (foreground != NULL && background != NULL, NULL);

  if (n_images == 0 || columns < 1 || scale < 1 || scale > 16)
    return NULL;
  shape = convolve_dataset_get_shape (dataset);
  if (shape.c != 1 && shape.c != 3)
    return NULL;

  convolve_image_grid_get_size (dataset, n_images, columns, scale, &width, &height);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      return NULL;
    }
  cr = cairo_create (surface);
  convolve_report_set_source (cr, background);
  cairo_paint (cr);

  tile = tile_width (dataset, scale);
  row_height = shape.h * scale + CAPTION_GAP + caption_height () + PADDING;
  font = pango_font_description_from_string ("Sans");
  pango_font_description_set_absolute_size (font, CAPTION_SIZE * PANGO_SCALE);

  for (guint i = 0; i < n_images; i++)
    {
      int x = PADDING + (int) (i % columns) * (tile + PADDING);
      int y = PADDING + (int) (i / columns) * row_height;
      cairo_surface_t *image;

      if (indices[i] >= convolve_dataset_get_n_images (dataset))
        continue;
      image = convolve_heatmap_overlay (convolve_dataset_get_image (dataset, indices[i]),
                                        shape.c, shape.h, shape.w, NULL, scale,
                                        CONVOLVE_COLORMAP_VIRIDIS, 0.0);
      if (image != NULL)
        {
          cairo_save (cr);
          /* Pixel-exact: integer offsets and no filtering. */
          cairo_set_source_surface (cr, image, x + (tile - shape.w * scale) / 2, y);
          cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
          cairo_paint (cr);
          cairo_restore (cr);
          cairo_surface_destroy (image);
        }

      if (captions != NULL && captions[i] != NULL)
        {
          PangoLayout *layout = pango_cairo_create_layout (cr);

          pango_layout_set_font_description (layout, font);
          pango_layout_set_text (layout, captions[i], -1);
          pango_layout_set_width (layout, tile * PANGO_SCALE);
          pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
          pango_layout_set_height (layout, -CAPTION_LINES);
          pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
          pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
          convolve_report_set_source (cr, foreground);
          cairo_move_to (cr, x, y + shape.h * scale + CAPTION_GAP);
          pango_cairo_show_layout (cr, layout);
          g_object_unref (layout);
        }
    }

  pango_font_description_free (font);
  cairo_destroy (cr);
  return surface;
}

cairo_surface_t *
convolve_top_losses_render (const ConvolveEvaluation *evaluation,
                            const ConvolveDataset    *dataset,
                            const char * const       *class_names)
{
  static const ConvolveReportColor black = { 0, 0, 0, 1 }, white = { 1, 1, 1, 1 };
  guint indices[CONVOLVE_TOP_LOSSES_COUNT];
  g_autoptr(GPtrArray) captions = g_ptr_array_new_with_free_func (g_free);
  guint n;

  g_return_val_if_fail (evaluation != NULL, NULL);
  g_return_val_if_fail (dataset != NULL, NULL);

  n = convolve_metrics_top_losses (evaluation, G_N_ELEMENTS (indices), indices);
  for (guint i = 0; i < n; i++)
    {
      guint at = indices[i];
      g_autofree char *truth = convolve_metrics_class_name (class_names,
                                                            evaluation->labels != NULL ? evaluation->labels[at]
                                                                                       : convolve_dataset_get_label (dataset, at));
      g_autofree char *guess = convolve_metrics_class_name (class_names, evaluation->predictions[at]);

      /* Translators: a caption under an image: its true class, the class
       * the model predicted and the model's confidence in percent */
      g_ptr_array_add (captions, g_strdup_printf (_("%s → %s (%.0f %%)"), truth, guess,
                                                  100.0 * evaluation->confidences[at]));
    }
  g_ptr_array_add (captions, NULL);
  return convolve_image_grid_render (dataset, indices, (const char * const *) captions->pdata, n,
                                     CONVOLVE_TOP_LOSSES_COLUMNS, CONVOLVE_TOP_LOSSES_SCALE,
                                     &black, &white);
}
