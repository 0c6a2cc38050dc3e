/* convolve-confusion-render.c: the confusion matrix's layout and drawing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>
#include <pango/pangocairo.h>

#include "convolve-confusion-render.h"
#include "convolve-metrics.h"

#define MARGIN 8.0
#define GAP    6.0

void
convolve_confusion_style_init (ConvolveConfusionStyle *style)
{
  g_return_if_fail (style != NULL);

  *style = (ConvolveConfusionStyle) {
    .foreground = { 0.0, 0.0, 0.0, 1.0 },
    .background = { 1.0, 1.0, 1.0, 1.0 },
    .colormap = CONVOLVE_COLORMAP_VIRIDIS,
    .focus_true = -1,
    .focus_predicted = -1,
    .hover_true = -1,
    .hover_predicted = -1,
  };
}

/* One PangoLayout for all the text of a pass (its names, titles and up to
 * n_classes² counts): a layout and its context made per string cost more
 * than the drawing. Sizes are whole pixels, so that a resize that keeps
 * them asks Pango for no new font. */
typedef struct {
  PangoLayout          *layout;
  PangoFontDescription *font;
  double                size;
  gboolean              bold;
} TextPen;

static void
text_pen_init (TextPen *pen,
               cairo_t *cr)
{
  pen->layout = pango_cairo_create_layout (cr);
  pen->font = pango_font_description_from_string ("Sans");
  pen->size = -1;
  pen->bold = FALSE;
}

static void
text_pen_clear (TextPen *pen)
{
  g_clear_object (&pen->layout);
  g_clear_pointer (&pen->font, pango_font_description_free);
}

/* The pen's layout holding text at size (pixels), one line, unbounded. */
static PangoLayout *
text_pen_set (TextPen    *pen,
              const char *text,
              double      size,
              gboolean    bold)
{
  if (size != pen->size || bold != pen->bold)
    {
      pango_font_description_set_absolute_size (pen->font, size * PANGO_SCALE);
      pango_font_description_set_weight (pen->font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
      pango_layout_set_font_description (pen->layout, pen->font);
      pen->size = size;
      pen->bold = bold;
    }
  pango_layout_set_width (pen->layout, -1);
  pango_layout_set_ellipsize (pen->layout, PANGO_ELLIPSIZE_NONE);
  pango_layout_set_alignment (pen->layout, PANGO_ALIGN_LEFT);
  pango_layout_set_text (pen->layout, text, -1);
  return pen->layout;
}

static void
text_size (TextPen    *pen,
           const char *text,
           double      size,
           gboolean    bold,
           double     *width,
           double     *height)
{
  int w, h;

  pango_layout_get_pixel_size (text_pen_set (pen, text, size, bold), &w, &h);
  *width = w;
  *height = h;
}

void
convolve_confusion_layout_compute (ConvolveConfusionLayout *layout,
                                   cairo_t                 *cr,
                                   double                   width,
                                   double                   height,
                                   int                      n_classes,
                                   const char * const      *class_names)
{
  double title_width, title_height, label_width = 0, label_height = 0;
  double left, bottom, side, content_width, content_height;
  TextPen pen;

  g_return_if_fail (layout != NULL);
  g_return_if_fail (cr != NULL);

  *layout = (ConvolveConfusionLayout) { .n_classes = MAX (n_classes, 0), .width = width,
                                        .height = height, .column_label_step = 1 };
  if (n_classes <= 0)
    return;

  /* Smaller text on small drawings, never below what reads. */
  layout->font_size = CLAMP (round (MIN (width, height) / 50.0), 9.0, 14.0);
  text_pen_init (&pen, cr);
  text_size (&pen, _("Predicted class"), layout->font_size, TRUE, &title_width, &title_height);
  for (int c = 0; c < n_classes; c++)
    {
      g_autofree char *name = convolve_metrics_class_name (class_names, c);
      double w, h;

      text_size (&pen, name, layout->font_size, FALSE, &w, &h);
      label_width = MAX (label_width, w);
      label_height = MAX (label_height, h);
    }

  /* Long names are ellipsized to a quarter of the drawing. */
  layout->row_label_width = MIN (label_width, width / 4.0);
  left = MARGIN + title_height + GAP + layout->row_label_width + GAP;
  bottom = GAP + label_height + GAP + title_height + MARGIN;
  side = MIN (width - left - MARGIN, height - MARGIN - bottom) / n_classes;
  if (label_width > side - 4.0)
    {
      /* Not side by side: turned to read upwards, shortened to a quarter. */
      layout->rotate_column_labels = TRUE;
      layout->column_label_extent = MIN (label_width, height / 4.0);
      bottom = GAP + layout->column_label_extent + GAP + title_height + MARGIN;
      side = MIN (width - left - MARGIN, height - MARGIN - bottom) / n_classes;
    }
  else
    layout->column_label_extent = label_height;
  layout->cell = MAX (floor (side), 1.0);
  if (layout->rotate_column_labels)
    layout->column_label_step = MAX (1, (int) ceil (label_height / layout->cell));

  /* The whole picture centred. */
  content_width = left + layout->cell * n_classes + MARGIN;
  content_height = MARGIN + layout->cell * n_classes + bottom;
  layout->x = round (left + MAX (0.0, (width - content_width) / 2.0));
  layout->y = round (MARGIN + MAX (0.0, (height - content_height) / 2.0));

  layout->count_font_size = CLAMP (round (layout->cell * 0.3), 7.0, 15.0);
  {
    char digits[16];
    double w, h;

    /* The widest count a cell could hold decides whether counts show. */
    g_snprintf (digits, sizeof digits, "%u", 88888u);
    text_size (&pen, digits, layout->count_font_size, FALSE, &w, &h);
    if (h > layout->cell - 2.0 || w * 0.6 > layout->cell - 2.0)
      layout->count_font_size = 0.0;
  }
  text_pen_clear (&pen);
}

gboolean
convolve_confusion_layout_cell_at (const ConvolveConfusionLayout *layout,
                                   double                         x,
                                   double                         y,
                                   int                           *true_class,
                                   int                           *predicted_class)
{
  double column, row;

  g_return_val_if_fail (layout != NULL, FALSE);

  if (layout->n_classes <= 0 || layout->cell <= 0)
    return FALSE;
  column = floor ((x - layout->x) / layout->cell);
  row = floor ((y - layout->y) / layout->cell);
  if (column < 0 || row < 0 || column >= layout->n_classes || row >= layout->n_classes)
    return FALSE;
  if (true_class != NULL)
    *true_class = (int) row;
  if (predicted_class != NULL)
    *predicted_class = (int) column;
  return TRUE;
}

void
convolve_confusion_layout_cell_rect (const ConvolveConfusionLayout *layout,
                                     int                            true_class,
                                     int                            predicted_class,
                                     double                        *x,
                                     double                        *y,
                                     double                        *width,
                                     double                        *height)
{
  g_return_if_fail (layout != NULL);

  *x = layout->x + predicted_class * layout->cell;
  *y = layout->y + true_class * layout->cell;
  *width = layout->cell;
  *height = layout->cell;
}

double
convolve_confusion_row_fraction (const ConvolveEvaluation *evaluation,
                                 int                       true_class,
                                 int                       predicted_class)
{
  const guint *row;
  guint64 total = 0;

  g_return_val_if_fail (evaluation != NULL, 0.0);
  g_return_val_if_fail (true_class >= 0 && true_class < evaluation->n_classes, 0.0);
  g_return_val_if_fail (predicted_class >= 0 && predicted_class < evaluation->n_classes, 0.0);

  row = evaluation->confusion + (gsize) true_class * evaluation->n_classes;
  for (int p = 0; p < evaluation->n_classes; p++)
    total += row[p];
  return total > 0 ? (double) row[predicted_class] / total : 0.0;
}

/* text centred on (cx, cy), at most max_width wide (ellipsized), turned by
 * angle (radians) about its centre. */
static void
draw_text (cairo_t    *cr,
           TextPen    *pen,
           const char *text,
           double      size,
           gboolean    bold,
           double      cx,
           double      cy,
           double      max_width,
           double      angle,
           PangoAlignment alignment)
{
  PangoLayout *layout = text_pen_set (pen, text, size, bold);
  int w, h;

  if (max_width > 0)
    {
      pango_layout_set_width (layout, (int) (max_width * PANGO_SCALE));
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (layout, alignment);
    }
  pango_layout_get_pixel_size (layout, &w, &h);
  if (max_width > 0)
    w = (int) max_width;
  cairo_save (cr);
  cairo_translate (cr, cx, cy);
  cairo_rotate (cr, angle);
  cairo_move_to (cr, -w / 2.0, -h / 2.0);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
}

static void
outline_cell (cairo_t                       *cr,
              const ConvolveConfusionLayout *layout,
              int                            t,
              int                            p,
              double                         line_width,
              const ConvolveReportColor     *outer,
              gboolean                       inner_contrast,
              gboolean                       text_dark)
{
  double x, y, w, h;

  convolve_confusion_layout_cell_rect (layout, t, p, &x, &y, &w, &h);
  cairo_save (cr);
  cairo_set_line_width (cr, line_width);
  convolve_report_set_source (cr, outer);
  cairo_rectangle (cr, x + line_width / 2, y + line_width / 2, w - line_width, h - line_width);
  cairo_stroke (cr);
  if (inner_contrast)
    {
      /* A second ring in the cell's text colour, so the focus reads on
       * any cell colour and on either style's foreground. */
      double inset = line_width + 0.75;

      cairo_set_line_width (cr, 1.5);
      if (text_dark)
        cairo_set_source_rgb (cr, 0, 0, 0);
      else
        cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_rectangle (cr, x + inset, y + inset, w - 2 * inset, h - 2 * inset);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
}

void
convolve_confusion_draw (cairo_t                       *cr,
                         const ConvolveConfusionLayout *layout,
                         const ConvolveEvaluation      *evaluation,
                         const char * const            *class_names,
                         const ConvolveConfusionStyle  *style)
{
  ConvolveConfusionStyle default_style;
  TextPen pen;
  int n;
  double grid, title_width, title_height;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (layout != NULL);
  g_return_if_fail (evaluation != NULL);

  if (style == NULL)
    {
      convolve_confusion_style_init (&default_style);
      style = &default_style;
    }

  cairo_save (cr);
  if (style->background.alpha > 0)
    {
      convolve_report_set_source (cr, &style->background);
      cairo_paint (cr);
    }
  n = evaluation->n_classes;
  if (n <= 0 || n != layout->n_classes)
    {
      cairo_restore (cr);
      return;
    }
  grid = layout->cell * n;
  text_pen_init (&pen, cr);

  for (int t = 0; t < n; t++)
    for (int p = 0; p < n; p++)
      {
        double fraction = convolve_confusion_row_fraction (evaluation, t, p);
        guint8 rgb[3];
        double x, y, w, h;

        /* Through 8 bits, so that a file's pixels are the table's. */
        convolve_colormap_lookup_rgb8 (style->colormap, fraction, rgb);
        convolve_confusion_layout_cell_rect (layout, t, p, &x, &y, &w, &h);
        cairo_set_source_rgb (cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        cairo_rectangle (cr, x, y, w, h);
        cairo_fill (cr);

        if (layout->count_font_size > 0)
          {
            char digits[16];

            g_snprintf (digits, sizeof digits, "%u", convolve_evaluation_get_confusion (evaluation, t, p));
            if (convolve_colormap_text_is_dark (style->colormap, fraction))
              cairo_set_source_rgb (cr, 0, 0, 0);
            else
              cairo_set_source_rgb (cr, 1, 1, 1);
            draw_text (cr, &pen, digits, layout->count_font_size, FALSE, x + w / 2, y + h / 2,
                       w - 2, 0, PANGO_ALIGN_CENTER);
          }
      }

  convolve_report_set_source (cr, &style->foreground);
  for (int c = 0; c < n; c++)
    {
      g_autofree char *name = convolve_metrics_class_name (class_names, c);
      double middle = (c + 0.5) * layout->cell;

      /* Row names right-aligned against the cells. */
      draw_text (cr, &pen, name, layout->font_size, FALSE,
                 layout->x - GAP - layout->row_label_width / 2, layout->y + middle,
                 layout->row_label_width, 0, PANGO_ALIGN_RIGHT);
      if (c % layout->column_label_step != 0)
        continue;
      if (layout->rotate_column_labels)
        draw_text (cr, &pen, name, layout->font_size, FALSE,
                   layout->x + middle, layout->y + grid + GAP + layout->column_label_extent / 2,
                   layout->column_label_extent, -G_PI / 2, PANGO_ALIGN_RIGHT);
      else
        draw_text (cr, &pen, name, layout->font_size, FALSE,
                   layout->x + middle, layout->y + grid + GAP + layout->column_label_extent / 2,
                   layout->cell, 0, PANGO_ALIGN_CENTER);
    }

  text_size (&pen, _("Predicted class"), layout->font_size, TRUE, &title_width, &title_height);
  draw_text (cr, &pen, _("Predicted class"), layout->font_size, TRUE,
             layout->x + grid / 2,
             layout->y + grid + GAP + layout->column_label_extent + GAP + title_height / 2,
             MIN (layout->width - 2 * MARGIN, MAX (grid, title_width)), 0, PANGO_ALIGN_CENTER);
  draw_text (cr, &pen, _("True class"), layout->font_size, TRUE,
             layout->x - GAP - layout->row_label_width - GAP - title_height / 2,
             layout->y + grid / 2,
             MIN (layout->height - 2 * MARGIN, MAX (grid, title_width)), -G_PI / 2, PANGO_ALIGN_CENTER);

  if (style->hover_true >= 0 && style->hover_true < n &&
      style->hover_predicted >= 0 && style->hover_predicted < n &&
      (style->hover_true != style->focus_true || style->hover_predicted != style->focus_predicted))
    outline_cell (cr, layout, style->hover_true, style->hover_predicted, 2.0, &style->foreground,
                  FALSE, FALSE);
  if (style->focus_true >= 0 && style->focus_true < n &&
      style->focus_predicted >= 0 && style->focus_predicted < n)
    {
      double fraction = convolve_confusion_row_fraction (evaluation, style->focus_true, style->focus_predicted);

      outline_cell (cr, layout, style->focus_true, style->focus_predicted, 3.0, &style->foreground,
                    TRUE, convolve_colormap_text_is_dark (style->colormap, fraction));
    }
  text_pen_clear (&pen);
  cairo_restore (cr);
}

typedef struct {
  const ConvolveEvaluation     *evaluation;
  const char * const           *class_names;
  const ConvolveConfusionStyle *style;
} RenderData;

static void
render_draw (cairo_t  *cr,
             int       width,
             int       height,
             gpointer  user_data)
{
  RenderData *data = user_data;
  ConvolveConfusionLayout layout;

  convolve_confusion_layout_compute (&layout, cr, width, height, data->evaluation->n_classes,
                                     data->class_names);
  convolve_confusion_draw (cr, &layout, data->evaluation, data->class_names, data->style);
}

GBytes *
convolve_confusion_render (ConvolveReportFormat          format,
                           int                           width,
                           int                           height,
                           const ConvolveEvaluation     *evaluation,
                           const char * const           *class_names,
                           const ConvolveConfusionStyle *style,
                           GError                      **error)
{
  RenderData data = { evaluation, class_names, style };

  g_return_val_if_fail (evaluation != NULL, NULL);

  return convolve_report_render (format, width, height, render_draw, &data, error);
}
