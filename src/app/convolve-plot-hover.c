/* convolve-plot-hover.c: the plot's hover readout: a guide at the
 * pointer (or moved with Left and Right, hidden with Escape), snapped to
 * the nearest point, with a box of the values there.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-plot-private.h"

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

void
_convolve_plot_hover_init (ConvolvePlot *self)
{
  GtkEventController *controller;

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

void
_convolve_plot_hover_draw (ConvolvePlot             *self,
                           cairo_t                  *cr,
                           const ConvolvePlotLayout *layout,
                           const ConvolvePlotStyle  *style,
                           int                       width)
{
  g_autoptr(PangoLayout) text_layout = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) colors = g_array_new (FALSE, FALSE, sizeof (GdkRGBA));
  double hx, data_x, box_width = 0.0, box_height = 0.0, line_height = 0.0, bx, by;
  g_autofree char *x_text = NULL;

  if (!self->hovering || layout->empty)
    return;
  text_layout = convolve_plot_text_layout_new (cr, _convolve_plot_get_font (self), 0.85, FALSE);
  hx = CLAMP (self->hover_x, layout->area.x, layout->area.x + layout->area.width);
  data_x = layout->x_lo + (hx - layout->area.x) / layout->area.width * (layout->x_hi - layout->x_lo);

  /* snap the guide to the nearest point of the first series that has one */
  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);
      gssize nearest;

      if (!series->visible || (nearest = convolve_plot_series_nearest (series->points, data_x)) < 0)
        continue;
      data_x = convolve_plot_series_get_x (series->points)[nearest];
      hx = convolve_plot_layout_x_to_pixel (layout, data_x);
      break;
    }

  convolve_plot_set_foreground (cr, style, 0.45);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, round (hx) + 0.5, layout->area.y);
  cairo_line_to (cr, round (hx) + 0.5, layout->area.y + layout->area.height);
  cairo_stroke (cr);

  x_text = _convolve_plot_format_value (data_x);
  if (self->x_label != NULL && self->x_label[0] != '\0')
    g_ptr_array_add (lines, g_strdup_printf ("%s %s", self->x_label, x_text));
  else
    g_ptr_array_add (lines, g_steal_pointer (&x_text));
  g_array_append_val (colors, style->foreground);

  for (guint i = 0; i < self->series->len; i++)
    {
      ConvolvePlotEntry *series = g_ptr_array_index (self->series, i);
      gboolean smoothed = _convolve_plot_entry_is_smoothed (self, series);
      GdkRGBA color = _convolve_plot_entry_color (series, style);
      g_autofree char *value = NULL;
      double px, py, y;
      gssize nearest;

      if (!series->visible || (nearest = convolve_plot_series_nearest (series->points, data_x)) < 0)
        continue;

      y = convolve_plot_series_get_y (series->points, smoothed)[nearest];
      px = convolve_plot_layout_x_to_pixel (layout, convolve_plot_series_get_x (series->points)[nearest]);
      py = convolve_plot_layout_y_to_pixel (layout, y);
      /* a value beyond the y range is in the readout only */
      if (isfinite (py) && py >= layout->area.y - 1.0 && py <= layout->area.y + layout->area.height + 1.0)
        {
          gdk_cairo_set_source_rgba (cr, &color);
          cairo_arc (cr, px, py, CONVOLVE_PLOT_MARKER_RADIUS + 1.0, 0, 2 * G_PI);
          cairo_fill (cr);
        }

      value = _convolve_plot_format_value (y);
      if (smoothed)
        {
          g_autofree char *raw = _convolve_plot_format_value (convolve_plot_series_get_y (series->points, FALSE)[nearest]);
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
      convolve_plot_text_size (text_layout, g_ptr_array_index (lines, i), &w, &h);
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
  convolve_plot_set_foreground (cr, style, 0.25);
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
      convolve_plot_set_foreground (cr, style, 1.0);
      convolve_plot_draw_text (cr, text_layout, g_ptr_array_index (lines, i), bx + 6.0 + (i > 0 ? 14.0 : 0.0), ty, 0.0, 0.0);
    }
}
