/* convolve-plot.c: a line chart of named series, drawn with cairo.
 *
 * The widget: its properties, its series' names, colours and visibility,
 * what to draw, and the menu; the hover readout is in convolve-plot-hover.c,
 * export in convolve-plot-export.c. The points and the computation on them
 * live in convolve-plot-series.c, the layout, axes and legend in
 * convolve-plot-axes.c, the drawing of the series in convolve-plot-lines.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <cairo.h>
#include <math.h>
#include <string.h>

#include "convolve-plot-private.h"
#include "convolve-plot-lines.h"

#define REDRAW_INTERVAL  33 /* ms: at most ~30 redraws per second */
#define MENU_MARGIN      4.0   /* around the menu button in the top right corner */

/* How to draw: the colours, and what goes with the data. */
typedef struct {
  ConvolvePlotStyle colors;
  gboolean          background;  /* fill white before drawing (export) */
  gboolean          hover;       /* draw the hover readout */
  gboolean          menu_room;   /* keep the menu button's corner free (on screen) */
} PlotStyle;

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
plot_entry_free (ConvolvePlotEntry *series)
{
  g_free (series->id);
  g_free (series->label);
  convolve_plot_series_free (series->points);
  g_free (series);
}

static ConvolvePlotEntry *
convolve_plot_find_series (ConvolvePlot *self,
                           const char   *id)
{
  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);
      if (g_strcmp0 (series->id, id) == 0)
        return series;
    }
  return NULL;
}

gboolean
_convolve_plot_entry_is_smoothed (ConvolvePlot      *self,
                                  ConvolvePlotEntry *series)
{
  return (series->flags & CONVOLVE_PLOT_SERIES_SMOOTH) != 0 && self->smoothing > 0.0;
}

/* The values drawn: smoothed or raw. */
static const double *
plot_entry_get_y (ConvolvePlot      *self,
                  ConvolvePlotEntry *series)
{
  return convolve_plot_series_get_y (series->points, _convolve_plot_entry_is_smoothed (self, series));
}

GdkRGBA
_convolve_plot_entry_color (ConvolvePlotEntry       *series,
                            const ConvolvePlotStyle *style)
{
  GdkRGBA color;
  const char * const *palette = style->dark ? palette_dark : palette_light;

  if (series->has_color)
    return series->color;
  gdk_rgba_parse (&color, palette[series->palette_index % G_N_ELEMENTS (palette_light)]);
  return color;
}

char *
_convolve_plot_format_value (double value)
{
  /* a dash for a missing (non-finite) value */
  if (!isfinite (value))
    return g_strdup ("—");
  return g_strdup_printf ("%.4g", value);
}

/* ---------------------------------------------------------- redrawing */

/* Screen readers get the latest value of each series as the description. */
static void
convolve_plot_update_description (ConvolvePlot *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);
      gsize n = convolve_plot_series_get_n_points (series->points);
      g_autofree char *value = NULL;
      g_autofree char *x = NULL;

      if (!series->visible || n == 0 || series->label == NULL)
        continue;
      value = _convolve_plot_format_value (plot_entry_get_y (self, series)[n - 1]);
      x = _convolve_plot_format_value (convolve_plot_series_get_x (series->points)[n - 1]);
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

/* The y extent to show: that of every visible point, or with
 * ignore-outliers, without the far outliers of the lines (see
 * convolve_plot_series_fit_y ()). lo > hi when there is nothing to show. */
static void
convolve_plot_fit_y (ConvolvePlot *self,
                     double       *lo,
                     double       *hi)
{
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GPtrArray) whole = NULL;

  if (self->fit_valid && self->fit_serial == self->data_serial)
    {
      *lo = self->fit_lo;
      *hi = self->fit_hi;
      return;
    }

  lines = g_ptr_array_new ();
  whole = g_ptr_array_new ();
  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);

      if (series->visible)
        g_ptr_array_add (convolve_plot_flags_have_markers (series->flags) ? whole : lines, series->points);
    }
  convolve_plot_series_fit_y ((ConvolvePlotSeries * const *) lines->pdata, lines->len,
                              (ConvolvePlotSeries * const *) whole->pdata, whole->len,
                              self->ignore_outliers, lo, hi);

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

const PangoFontDescription *
_convolve_plot_get_font (ConvolvePlot *self)
{
  return pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (self)));
}

/* What the axes show. The legend entries go to legend (ConvolvePlotLegendEntry),
 * which must outlive axes; their colours are left out without a style. */
static void
convolve_plot_describe_axes (ConvolvePlot            *self,
                             gboolean                 menu_room,
                             const ConvolvePlotStyle *style,
                             GArray                  *legend,
                             ConvolvePlotAxes        *axes)
{
  g_autoptr(GPtrArray) visible = g_ptr_array_new ();
  int button_width = 0, button_height = 0;

  memset (axes, 0, sizeof *axes);
  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);
      ConvolvePlotLegendEntry entry = { 0 };

      if (!series->visible)
        continue;
      g_ptr_array_add (visible, series->points);
      if (series->label == NULL || series->label[0] == '\0')
        continue;
      entry.label = series->label;
      if (style != NULL)
        entry.color = _convolve_plot_entry_color (series, style);
      entry.line = (series->flags & CONVOLVE_PLOT_SERIES_LINE) != 0;
      entry.marker = convolve_plot_flags_have_markers (series->flags);
      g_array_append_val (legend, entry);
    }

  axes->font = _convolve_plot_get_font (self);
  axes->title = self->title;
  axes->x_label = self->x_label;
  axes->y_label = self->y_label;
  axes->empty_text = self->empty_text;
  axes->legend = (const ConvolvePlotLegendEntry *) (void *) legend->data;
  axes->n_legend = legend->len;

  axes->empty = !convolve_plot_series_fit_x ((ConvolvePlotSeries * const *) visible->pdata, visible->len,
                                             &axes->x_lo, &axes->x_hi);
  if (self->fixed_y_range && self->y_max > self->y_min)
    {
      axes->y_lo = self->y_min;
      axes->y_hi = self->y_max;
    }
  else
    {
      convolve_plot_fit_y (self, &axes->y_lo, &axes->y_hi);
      convolve_plot_series_pad_y (&axes->y_lo, &axes->y_hi);
    }
  axes->round_y = !self->fixed_y_range;

  if (menu_room)
    convolve_plot_get_menu_button_size (self, &button_width, &button_height);
  if (button_width > 0)
    axes->corner_width = button_width + MENU_MARGIN;
  if (button_height > 0)
    axes->corner_bottom = MENU_MARGIN + button_height + 2.0;
}

/* The layout at width x height, measured on a scratch surface. */
static void
convolve_plot_measure_layout (ConvolvePlot       *self,
                              int                 width,
                              int                 height,
                              ConvolvePlotLayout *layout)
{
  g_autoptr(GArray) legend = g_array_new (FALSE, FALSE, sizeof (ConvolvePlotLegendEntry));
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (surface);
  ConvolvePlotAxes axes;

  convolve_plot_describe_axes (self, TRUE, NULL, legend, &axes);
  convolve_plot_axes_layout (&axes, cr, width, height, layout);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* ------------------------------------------------------------ drawing */

static void
convolve_plot_draw_with_style (ConvolvePlot    *self,
                               cairo_t         *cr,
                               int              width,
                               int              height,
                               const PlotStyle *style)
{
  g_autoptr(GArray) legend = NULL;
  ConvolvePlotAxes axes;
  ConvolvePlotLayout layout;

  if (width <= 0 || height <= 0)
    return;

  cairo_save (cr);

  if (style->background)
    {
      cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
      cairo_paint (cr);
    }

  legend = g_array_new (FALSE, FALSE, sizeof (ConvolvePlotLegendEntry));
  convolve_plot_describe_axes (self, style->menu_room, &style->colors, legend, &axes);
  convolve_plot_axes_layout (&axes, cr, width, height, &layout);
  convolve_plot_axes_draw_frame (&axes, &layout, cr, &style->colors, height);

  /* series: lines end at the data area's edges (a value beyond the y
   * range runs off the edge), markers may overhang them a little */
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);
      GdkRGBA color = _convolve_plot_entry_color (series, &style->colors);

      if (series->visible)
        convolve_plot_draw_series (cr, &layout, series->points, series->flags,
                                   _convolve_plot_entry_is_smoothed (self, series), &color);
    }

  convolve_plot_axes_draw_legend (&axes, &layout, cr, &style->colors);

  if (style->hover)
    _convolve_plot_hover_draw (self, cr, &layout, &style->colors, width);

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
  gtk_style_context_get_color (context, &style->colors.foreground);
  G_GNUC_END_IGNORE_DEPRECATIONS
  luminance = 0.2126 * style->colors.foreground.red + 0.7152 * style->colors.foreground.green
              + 0.0722 * style->colors.foreground.blue;
  style->colors.dark = luminance > 0.5;  /* light text means a dark background */
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

  self->series = g_ptr_array_new_with_free_func ((GDestroyNotify) plot_entry_free);
  self->empty_text = g_strdup (_("No data yet"));
  self->y_min = 0.0;
  self->y_max = 1.0;
  self->ignore_outliers = TRUE;

  _convolve_plot_hover_init (self);

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
  ConvolvePlotEntry *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (id != NULL);

  series = convolve_plot_find_series (plot, id);
  if (series == NULL)
    {
      series = g_new0 (ConvolvePlotEntry, 1);
      series->id = g_strdup (id);
      series->visible = TRUE;
      series->palette_index = plot->next_palette_index++;
      series->points = convolve_plot_series_new ();
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
  ConvolvePlotEntry *series;

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
  ConvolvePlotEntry *series;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  series = convolve_plot_find_series (plot, id);
  g_return_if_fail (series != NULL);
  visible = !!visible;
  if (series->visible == visible)
    return;
  series->visible = visible;
  convolve_plot_data_changed (plot);
}

/* Appends points to a series, replacing its old ones with replace. */
static void
convolve_plot_put_points (ConvolvePlot *self,
                          const char   *id,
                          const double *x,
                          const double *y,
                          gsize         n,
                          gboolean      replace)
{
  ConvolvePlotEntry *series = convolve_plot_find_series (self, id);

  g_return_if_fail (series != NULL);
  if (n == 0 && !replace)
    return;
  if (replace)
    convolve_plot_series_clear (series->points);
  convolve_plot_series_append (series->points, x, y, n, self->smoothing);
  convolve_plot_data_changed (self);
}

void
convolve_plot_append_points (ConvolvePlot *plot,
                             const char   *id,
                             const double *x,
                             const double *y,
                             gsize         n)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (n == 0 || (x != NULL && y != NULL));

  convolve_plot_put_points (plot, id, x, y, n, FALSE);
}

void
convolve_plot_set_points (ConvolvePlot *plot,
                          const char   *id,
                          const double *x,
                          const double *y,
                          gsize         n)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (n == 0 || (x != NULL && y != NULL));

  convolve_plot_put_points (plot, id, x, y, n, TRUE);
}

void
convolve_plot_clear (ConvolvePlot *plot)
{
  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  for (guint i = 0; i < plot->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (plot->series, i);
      convolve_plot_series_clear (series->points);
    }
  plot->hovering = FALSE;
  convolve_plot_data_changed (plot);
}

gsize
convolve_plot_get_n_points (ConvolvePlot *plot,
                            const char   *id)
{
  ConvolvePlotEntry *series;

  g_return_val_if_fail (CONVOLVE_IS_PLOT (plot), 0);

  series = convolve_plot_find_series (plot, id);
  return series != NULL ? convolve_plot_series_get_n_points (series->points) : 0;
}

/* Sets one of the plot's texts: redraws and notifies when it changed. */
static void
convolve_plot_set_text (ConvolvePlot  *self,
                        char         **field,
                        const char    *value,
                        guint          prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  /* the accessible label is the title, else the y label */
  if (prop_id == PROP_TITLE || prop_id == PROP_Y_LABEL)
    convolve_plot_update_accessible_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
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
  convolve_plot_set_text (plot, &plot->title, title, PROP_TITLE);
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
  convolve_plot_set_text (plot, &plot->x_label, label, PROP_X_LABEL);
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
  convolve_plot_set_text (plot, &plot->y_label, label, PROP_Y_LABEL);
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
  convolve_plot_set_text (plot, &plot->empty_text, text, PROP_EMPTY_TEXT);
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
    {
      ConvolvePlotEntry *series = g_ptr_array_index (plot->series, i);
      convolve_plot_series_resmooth (series->points, smoothing);
    }
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
  ConvolvePlotLayout layout;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));
  g_return_if_fail (area != NULL);

  convolve_plot_measure_layout (plot, width, height, &layout);
  *area = layout.area;
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
  ConvolvePlotLayout layout;

  g_return_if_fail (CONVOLVE_IS_PLOT (plot));

  convolve_plot_measure_layout (plot, width, height, &layout);
  if (x_lo)
    *x_lo = layout.x_lo;
  if (x_hi)
    *x_hi = layout.x_hi;
  if (y_lo)
    *y_lo = layout.y_lo;
  if (y_hi)
    *y_hi = layout.y_hi;
}

void
_convolve_plot_draw_for_export (ConvolvePlot *self,
                                cairo_t      *cr,
                                int           width,
                                int           height)
{
  PlotStyle style = { .colors.dark = FALSE, .background = TRUE, .hover = FALSE, .menu_room = FALSE };

  gdk_rgba_parse (&style.colors.foreground, "#1e1e1e");
  convolve_plot_draw_with_style (self, cr, width, height, &style);
}
