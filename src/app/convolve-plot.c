/* convolve-plot.c: a line chart of named series, drawn with cairo.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <cairo.h>
#include <cairo-svg.h>
#include <math.h>
#include <string.h>

#include "convolve-plot.h"

#define PAD              8.0
#define TICK_LENGTH      4.0
#define MARKER_RADIUS    3.0
#define REDRAW_INTERVAL  33 /* ms: at most ~30 redraws per second */
#define LEGEND_SWATCH    18.0
#define LEGEND_GAP       16.0
#define MENU_MARGIN      4.0   /* around the menu button in the top right corner */
/* Tukey's "far out" fences: values more than this many interquartile
 * ranges beyond the quartiles are outliers for the automatic y range. */
#define OUTLIER_FENCE    3.0
/* Below this many points quartiles say little: the range covers them all. */
#define OUTLIER_MIN_POINTS 8

/* The points of a series that fall in one pixel column, in data space. */
typedef struct {
  double first;  /* NAN: no point falls in this column */
  double lo;
  double hi;
} PlotColumn;

/* The decimated form of one array of a series for one width and x range. */
typedef struct {
  GArray *columns;    /* PlotColumn, first = NAN when the column is empty */
  guint64 serial;     /* the series' data serial it was made from */
  int     n_columns;
  double  x_lo;
  double  x_hi;
} PlotDecimation;

typedef struct {
  char                    *id;
  char                    *label;
  ConvolvePlotSeriesFlags  flags;
  GdkRGBA                  color;
  gboolean                 has_color;
  guint                    palette_index;
  gboolean                 visible;

  GArray                  *x;       /* double */
  GArray                  *y;       /* double, raw */
  GArray                  *smooth;  /* double, exponentially smoothed y */
  double                   ema_last;
  guint64                  ema_count;

  double                   x_min, x_max;
  double                   y_min, y_max;  /* finite y only */
  guint64                  serial;  /* bumped whenever the points change */

  PlotDecimation           raw_cache;
  PlotDecimation           smooth_cache;
} PlotSeries;

typedef struct {
  GdkRGBA  foreground;
  gboolean dark;
  gboolean background;  /* fill white before drawing (export) */
  gboolean hover;       /* draw the hover readout */
  gboolean menu_room;   /* keep the menu button's corner free (on screen) */
} PlotStyle;

typedef struct {
  double            x_lo, x_hi, x_step;
  double            y_lo, y_hi, y_step;
  gboolean          empty;
  double            header_top;
  double            header_right;  /* the legend's right limit */
  cairo_rectangle_t area;
} PlotLayout;

struct _ConvolvePlot
{
  GtkWidget  parent_instance;

  GPtrArray *series;      /* PlotSeries, in order of addition */
  guint      next_palette_index;

  char      *title;
  char      *x_label;
  char      *y_label;
  char      *empty_text;
  double     smoothing;
  gboolean   fixed_y_range;
  double     y_min;
  double     y_max;
  gboolean   ignore_outliers;

  /* the y extent fitted to the data, kept until the data change */
  guint64    data_serial;
  guint64    fit_serial;
  gboolean   fit_valid;
  double     fit_lo;
  double     fit_hi;

  GMenuModel *menu_model;
  GtkWidget  *menu_button;   /* GtkMenuButton, while menu_model is set */
  GtkWidget  *context_menu;  /* GtkPopoverMenu, made on first use */

  /* hover readout, in widget coordinates */
  gboolean   hovering;
  double     hover_x;

  guint      redraw_source;
  gboolean   redraw_pending;
  gint64     description_time;
};

G_DEFINE_FINAL_TYPE (ConvolvePlot, convolve_plot, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_X_LABEL,
  PROP_Y_LABEL,
  PROP_EMPTY_TEXT,
  PROP_SMOOTHING,
  PROP_FIXED_Y_RANGE,
  PROP_Y_MIN,
  PROP_Y_MAX,
  PROP_IGNORE_OUTLIERS,
  PROP_MENU_MODEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* GNOME palette: a darker shade for light backgrounds, a lighter one for dark. */
static const char * const palette_light[] = { "#1c71d8", "#e66100", "#26a269", "#813d9c", "#c01c28", "#865e3c" };
static const char * const palette_dark[]  = { "#62a0ea", "#ffa348", "#57e389", "#c061cb", "#f66151", "#cdab8f" };

/* ---------------------------------------------------------------- series */

static void
plot_decimation_clear (PlotDecimation *decimation)
{
  g_clear_pointer (&decimation->columns, g_array_unref);
  decimation->n_columns = 0;
}

static void
plot_series_free (PlotSeries *series)
{
  g_free (series->id);
  g_free (series->label);
  g_array_unref (series->x);
  g_array_unref (series->y);
  g_array_unref (series->smooth);
  plot_decimation_clear (&series->raw_cache);
  plot_decimation_clear (&series->smooth_cache);
  g_free (series);
}

static void
plot_series_reset (PlotSeries *series)
{
  g_array_set_size (series->x, 0);
  g_array_set_size (series->y, 0);
  g_array_set_size (series->smooth, 0);
  series->ema_last = 0.0;
  series->ema_count = 0;
  series->x_min = series->y_min = INFINITY;
  series->x_max = series->y_max = -INFINITY;
  series->serial++;
}

/* TensorBoard's smoothing: an exponential moving average, debiased so the
 * first points are not pulled towards zero. */
static double
plot_series_smooth_next (PlotSeries *series,
                         double      y,
                         double      weight)
{
  if (!isfinite (y))
    return y;

  series->ema_last = series->ema_last * weight + (1.0 - weight) * y;
  series->ema_count++;
  if (weight <= 0.0)
    return y;
  return series->ema_last / (1.0 - pow (weight, (double) series->ema_count));
}

static void
plot_series_resmooth (PlotSeries *series,
                      double      weight)
{
  series->ema_last = 0.0;
  series->ema_count = 0;
  for (guint i = 0; i < series->y->len; i++)
    g_array_index (series->smooth, double, i) =
      plot_series_smooth_next (series, g_array_index (series->y, double, i), weight);
  series->serial++;
}

static void
plot_series_append (PlotSeries   *series,
                    const double *x,
                    const double *y,
                    gsize         n,
                    double        weight)
{
  for (gsize i = 0; i < n; i++)
    {
      double s = plot_series_smooth_next (series, y[i], weight);

      g_array_append_val (series->x, x[i]);
      g_array_append_val (series->y, y[i]);
      g_array_append_val (series->smooth, s);

      if (isfinite (x[i]))
        {
          series->x_min = MIN (series->x_min, x[i]);
          series->x_max = MAX (series->x_max, x[i]);
        }
      if (isfinite (y[i]) && isfinite (x[i]))
        {
          series->y_min = MIN (series->y_min, y[i]);
          series->y_max = MAX (series->y_max, y[i]);
        }
    }
  series->serial++;
}

static PlotSeries *
convolve_plot_find_series (ConvolvePlot *self,
                           const char   *id)
{
  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);
      if (g_strcmp0 (series->id, id) == 0)
        return series;
    }
  return NULL;
}

static gboolean
plot_series_is_smoothed (ConvolvePlot *self,
                         PlotSeries   *series)
{
  return (series->flags & CONVOLVE_PLOT_SERIES_SMOOTH) != 0 && self->smoothing > 0.0;
}

static GdkRGBA
plot_series_color (PlotSeries      *series,
                   const PlotStyle *style)
{
  GdkRGBA color;
  const char * const *palette = style->dark ? palette_dark : palette_light;

  if (series->has_color)
    return series->color;
  gdk_rgba_parse (&color, palette[series->palette_index % G_N_ELEMENTS (palette_light)]);
  return color;
}

static char *format_value (double value);

/* ---------------------------------------------------------- redrawing */

/* Screen readers get the latest value of each series as the description. */
static void
convolve_plot_update_description (ConvolvePlot *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);
      g_autofree char *value = NULL;
      g_autofree char *x = NULL;
      guint last;

      if (!series->visible || series->x->len == 0 || series->label == NULL)
        continue;
      last = series->x->len - 1;
      value = format_value (g_array_index (plot_series_is_smoothed (self, series) ? series->smooth : series->y,
                                           double, last));
      x = format_value (g_array_index (series->x, double, last));
      if (text->len > 0)
        g_string_append (text, "; ");
      /* Translators: a series' label, its latest value and where it is on the x axis */
      g_string_append_printf (text, _("%s: %s at %s"), series->label, value, x);
    }
  if (text->len == 0 && self->empty_text != NULL)
    g_string_append (text, self->empty_text);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str,
                                  -1);
  self->description_time = g_get_monotonic_time ();
}

static gboolean
convolve_plot_redraw_timeout (gpointer user_data)
{
  ConvolvePlot *self = user_data;

  if (!self->redraw_pending)
    {
      /* the burst is over: the description gets its final values */
      convolve_plot_update_description (self);
      self->redraw_source = 0;
      return G_SOURCE_REMOVE;
    }
  self->redraw_pending = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (g_get_monotonic_time () - self->description_time > G_USEC_PER_SEC)
    convolve_plot_update_description (self);
  return G_SOURCE_CONTINUE;
}

/* Redraws now if nothing was drawn lately, else at the next ~33 ms tick, so
 * a stream of appends costs at most ~30 frames per second. */
static void
convolve_plot_data_changed (ConvolvePlot *self)
{
  self->data_serial++;
  if (self->redraw_source != 0)
    {
      self->redraw_pending = TRUE;
      return;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  self->redraw_pending = FALSE;
  self->redraw_source = g_timeout_add (REDRAW_INTERVAL, convolve_plot_redraw_timeout, self);
}

/* ------------------------------------------------------------- layout */

/* 1-2-5 steps: the "nice" step that gives about target intervals. */
static double
nice_step (double range,
           double target)
{
  double raw, magnitude, normalized;

  if (!(range > 0.0) || !isfinite (range))
    return 1.0;
  raw = range / MAX (target, 1.0);
  magnitude = pow (10.0, floor (log10 (raw)));
  normalized = raw / magnitude;
  if (normalized < 1.5)
    return magnitude;
  if (normalized < 3.0)
    return 2.0 * magnitude;
  if (normalized < 7.0)
    return 5.0 * magnitude;
  return 10.0 * magnitude;
}

static char *
format_tick (double value,
             double step)
{
  int decimals;

  if (fabs (value) < step * 1e-6)
    value = 0.0;
  if (step >= 1000.0 && fmod (step, 1000.0) == 0.0)
    return g_strdup_printf ("%gk", value / 1000.0);
  decimals = step >= 1.0 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  return g_strdup_printf ("%.*f", CLAMP (decimals, 0, 9), value);
}

static PangoLayout *
create_text_layout (ConvolvePlot *self,
                    cairo_t      *cr,
                    double        scale,
                    gboolean      bold)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoContext *context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  const PangoFontDescription *base = pango_context_get_font_description (context);
  PangoFontDescription *font;
  int size;

  font = base ? pango_font_description_copy (base) : pango_font_description_new ();
  size = pango_font_description_get_size (font);
  if (size <= 0)
    size = 10 * PANGO_SCALE;
  if (pango_font_description_get_family (font) == NULL)
    pango_font_description_set_family (font, "Sans");
  if (pango_font_description_get_size_is_absolute (font))
    pango_font_description_set_absolute_size (font, size * scale);
  else
    pango_font_description_set_size (font, (int) (size * scale));
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  return layout;
}

static void
text_size (PangoLayout *layout,
           const char  *text,
           double      *width,
           double      *height)
{
  PangoRectangle logical;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_extents (layout, NULL, &logical);
  if (width)
    *width = logical.width;
  if (height)
    *height = logical.height;
}

/* Shows text so that (x, y) falls at (xalign, yalign) of its box. */
static void
draw_text (cairo_t     *cr,
           PangoLayout *layout,
           const char  *text,
           double       x,
           double       y,
           double       xalign,
           double       yalign)
{
  double width, height;

  text_size (layout, text, &width, &height);
  cairo_move_to (cr, round (x - width * xalign), round (y - height * yalign));
  pango_cairo_show_layout (cr, layout);
}

static void
set_foreground (cairo_t         *cr,
                const PlotStyle *style,
                double           alpha)
{
  cairo_set_source_rgba (cr, style->foreground.red, style->foreground.green,
                         style->foreground.blue, style->foreground.alpha * alpha);
}

/* Lays out the title, and below it the legend entries in rows inside
 * [left, right]; draws them when style is non-NULL. Returns the height
 * used. */
static double
convolve_plot_header (ConvolvePlot    *self,
                      cairo_t         *cr,
                      PangoLayout     *title_layout,
                      PangoLayout     *layout,
                      double           left,
                      double           right,
                      double           top,
                      const PlotStyle *style)
{
  double x = left;
  double y = top;
  double row_height = 0.0;
  double title_height = 0.0;
  gboolean any = FALSE;  /* an entry on the current row */

  if (self->title != NULL && self->title[0] != '\0')
    {
      text_size (title_layout, self->title, NULL, &title_height);
      if (style != NULL)
        {
          set_foreground (cr, style, 1.0);
          draw_text (cr, title_layout, self->title, x, y, 0.0, 0.0);
        }
      y += title_height + 4.0;
    }

  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);
      double width, height, entry;

      if (!series->visible || series->label == NULL || series->label[0] == '\0')
        continue;

      text_size (layout, series->label, &width, &height);
      entry = LEGEND_SWATCH + 6.0 + width;
      if (any && x + entry > right)
        {
          x = left;
          y += row_height + 2.0;
          row_height = 0.0;
        }
      row_height = MAX (row_height, height);
      any = TRUE;

      if (style != NULL)
        {
          GdkRGBA color = plot_series_color (series, style);
          double cy = round (y + height / 2.0) + 0.5;

          gdk_cairo_set_source_rgba (cr, &color);
          if (series->flags & CONVOLVE_PLOT_SERIES_LINE)
            {
              cairo_set_line_width (cr, 2.0);
              cairo_move_to (cr, x, cy);
              cairo_line_to (cr, x + LEGEND_SWATCH, cy);
              cairo_stroke (cr);
            }
          if (series->flags & CONVOLVE_PLOT_SERIES_MARKERS || !(series->flags & CONVOLVE_PLOT_SERIES_LINE))
            {
              cairo_arc (cr, x + LEGEND_SWATCH / 2.0, cy, MARKER_RADIUS, 0, 2 * G_PI);
              cairo_fill (cr);
            }
          set_foreground (cr, style, 0.85);
          draw_text (cr, layout, series->label, x + LEGEND_SWATCH + 6.0, y, 0.0, 0.0);
        }
      x += entry + LEGEND_GAP;
    }

  if (!any)
    return title_height;
  return (y - top) + row_height;
}

/* The k-th smallest of values[0..n) (Wirth's selection; reorders them). */
static double
select_kth (double *values,
            gssize  n,
            gssize  k)
{
  gssize lo = 0, hi = n - 1;

  while (lo < hi)
    {
      double pivot = values[k];
      gssize i = lo, j = hi;

      do
        {
          while (values[i] < pivot)
            i++;
          while (pivot < values[j])
            j--;
          if (i <= j)
            {
              double swap = values[i];
              values[i] = values[j];
              values[j] = swap;
              i++;
              j--;
            }
        }
      while (i <= j);
      if (j < k)
        lo = i;
      if (k < i)
        hi = j;
    }
  return values[k];
}

/* The y extent to show: that of every visible point, or with
 * ignore-outliers, that of the points within Tukey's far-out fences of
 * the lines (Q1 - 3 IQR .. Q3 + 3 IQR) together with every point of the
 * series drawn with markers. Training curves start far above where they
 * settle (a running loss from ~5 down to ~0.3); the fences leave out that
 * start once it is a small part of the curve, but not a steady trend.
 * lo > hi when there is nothing to show. */
static void
convolve_plot_fit_y (ConvolvePlot *self,
                     double       *lo,
                     double       *hi)
{
  double all_lo = INFINITY, all_hi = -INFINITY;
  double kept_lo = INFINITY, kept_hi = -INFINITY;
  gsize n_line_points = 0;

  if (self->fit_valid && self->fit_serial == self->data_serial)
    {
      *lo = self->fit_lo;
      *hi = self->fit_hi;
      return;
    }

  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);

      if (!series->visible || !(series->y_min <= series->y_max))
        continue;
      all_lo = MIN (all_lo, series->y_min);
      all_hi = MAX (all_hi, series->y_max);
      if (series->flags & CONVOLVE_PLOT_SERIES_MARKERS || !(series->flags & CONVOLVE_PLOT_SERIES_LINE))
        {
          kept_lo = MIN (kept_lo, series->y_min);
          kept_hi = MAX (kept_hi, series->y_max);
        }
      else
        n_line_points += series->y->len;
    }

  *lo = all_lo;
  *hi = all_hi;
  if (self->ignore_outliers && n_line_points >= OUTLIER_MIN_POINTS)
    {
      g_autofree double *values = g_new (double, n_line_points);
      gsize n = 0;

      for (guint i = 0; i < self->series->len; i++)
        {
          PlotSeries *series = g_ptr_array_index (self->series, i);
          const double *xs = (const double *) (void *) series->x->data;
          const double *ys = (const double *) (void *) series->y->data;

          if (!series->visible || !(series->y_min <= series->y_max) ||
              series->flags & CONVOLVE_PLOT_SERIES_MARKERS || !(series->flags & CONVOLVE_PLOT_SERIES_LINE))
            continue;
          for (guint j = 0; j < series->y->len; j++)
            if (isfinite (xs[j]) && isfinite (ys[j]))
              values[n++] = ys[j];
        }

      if (n >= OUTLIER_MIN_POINTS)
        {
          double q1 = select_kth (values, n, (n - 1) / 4);
          double q3 = select_kth (values, n, 3 * (n - 1) / 4);
          double iqr = q3 - q1;

          *lo = MIN (MAX (all_lo, q1 - OUTLIER_FENCE * iqr), kept_lo);
          *hi = MAX (MIN (all_hi, q3 + OUTLIER_FENCE * iqr), kept_hi);
        }
    }

  self->fit_lo = *lo;
  self->fit_hi = *hi;
  self->fit_serial = self->data_serial;
  self->fit_valid = TRUE;
}

/* The menu button's size, or 0 x 0 without one. */
static void
convolve_plot_get_menu_button_size (ConvolvePlot *self,
                                    int          *width,
                                    int          *height)
{
  *width = *height = 0;
  if (self->menu_button == NULL || !gtk_widget_get_visible (self->menu_button))
    return;
  gtk_widget_measure (self->menu_button, GTK_ORIENTATION_HORIZONTAL, -1, NULL, width, NULL, NULL);
  gtk_widget_measure (self->menu_button, GTK_ORIENTATION_VERTICAL, *width, NULL, height, NULL, NULL);
}

static void
convolve_plot_compute_layout (ConvolvePlot *self,
                              cairo_t      *cr,
                              int           width,
                              int           height,
                              gboolean      menu_room,
                              PlotLayout   *out)
{
  g_autoptr(PangoLayout) tick_layout = create_text_layout (self, cr, 0.85, FALSE);
  g_autoptr(PangoLayout) text_layout = create_text_layout (self, cr, 1.0, FALSE);
  g_autoptr(PangoLayout) title_layout = create_text_layout (self, cr, 1.0, TRUE);
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo, y_hi;
  double line_height, text_height, top, bottom, left, right, label_width = 0.0;
  double header_height;
  int button_width = 0, button_height = 0;
  gboolean all_non_negative = TRUE;

  memset (out, 0, sizeof *out);

  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);

      if (!series->visible || series->x_min > series->x_max)
        continue;
      x_lo = MIN (x_lo, series->x_min);
      x_hi = MAX (x_hi, series->x_max);
      if (series->x_min < 0.0)
        all_non_negative = FALSE;
    }

  out->empty = !(x_lo <= x_hi);
  if (out->empty)
    {
      x_lo = 0.0;
      x_hi = 1.0;
    }
  else if (all_non_negative)
    x_lo = 0.0;  /* training curves start at step or epoch 0 */
  if (!(x_hi > x_lo))
    x_hi = x_lo + 1.0;

  if (self->fixed_y_range && self->y_max > self->y_min)
    {
      y_lo = self->y_min;
      y_hi = self->y_max;
    }
  else
    {
      convolve_plot_fit_y (self, &y_lo, &y_hi);
      if (!(y_lo <= y_hi))
        {
          y_lo = 0.0;
          y_hi = 1.0;
        }
      else if (y_hi - y_lo < 1e-12 * MAX (1.0, fabs (y_hi)))
        {
          double half = fabs (y_hi) > 0.0 ? fabs (y_hi) * 0.1 : 1.0;
          y_lo -= half;
          y_hi += half;
        }
    }

  text_size (tick_layout, "0123456789", NULL, &line_height);
  text_size (text_layout, "Ag", NULL, &text_height);

  /* top: the title and the legend, clear of the menu button */
  if (menu_room)
    convolve_plot_get_menu_button_size (self, &button_width, &button_height);
  top = PAD;
  out->header_top = top;
  out->header_right = width - PAD - (button_width > 0 ? button_width + MENU_MARGIN : 0.0);
  header_height = convolve_plot_header (self, cr, title_layout, tick_layout, PAD, out->header_right, top, NULL);
  if (header_height > 0.0)
    top += header_height + line_height / 2.0 + 3.0;  /* clear of the top tick label */
  top = MAX (top, PAD + line_height / 2.0);
  if (button_height > 0)
    top = MAX (top, MENU_MARGIN + button_height + 2.0);

  /* bottom: tick labels, x title */
  bottom = PAD + TICK_LENGTH + 2.0 + line_height;
  if (self->x_label != NULL && self->x_label[0] != '\0')
    bottom += text_height + 2.0;

  /* y ticks need the data area's height; the left margin needs the ticks */
  out->area.height = MAX (1.0, height - top - bottom);
  out->y_step = nice_step (y_hi - y_lo, out->area.height / 40.0);
  if (!self->fixed_y_range)
    {
      y_lo = floor (y_lo / out->y_step + 1e-9) * out->y_step;
      y_hi = ceil (y_hi / out->y_step - 1e-9) * out->y_step;
    }
  out->y_lo = y_lo;
  out->y_hi = y_hi;

  for (double v = ceil (y_lo / out->y_step - 1e-9) * out->y_step; v <= y_hi + out->y_step * 1e-6; v += out->y_step)
    {
      g_autofree char *text = format_tick (v, out->y_step);
      double w;
      text_size (tick_layout, text, &w, NULL);
      label_width = MAX (label_width, w);
    }

  left = PAD + label_width + TICK_LENGTH + 4.0;
  if (self->y_label != NULL && self->y_label[0] != '\0')
    left += text_height + 4.0;
  right = PAD + 12.0;  /* room for half of the last x tick label */

  out->area.x = round (left);
  out->area.y = round (top);
  out->area.width = MAX (1.0, round (width - left - right));
  out->area.height = MAX (1.0, round (height - top - bottom));

  out->x_lo = x_lo;
  out->x_hi = x_hi;
  out->x_step = nice_step (x_hi - x_lo, out->area.width / 90.0);
}

static inline double
layout_x_to_pixel (const PlotLayout *layout,
                   double            x)
{
  return layout->area.x + (x - layout->x_lo) / (layout->x_hi - layout->x_lo) * layout->area.width;
}

static inline double
layout_y_to_pixel (const PlotLayout *layout,
                   double            y)
{
  return layout->area.y + layout->area.height
         - (y - layout->y_lo) / (layout->y_hi - layout->y_lo) * layout->area.height;
}

/* ------------------------------------------------------------ drawing */

static const PlotColumn *
plot_series_decimate (PlotSeries       *series,
                      gboolean          smoothed,
                      const PlotLayout *layout,
                      int               n_columns)
{
  PlotDecimation *cache = smoothed ? &series->smooth_cache : &series->raw_cache;
  const double *xs = (const double *) (void *) series->x->data;
  const double *ys = (const double *) (void *) (smoothed ? series->smooth->data : series->y->data);
  double scale;

  if (cache->columns != NULL &&
      cache->serial == series->serial &&
      cache->n_columns == n_columns &&
      cache->x_lo == layout->x_lo &&
      cache->x_hi == layout->x_hi)
    return (const PlotColumn *) (void *) cache->columns->data;

  if (cache->columns == NULL)
    cache->columns = g_array_new (FALSE, FALSE, sizeof (PlotColumn));
  g_array_set_size (cache->columns, n_columns);
  for (int c = 0; c < n_columns; c++)
    g_array_index (cache->columns, PlotColumn, c).first = NAN;

  scale = n_columns / (layout->x_hi - layout->x_lo);
  for (guint i = 0; i < series->x->len; i++)
    {
      PlotColumn *column;
      double y = ys[i];
      int c;

      if (!isfinite (y) || !isfinite (xs[i]))
        continue;
      c = (int) floor ((xs[i] - layout->x_lo) * scale);
      c = CLAMP (c, 0, n_columns - 1);
      column = &g_array_index (cache->columns, PlotColumn, c);
      if (isnan (column->first))
        {
          column->first = column->lo = column->hi = y;
        }
      else
        {
          column->lo = MIN (column->lo, y);
          column->hi = MAX (column->hi, y);
        }
    }

  cache->serial = series->serial;
  cache->n_columns = n_columns;
  cache->x_lo = layout->x_lo;
  cache->x_hi = layout->x_hi;
  return (const PlotColumn *) (void *) cache->columns->data;
}

/* Cuts the segment (x0, y0)-(x1, y1) to the rows top..bottom; FALSE
 * when none of it falls there. */
static gboolean
clip_segment (double *x0,
              double *y0,
              double *x1,
              double *y1,
              double  top,
              double  bottom)
{
  double dx = *x1 - *x0, dy = *y1 - *y0;
  double t0 = 0.0, t1 = 1.0;

  if (dy == 0.0)
    return *y0 >= top && *y0 <= bottom;
  t0 = MAX (t0, MIN ((top - *y0) / dy, (bottom - *y0) / dy));
  t1 = MIN (t1, MAX ((top - *y0) / dy, (bottom - *y0) / dy));
  if (t0 > t1)
    return FALSE;
  /* ends inside stay exactly where they were */
  if (t1 < 1.0)
    {
      *x1 = *x0 + dx * t1;
      *y1 = *y0 + dy * t1;
    }
  if (t0 > 0.0)
    {
      *x0 += dx * t0;
      *y0 += dy * t0;
    }
  return TRUE;
}

static void
draw_series_line (cairo_t          *cr,
                  PlotSeries       *series,
                  gboolean          smoothed,
                  const PlotLayout *layout)
{
  const double *xs = (const double *) (void *) series->x->data;
  const double *ys = (const double *) (void *) (smoothed ? series->smooth->data : series->y->data);
  int n_columns = MAX (1, (int) layout->area.width);
  /* Values far beyond the y range would overflow cairo's fixed-point
   * coordinates: lines are cut a little outside the area (the clip then
   * ends them at its edge, at the true slope). */
  double top = layout->area.y - 4.0;
  double bottom = layout->area.y + layout->area.height + 4.0;
  gboolean pen_down = FALSE;

  if (series->x->len <= (guint) n_columns * 2)
    {
      double last_x = 0.0, last_y = 0.0;
      gboolean have_last = FALSE;

      for (guint i = 0; i < series->x->len; i++)
        {
          double px, py, x0, y0, x1, y1;

          if (!isfinite (ys[i]) || !isfinite (xs[i]))
            {
              have_last = pen_down = FALSE;
              continue;
            }
          px = layout_x_to_pixel (layout, xs[i]);
          py = CLAMP (layout_y_to_pixel (layout, ys[i]), -1e9, 1e9);
          x0 = last_x;
          y0 = last_y;
          x1 = px;
          y1 = py;
          if (have_last && clip_segment (&x0, &y0, &x1, &y1, top, bottom))
            {
              if (!pen_down || x0 != last_x || y0 != last_y)
                cairo_move_to (cr, x0, y0);
              cairo_line_to (cr, x1, y1);
              pen_down = x1 == px && y1 == py;
            }
          else
            pen_down = FALSE;
          last_x = px;
          last_y = py;
          have_last = TRUE;
        }
    }
  else
    {
      const PlotColumn *columns = plot_series_decimate (series, smoothed, layout, n_columns);
      double half = cairo_get_line_width (cr) / 2.0;

      /* A polyline through the middle of each column's min..max, plus a
       * filled bar over min..max where that is taller than the line.
       * Stroking the classic first/min/max/last zigzag instead makes
       * cairo's stroker slow (~100 ms) on its thousands of overlapping
       * segments; this costs a few ms and looks the same. */
      for (int c = 0; c < n_columns; c++)
        {
          double px = layout->area.x + c + 0.5;
          double y_mid;

          if (isnan (columns[c].first))
            continue;
          y_mid = CLAMP (layout_y_to_pixel (layout, (columns[c].lo + columns[c].hi) / 2.0), top, bottom);
          if (pen_down)
            cairo_line_to (cr, px, y_mid);
          else
            cairo_move_to (cr, px, y_mid);
          pen_down = TRUE;
        }
      cairo_stroke (cr);

      for (int c = 0; c < n_columns; c++)
        {
          double bar_top, bar_bottom;

          if (isnan (columns[c].first))
            continue;
          bar_top = CLAMP (layout_y_to_pixel (layout, columns[c].hi) - half, top, bottom);
          bar_bottom = CLAMP (layout_y_to_pixel (layout, columns[c].lo) + half, top, bottom);
          if (bar_bottom - bar_top > 2.0 * half + 0.5)
            cairo_rectangle (cr, layout->area.x + c + 0.5 - half, bar_top, 2.0 * half, bar_bottom - bar_top);
        }
      cairo_fill (cr);
      return;
    }
  cairo_stroke (cr);
}

static void
draw_series_markers (cairo_t          *cr,
                     PlotSeries       *series,
                     gboolean          smoothed,
                     const PlotLayout *layout)
{
  const double *xs = (const double *) (void *) series->x->data;
  const double *ys = (const double *) (void *) (smoothed ? series->smooth->data : series->y->data);

  /* Markers on a dense series would only be a thick smear. */
  if (series->x->len > layout->area.width / 4.0)
    return;

  for (guint i = 0; i < series->x->len; i++)
    {
      if (!isfinite (ys[i]) || !isfinite (xs[i]))
        continue;
      cairo_new_sub_path (cr);
      cairo_arc (cr, layout_x_to_pixel (layout, xs[i]), layout_y_to_pixel (layout, ys[i]),
                 MARKER_RADIUS, 0, 2 * G_PI);
    }
  cairo_fill (cr);
}

/* Index of the point of series nearest to x (x sorted), or -1. */
static gssize
plot_series_nearest (PlotSeries *series,
                     double      x)
{
  const double *xs = (const double *) (void *) series->x->data;
  guint lo = 0, hi = series->x->len;

  if (series->x->len == 0)
    return -1;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (xs[mid] < x)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == series->x->len)
    return lo - 1;
  if (lo > 0 && fabs (xs[lo - 1] - x) <= fabs (xs[lo] - x))
    return lo - 1;
  return lo;
}

static char *
format_value (double value)
{
  /* a dash for a missing (non-finite) value */
  if (!isfinite (value))
    return g_strdup ("—");
  return g_strdup_printf ("%.4g", value);
}

static void
convolve_plot_draw_hover (ConvolvePlot     *self,
                          cairo_t          *cr,
                          const PlotLayout *layout,
                          const PlotStyle  *style,
                          int               width)
{
  g_autoptr(PangoLayout) text_layout = create_text_layout (self, cr, 0.85, FALSE);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) colors = g_array_new (FALSE, FALSE, sizeof (GdkRGBA));
  double hx, data_x, box_width = 0.0, box_height = 0.0, line_height = 0.0, bx, by;
  g_autofree char *x_text = NULL;

  if (!self->hovering || layout->empty)
    return;
  hx = CLAMP (self->hover_x, layout->area.x, layout->area.x + layout->area.width);
  data_x = layout->x_lo + (hx - layout->area.x) / layout->area.width * (layout->x_hi - layout->x_lo);

  /* snap the guide to the nearest point of the first series that has one */
  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);
      gssize nearest;

      if (!series->visible || (nearest = plot_series_nearest (series, data_x)) < 0)
        continue;
      data_x = g_array_index (series->x, double, nearest);
      hx = layout_x_to_pixel (layout, data_x);
      break;
    }

  set_foreground (cr, style, 0.45);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, round (hx) + 0.5, layout->area.y);
  cairo_line_to (cr, round (hx) + 0.5, layout->area.y + layout->area.height);
  cairo_stroke (cr);

  x_text = format_value (data_x);
  if (self->x_label != NULL && self->x_label[0] != '\0')
    g_ptr_array_add (lines, g_strdup_printf ("%s %s", self->x_label, x_text));
  else
    g_ptr_array_add (lines, g_steal_pointer (&x_text));
  g_array_append_val (colors, style->foreground);

  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);
      gboolean smoothed = plot_series_is_smoothed (self, series);
      GdkRGBA color = plot_series_color (series, style);
      g_autofree char *value = NULL;
      double px, py, y;
      gssize nearest;

      if (!series->visible || (nearest = plot_series_nearest (series, data_x)) < 0)
        continue;

      y = g_array_index (smoothed ? series->smooth : series->y, double, nearest);
      px = layout_x_to_pixel (layout, g_array_index (series->x, double, nearest));
      py = layout_y_to_pixel (layout, y);
      /* a value beyond the y range is in the readout only */
      if (isfinite (py) && py >= layout->area.y - 1.0 && py <= layout->area.y + layout->area.height + 1.0)
        {
          gdk_cairo_set_source_rgba (cr, &color);
          cairo_arc (cr, px, py, MARKER_RADIUS + 1.0, 0, 2 * G_PI);
          cairo_fill (cr);
        }

      value = format_value (y);
      if (smoothed)
        {
          g_autofree char *raw = format_value (g_array_index (series->y, double, nearest));
          /* Translators: a series' smoothed value, then its raw value */
          g_ptr_array_add (lines, g_strdup_printf (_("%s: %s (raw %s)"), series->label, value, raw));
        }
      else
        g_ptr_array_add (lines, g_strdup_printf (_("%s: %s"), series->label, value));
      g_array_append_val (colors, color);
    }

  for (guint i = 0; i < lines->len; i++)
    {
      double w, h;
      text_size (text_layout, g_ptr_array_index (lines, i), &w, &h);
      box_width = MAX (box_width, w + (i > 0 ? 14.0 : 0.0));
      line_height = MAX (line_height, h);
    }
  box_width += 12.0;
  box_height = line_height * lines->len + 8.0;

  bx = hx + 10.0;
  if (bx + box_width > width - 2.0)
    bx = hx - 10.0 - box_width;
  bx = MAX (2.0, bx);
  by = layout->area.y + 6.0;

  /* A box in the inverse of the text colour, a little translucent. */
  if (style->dark)
    cairo_set_source_rgba (cr, 0.14, 0.14, 0.14, 0.92);
  else
    cairo_set_source_rgba (cr, 1.0, 1.0, 1.0, 0.92);
  cairo_rectangle (cr, round (bx), round (by), round (box_width), round (box_height));
  cairo_fill_preserve (cr);
  set_foreground (cr, style, 0.25);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);

  for (guint i = 0; i < lines->len; i++)
    {
      double ty = by + 4.0 + i * line_height;

      if (i > 0)
        {
          gdk_cairo_set_source_rgba (cr, &g_array_index (colors, GdkRGBA, i));
          cairo_arc (cr, bx + 6.0 + 4.0, ty + line_height / 2.0, 4.0, 0, 2 * G_PI);
          cairo_fill (cr);
        }
      set_foreground (cr, style, 1.0);
      draw_text (cr, text_layout, g_ptr_array_index (lines, i), bx + 6.0 + (i > 0 ? 14.0 : 0.0), ty, 0.0, 0.0);
    }
}

static void
convolve_plot_draw_with_style (ConvolvePlot    *self,
                               cairo_t         *cr,
                               int              width,
                               int              height,
                               const PlotStyle *style)
{
  g_autoptr(PangoLayout) tick_layout = NULL;
  g_autoptr(PangoLayout) text_layout = NULL;
  g_autoptr(PangoLayout) title_layout = NULL;
  PlotLayout layout;
  double axis_x, axis_y;

  if (width <= 0 || height <= 0)
    return;

  cairo_save (cr);

  if (style->background)
    {
      cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
      cairo_paint (cr);
    }

  tick_layout = create_text_layout (self, cr, 0.85, FALSE);
  text_layout = create_text_layout (self, cr, 1.0, FALSE);
  title_layout = create_text_layout (self, cr, 1.0, TRUE);
  convolve_plot_compute_layout (self, cr, width, height, style->menu_room, &layout);

  axis_x = layout.area.x - 0.5;
  axis_y = layout.area.y + layout.area.height + 0.5;

  /* grid lines and tick labels */
  cairo_set_line_width (cr, 1.0);
  for (double v = ceil (layout.y_lo / layout.y_step - 1e-9) * layout.y_step;
       v <= layout.y_hi + layout.y_step * 1e-6; v += layout.y_step)
    {
      g_autofree char *text = format_tick (v, layout.y_step);
      double py = round (layout_y_to_pixel (&layout, v)) + 0.5;

      set_foreground (cr, style, 0.1);
      cairo_move_to (cr, layout.area.x, py);
      cairo_line_to (cr, layout.area.x + layout.area.width, py);
      cairo_stroke (cr);
      set_foreground (cr, style, 0.5);
      cairo_move_to (cr, axis_x - TICK_LENGTH, py);
      cairo_line_to (cr, axis_x, py);
      cairo_stroke (cr);
      set_foreground (cr, style, 0.75);
      draw_text (cr, tick_layout, text, axis_x - TICK_LENGTH - 3.0, py, 1.0, 0.5);
    }
  for (double v = ceil (layout.x_lo / layout.x_step - 1e-9) * layout.x_step;
       v <= layout.x_hi + layout.x_step * 1e-6; v += layout.x_step)
    {
      g_autofree char *text = format_tick (v, layout.x_step);
      double px = round (layout_x_to_pixel (&layout, v)) + 0.5;

      set_foreground (cr, style, 0.1);
      cairo_move_to (cr, px, layout.area.y);
      cairo_line_to (cr, px, layout.area.y + layout.area.height);
      cairo_stroke (cr);
      set_foreground (cr, style, 0.5);
      cairo_move_to (cr, px, axis_y);
      cairo_line_to (cr, px, axis_y + TICK_LENGTH);
      cairo_stroke (cr);
      set_foreground (cr, style, 0.75);
      draw_text (cr, tick_layout, text, px, axis_y + TICK_LENGTH + 2.0, 0.5, 0.0);
    }

  /* axes */
  set_foreground (cr, style, 0.6);
  cairo_move_to (cr, axis_x, layout.area.y);
  cairo_line_to (cr, axis_x, axis_y);
  cairo_line_to (cr, layout.area.x + layout.area.width, axis_y);
  cairo_stroke (cr);

  /* axis titles */
  set_foreground (cr, style, 0.85);
  if (self->x_label != NULL && self->x_label[0] != '\0')
    draw_text (cr, text_layout, self->x_label,
               layout.area.x + layout.area.width / 2.0, height - PAD, 0.5, 1.0);
  if (self->y_label != NULL && self->y_label[0] != '\0')
    {
      double w, h;
      text_size (text_layout, self->y_label, &w, &h);
      cairo_save (cr);
      cairo_move_to (cr, PAD, round (layout.area.y + layout.area.height / 2.0 + w / 2.0));
      cairo_rotate (cr, -G_PI / 2.0);
      pango_cairo_update_layout (cr, text_layout);
      pango_cairo_show_layout (cr, text_layout);
      cairo_restore (cr);
      pango_cairo_update_layout (cr, text_layout);
    }

  /* series: lines end at the data area's edges (a value beyond the y
   * range runs off the edge), markers may overhang them a little */
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (guint i = 0; i < self->series->len; i++)
    {
      PlotSeries *series = g_ptr_array_index (self->series, i);
      gboolean smoothed = plot_series_is_smoothed (self, series);
      GdkRGBA color = plot_series_color (series, style);

      if (!series->visible || series->x->len == 0)
        continue;

      if (series->flags & CONVOLVE_PLOT_SERIES_LINE)
        {
          cairo_save (cr);
          cairo_rectangle (cr, layout.area.x - 1.0, layout.area.y - 1.0,
                           layout.area.width + 2.0, layout.area.height + 2.0);
          cairo_clip (cr);
          if (smoothed)
            {
              cairo_set_source_rgba (cr, color.red, color.green, color.blue, color.alpha * 0.25);
              cairo_set_line_width (cr, 1.0);
              draw_series_line (cr, series, FALSE, &layout);
            }
          gdk_cairo_set_source_rgba (cr, &color);
          cairo_set_line_width (cr, smoothed ? 2.0 : 1.5);
          draw_series_line (cr, series, smoothed, &layout);
          cairo_restore (cr);
        }
      if (series->flags & CONVOLVE_PLOT_SERIES_MARKERS || !(series->flags & CONVOLVE_PLOT_SERIES_LINE))
        {
          cairo_save (cr);
          cairo_rectangle (cr, layout.area.x - MARKER_RADIUS - 1.0, layout.area.y - MARKER_RADIUS - 1.0,
                           layout.area.width + 2.0 * MARKER_RADIUS + 2.0, layout.area.height + 2.0 * MARKER_RADIUS + 2.0);
          cairo_clip (cr);
          gdk_cairo_set_source_rgba (cr, &color);
          draw_series_markers (cr, series, smoothed, &layout);
          cairo_restore (cr);
        }
    }

  convolve_plot_header (self, cr, title_layout, tick_layout, PAD, layout.header_right, layout.header_top, style);

  if (layout.empty && self->empty_text != NULL)
    {
      set_foreground (cr, style, 0.55);
      draw_text (cr, text_layout, self->empty_text,
                 layout.area.x + layout.area.width / 2.0, layout.area.y + layout.area.height / 2.0, 0.5, 0.5);
    }

  if (style->hover)
    convolve_plot_draw_hover (self, cr, &layout, style, width);

  cairo_restore (cr);
}

static void
convolve_plot_get_widget_style (ConvolvePlot *self,
                                PlotStyle    *style)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  double luminance;

  memset (style, 0, sizeof *style);
  /* GTK 4.8 has no gtk_widget_get_color (); the style context is the way. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (context, &style->foreground);
  G_GNUC_END_IGNORE_DEPRECATIONS
  luminance = 0.2126 * style->foreground.red + 0.7152 * style->foreground.green + 0.0722 * style->foreground.blue;
  style->dark = luminance > 0.5;  /* light text means a dark background */
  style->menu_room = TRUE;
}

/* ---------------------------------------------------------- GtkWidget */

static void
convolve_plot_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  ConvolvePlot *self = CONVOLVE_PLOT (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  PlotStyle style;
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;

  convolve_plot_get_widget_style (self, &style);
  style.hover = TRUE;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  convolve_plot_draw_with_style (self, cr, width, height, &style);
  cairo_destroy (cr);

  if (self->menu_button != NULL)
    gtk_widget_snapshot_child (widget, self->menu_button, snapshot);
}

static void
convolve_plot_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  ConvolvePlot *self = CONVOLVE_PLOT (widget);
  int button_width, button_height;

  convolve_plot_get_menu_button_size (self, &button_width, &button_height);
  if (button_width > 0)
    gtk_widget_size_allocate (self->menu_button,
                              &(GtkAllocation) { width - button_width - (int) MENU_MARGIN, (int) MENU_MARGIN,
                                                 button_width, button_height },
                              -1);
  if (self->context_menu != NULL)
    gtk_popover_present (GTK_POPOVER (self->context_menu));
}

static void
convolve_plot_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  /* No more height than the minimum is asked for: beside other content
   * a plot takes the room that is left, not room from the others. */
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 200;
      *natural = 480;
    }
  else
    {
      *minimum = 150;
      *natural = 150;
    }
}

/* ---------------------------------------------------------------- menu */

static void
convolve_plot_popup_menu_at (ConvolvePlot *self,
                             double        x,
                             double        y)
{
  if (self->menu_model == NULL)
    return;

  if (self->context_menu == NULL)
    {
      self->context_menu = gtk_popover_menu_new_from_model (self->menu_model);
      gtk_widget_set_parent (self->context_menu, GTK_WIDGET (self));
      gtk_popover_set_position (GTK_POPOVER (self->context_menu), GTK_POS_BOTTOM);
      gtk_popover_set_has_arrow (GTK_POPOVER (self->context_menu), FALSE);
      gtk_widget_set_halign (self->context_menu, GTK_ALIGN_START);
    }
  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu),
                               &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

static void
on_secondary_click (GtkGestureClick *gesture,
                    int              n_press,
                    double           x,
                    double           y,
                    ConvolvePlot    *self)
{
  if (self->menu_model == NULL)
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  convolve_plot_popup_menu_at (self, x, y);
}

static void
on_long_press (GtkGestureLongPress *gesture,
               double               x,
               double               y,
               ConvolvePlot        *self)
{
  if (self->menu_model == NULL)
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  convolve_plot_popup_menu_at (self, x, y);
}

/* Shift+F10 or the Menu key: at the keyboard readout if there is one. */
static void
popup_menu_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  ConvolvePlot *self = CONVOLVE_PLOT (widget);
  double x = self->hovering ? self->hover_x : gtk_widget_get_width (widget) / 2.0;

  convolve_plot_popup_menu_at (self, x, gtk_widget_get_height (widget) / 2.0);
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           ConvolvePlot             *self)
{
  self->hovering = TRUE;
  self->hover_x = x;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_leave (GtkEventControllerMotion *controller,
          ConvolvePlot             *self)
{
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Keyboard counterpart of the hover readout: Left/Right move it, Escape hides it. */
static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                ConvolvePlot          *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  double step = MAX (1.0, width / 50.0);

  switch (keyval)
    {
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      if (!self->hovering)
        self->hover_x = width;
      else if (keyval == GDK_KEY_Left || keyval == GDK_KEY_KP_Left)
        self->hover_x = MAX (0.0, self->hover_x - step);
      else
        self->hover_x = MIN ((double) width, self->hover_x + step);
      self->hovering = TRUE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return GDK_EVENT_STOP;

    case GDK_KEY_Escape:
      if (!self->hovering)
        return GDK_EVENT_PROPAGATE;
      self->hovering = FALSE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return GDK_EVENT_STOP;

    default:
      return GDK_EVENT_PROPAGATE;
    }
}

static void
convolve_plot_update_accessible_label (ConvolvePlot *self)
{
  const char *label = self->title;

  if (label == NULL || label[0] == '\0')
    label = self->y_label;
  if (label == NULL || label[0] == '\0')
    label = _("Plot");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

static void
convolve_plot_dispose (GObject *object)
{
  ConvolvePlot *self = CONVOLVE_PLOT (object);

  g_clear_handle_id (&self->redraw_source, g_source_remove);
  g_clear_pointer (&self->menu_button, gtk_widget_unparent);
  g_clear_pointer (&self->context_menu, gtk_widget_unparent);
  g_clear_object (&self->menu_model);

  G_OBJECT_CLASS (convolve_plot_parent_class)->dispose (object);
}

static void
convolve_plot_finalize (GObject *object)
{
  ConvolvePlot *self = CONVOLVE_PLOT (object);

  g_ptr_array_unref (self->series);
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  g_free (self->empty_text);

  G_OBJECT_CLASS (convolve_plot_parent_class)->finalize (object);
}

static void
convolve_plot_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ConvolvePlot *self = CONVOLVE_PLOT (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_X_LABEL:
      g_value_set_string (value, self->x_label);
      break;
    case PROP_Y_LABEL:
      g_value_set_string (value, self->y_label);
      break;
    case PROP_EMPTY_TEXT:
      g_value_set_string (value, self->empty_text);
      break;
    case PROP_SMOOTHING:
      g_value_set_double (value, self->smoothing);
      break;
    case PROP_FIXED_Y_RANGE:
      g_value_set_boolean (value, self->fixed_y_range);
      break;
    case PROP_Y_MIN:
      g_value_set_double (value, self->y_min);
      break;
    case PROP_Y_MAX:
      g_value_set_double (value, self->y_max);
      break;
    case PROP_IGNORE_OUTLIERS:
      g_value_set_boolean (value, self->ignore_outliers);
      break;
    case PROP_MENU_MODEL:
      g_value_set_object (value, self->menu_model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_plot_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  ConvolvePlot *self = CONVOLVE_PLOT (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      convolve_plot_set_title (self, g_value_get_string (value));
      break;
    case PROP_X_LABEL:
      convolve_plot_set_x_label (self, g_value_get_string (value));
      break;
    case PROP_Y_LABEL:
      convolve_plot_set_y_label (self, g_value_get_string (value));
      break;
    case PROP_EMPTY_TEXT:
      convolve_plot_set_empty_text (self, g_value_get_string (value));
      break;
    case PROP_SMOOTHING:
      convolve_plot_set_smoothing (self, g_value_get_double (value));
      break;
    case PROP_FIXED_Y_RANGE:
      convolve_plot_set_fixed_y_range (self, g_value_get_boolean (value));
      break;
    case PROP_Y_MIN:
      convolve_plot_set_y_range (self, g_value_get_double (value), self->y_max);
      break;
    case PROP_Y_MAX:
      convolve_plot_set_y_range (self, self->y_min, g_value_get_double (value));
      break;
    case PROP_IGNORE_OUTLIERS:
      convolve_plot_set_ignore_outliers (self, g_value_get_boolean (value));
      break;
    case PROP_MENU_MODEL:
      convolve_plot_set_menu_model (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_plot_class_init (ConvolvePlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_plot_dispose;
  object_class->finalize = convolve_plot_finalize;
  object_class->get_property = convolve_plot_get_property;
  object_class->set_property = convolve_plot_set_property;

  widget_class->snapshot = convolve_plot_snapshot;
  widget_class->measure = convolve_plot_measure;
  widget_class->size_allocate = convolve_plot_size_allocate;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_X_LABEL] =
    g_param_spec_string ("x-label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_Y_LABEL] =
    g_param_spec_string ("y-label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EMPTY_TEXT] =
    g_param_spec_string ("empty-text", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SMOOTHING] =
    g_param_spec_double ("smoothing", NULL, NULL, 0.0, 0.99, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FIXED_Y_RANGE] =
    g_param_spec_boolean ("fixed-y-range", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_Y_MIN] =
    g_param_spec_double ("y-min", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_Y_MAX] =
    g_param_spec_double ("y-max", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IGNORE_OUTLIERS] =
    g_param_spec_boolean ("ignore-outliers", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MENU_MODEL] =
    g_param_spec_object ("menu-model", NULL, NULL, G_TYPE_MENU_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "menu.popup", NULL, popup_menu_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "menu.popup", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "menu.popup", NULL);

  gtk_widget_class_set_css_name (widget_class, "convolveplot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
convolve_plot_init (ConvolvePlot *self)
{
  GtkEventController *controller;

  self->series = g_ptr_array_new_with_free_func ((GDestroyNotify) plot_series_free);
  self->empty_text = g_strdup (_("No data yet"));
  self->y_min = 0.0;
  self->y_max = 1.0;
  self->ignore_outliers = TRUE;

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = GTK_EVENT_CONTROLLER (gtk_gesture_click_new ());
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (controller), GDK_BUTTON_SECONDARY);
  g_signal_connect (controller, "pressed", G_CALLBACK (on_secondary_click), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = GTK_EVENT_CONTROLLER (gtk_gesture_long_press_new ());
  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (controller), TRUE);
  g_signal_connect (controller, "pressed", G_CALLBACK (on_long_press), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "menu.popup", FALSE);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  convolve_plot_update_accessible_label (self);
}

/* ---------------------------------------------------------- public API */

GtkWidget *
convolve_plot_new (void)
{
  return g_object_new (CONVOLVE_TYPE_PLOT, NULL);
}

void
convolve_plot_add_series (ConvolvePlot            *plot,
                          const char              *id,
                          const char              *label,
                          ConvolvePlotSeriesFlags  flags,
                          const GdkRGBA           *color)
{
  PlotSeries *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (id != NULL);

  series = convolve_plot_find_series (plot, id);
  if (series == NULL)
    {
      series = g_new0 (PlotSeries, 1);
      series->id = g_strdup (id);
      series->visible = TRUE;
      series->palette_index = plot->next_palette_index++;
      series->x = g_array_new (FALSE, FALSE, sizeof (double));
      series->y = g_array_new (FALSE, FALSE, sizeof (double));
      series->smooth = g_array_new (FALSE, FALSE, sizeof (double));
      plot_series_reset (series);
      g_ptr_array_add (plot->series, series);
    }

  g_free (series->label);
  series->label = g_strdup (label);
  series->flags = flags;
  series->has_color = color != NULL;
  if (color != NULL)
    series->color = *color;

  convolve_plot_data_changed (plot);
}

void
convolve_plot_remove_series (ConvolvePlot *plot,
                             const char   *id)
{
  PlotSeries *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  series = convolve_plot_find_series (plot, id);
  if (series == NULL)
    return;
  g_ptr_array_remove (plot->series, series);
  convolve_plot_data_changed (plot);
}

void
convolve_plot_set_series_visible (ConvolvePlot *plot,
                                  const char   *id,
                                  gboolean      visible)
{
  PlotSeries *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  series = convolve_plot_find_series (plot, id);
  g_return_if_fail (series != NULL);
  visible = !!visible;
  if (series->visible == visible)
    return;
  series->visible = visible;
  convolve_plot_data_changed (plot);
}

void
convolve_plot_append_points (ConvolvePlot *plot,
                             const char   *id,
                             const double *x,
                             const double *y,
                             gsize         n)
{
  PlotSeries *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (n == 0 || (x != NULL && y != NULL));

  series = convolve_plot_find_series (plot, id);
  g_return_if_fail (series != NULL);
  if (n == 0)
    return;
  plot_series_append (series, x, y, n, plot->smoothing);
  convolve_plot_data_changed (plot);
}

void
convolve_plot_set_points (ConvolvePlot *plot,
                          const char   *id,
                          const double *x,
                          const double *y,
                          gsize         n)
{
  PlotSeries *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (n == 0 || (x != NULL && y != NULL));

  series = convolve_plot_find_series (plot, id);
  g_return_if_fail (series != NULL);
  plot_series_reset (series);
  plot_series_append (series, x, y, n, plot->smoothing);
  convolve_plot_data_changed (plot);
}

void
convolve_plot_clear (ConvolvePlot *plot)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  for (guint i = 0; i < plot->series->len; i++)
    plot_series_reset (g_ptr_array_index (plot->series, i));
  plot->hovering = FALSE;
  convolve_plot_data_changed (plot);
}

gsize
convolve_plot_get_n_points (ConvolvePlot *plot,
                            const char   *id)
{
  PlotSeries *series;

  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), 0);

  series = convolve_plot_find_series (plot, id);
  return series != NULL ? series->x->len : 0;
}

static gboolean
replace_string (char       **field,
                const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

const char *
convolve_plot_get_title (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  return plot->title;
}

void
convolve_plot_set_title (ConvolvePlot *plot,
                         const char   *title)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  if (!replace_string (&plot->title, title))
    return;
  convolve_plot_update_accessible_label (plot);
  gtk_widget_queue_draw (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_TITLE]);
}

const char *
convolve_plot_get_x_label (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  return plot->x_label;
}

void
convolve_plot_set_x_label (ConvolvePlot *plot,
                           const char   *label)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  if (!replace_string (&plot->x_label, label))
    return;
  gtk_widget_queue_draw (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_X_LABEL]);
}

const char *
convolve_plot_get_y_label (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  return plot->y_label;
}

void
convolve_plot_set_y_label (ConvolvePlot *plot,
                           const char   *label)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  if (!replace_string (&plot->y_label, label))
    return;
  convolve_plot_update_accessible_label (plot);
  gtk_widget_queue_draw (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_Y_LABEL]);
}

const char *
convolve_plot_get_empty_text (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  return plot->empty_text;
}

void
convolve_plot_set_empty_text (ConvolvePlot *plot,
                              const char   *text)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  if (!replace_string (&plot->empty_text, text))
    return;
  gtk_widget_queue_draw (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_EMPTY_TEXT]);
}

double
convolve_plot_get_smoothing (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), 0.0);
  return plot->smoothing;
}

void
convolve_plot_set_smoothing (ConvolvePlot *plot,
                             double        smoothing)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  smoothing = CLAMP (smoothing, 0.0, 0.99);
  if (plot->smoothing == smoothing)
    return;
  plot->smoothing = smoothing;
  for (guint i = 0; i < plot->series->len; i++)
    plot_series_resmooth (g_ptr_array_index (plot->series, i), smoothing);
  convolve_plot_data_changed (plot);
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_SMOOTHING]);
}

gboolean
convolve_plot_get_fixed_y_range (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), FALSE);
  return plot->fixed_y_range;
}

void
convolve_plot_set_fixed_y_range (ConvolvePlot *plot,
                                 gboolean      fixed)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  fixed = !!fixed;
  if (plot->fixed_y_range == fixed)
    return;
  plot->fixed_y_range = fixed;
  gtk_widget_queue_draw (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_FIXED_Y_RANGE]);
}

void
convolve_plot_set_y_range (ConvolvePlot *plot,
                           double        y_min,
                           double        y_max)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  g_object_freeze_notify (G_OBJECT (plot));
  if (plot->y_min != y_min)
    {
      plot->y_min = y_min;
      g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_Y_MIN]);
    }
  if (plot->y_max != y_max)
    {
      plot->y_max = y_max;
      g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_Y_MAX]);
    }
  g_object_thaw_notify (G_OBJECT (plot));
  gtk_widget_queue_draw (GTK_WIDGET (plot));
}

void
convolve_plot_get_y_range (ConvolvePlot *plot,
                           double       *y_min,
                           double       *y_max)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  if (y_min)
    *y_min = plot->y_min;
  if (y_max)
    *y_max = plot->y_max;
}

gboolean
convolve_plot_get_ignore_outliers (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), FALSE);
  return plot->ignore_outliers;
}

void
convolve_plot_set_ignore_outliers (ConvolvePlot *plot,
                                   gboolean      ignore)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  ignore = !!ignore;
  if (plot->ignore_outliers == ignore)
    return;
  plot->ignore_outliers = ignore;
  plot->fit_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_IGNORE_OUTLIERS]);
}

GMenuModel *
convolve_plot_get_menu_model (ConvolvePlot *plot)
{
  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  return plot->menu_model;
}

void
convolve_plot_set_menu_model (ConvolvePlot *plot,
                              GMenuModel   *model)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (model == NULL || G_IS_MENU_MODEL (model));

  if (!g_set_object (&plot->menu_model, model))
    return;

  if (model == NULL)
    {
      g_clear_pointer (&plot->menu_button, gtk_widget_unparent);
      if (plot->context_menu != NULL)
        gtk_popover_popdown (GTK_POPOVER (plot->context_menu));
    }
  else
    {
      if (plot->menu_button == NULL)
        {
          plot->menu_button = gtk_menu_button_new ();
          gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (plot->menu_button), "view-more-symbolic");
          gtk_menu_button_set_has_frame (GTK_MENU_BUTTON (plot->menu_button), FALSE);
          gtk_widget_set_tooltip_text (plot->menu_button, _("Plot Menu"));
          gtk_widget_add_css_class (plot->menu_button, "plot-menu-button");
          gtk_widget_set_parent (plot->menu_button, GTK_WIDGET (plot));
        }
      gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (plot->menu_button), model);
      if (plot->context_menu != NULL)
        gtk_popover_menu_set_menu_model (GTK_POPOVER_MENU (plot->context_menu), model);
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (plot), "menu.popup", model != NULL);
  gtk_widget_queue_resize (GTK_WIDGET (plot));
  g_object_notify_by_pspec (G_OBJECT (plot), properties[PROP_MENU_MODEL]);
}

void
convolve_plot_draw (ConvolvePlot *plot,
                    cairo_t      *cr,
                    int           width,
                    int           height)
{
  PlotStyle style;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (cr != NULL);

  convolve_plot_get_widget_style (plot, &style);
  convolve_plot_draw_with_style (plot, cr, width, height, &style);
}

void
convolve_plot_get_data_area (ConvolvePlot      *plot,
                             int                width,
                             int                height,
                             cairo_rectangle_t *area)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  PlotLayout layout;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (area != NULL);

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  convolve_plot_compute_layout (plot, cr, width, height, TRUE, &layout);
  *area = layout.area;
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

void
convolve_plot_get_axis_ranges (ConvolvePlot *plot,
                               int           width,
                               int           height,
                               double       *x_lo,
                               double       *x_hi,
                               double       *y_lo,
                               double       *y_hi)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  PlotLayout layout;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  convolve_plot_compute_layout (plot, cr, width, height, TRUE, &layout);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  if (x_lo)
    *x_lo = layout.x_lo;
  if (x_hi)
    *x_hi = layout.x_hi;
  if (y_lo)
    *y_lo = layout.y_lo;
  if (y_hi)
    *y_hi = layout.y_hi;
}

static cairo_status_t
write_to_byte_array (void                *closure,
                     const unsigned char *data,
                     unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

GBytes *
convolve_plot_render (ConvolvePlot        *plot,
                      ConvolvePlotFormat   format,
                      int                  width,
                      int                  height,
                      GError             **error)
{
  GByteArray *bytes;
  PlotStyle style = { .dark = FALSE, .background = TRUE, .hover = FALSE, .menu_room = FALSE };
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Cannot export a plot of %d × %d pixels: each side must be between 1 and 16384"),
                   width, height);
      return NULL;
    }

  gdk_rgba_parse (&style.foreground, "#1e1e1e");

  bytes = g_byte_array_new ();
  if (format == CONVOLVE_PLOT_FORMAT_SVG)
    surface = cairo_svg_surface_create_for_stream (write_to_byte_array, bytes, width, height);
  else
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);

  cr = cairo_create (surface);
  convolve_plot_draw_with_style (plot, cr, width, height, &style);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (format == CONVOLVE_PLOT_FORMAT_SVG)
    cairo_surface_finish (surface);  /* flushes the SVG into bytes */
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS && format == CONVOLVE_PLOT_FORMAT_PNG)
    status = cairo_surface_write_to_png_stream (surface, write_to_byte_array, bytes);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_byte_array_unref (bytes);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Could not draw the plot for export: %s"),
                   cairo_status_to_string (status));
      return NULL;
    }

  return g_byte_array_free_to_bytes (bytes);
}

gboolean
convolve_plot_export (ConvolvePlot        *plot,
                      GFile               *file,
                      ConvolvePlotFormat   format,
                      int                  width,
                      int                  height,
                      GError             **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  bytes = convolve_plot_render (plot, format, width, height, error);
  if (bytes == NULL)
    return FALSE;

  /* g_file_replace_contents writes a temporary file and renames it over the
   * target, so a failed export never destroys an earlier one. */
  if (!g_file_replace_contents (file, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                NULL, NULL, error))
    {
      g_prefix_error (error, _("Could not save the plot: "));
      return FALSE;
    }

  return TRUE;
}
