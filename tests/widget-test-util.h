/* widget-test-util.h: waiting for a widget to be on screen, and the pixels
 * it draws, for the app tests that look at what a widget shows.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

/* A widget is ready to be looked at once it is mapped, has a size, and its
 * frame clock has ticked twice since (a layout and a paint). On a loaded
 * machine that can take seconds: waiting for the events, not for a fixed
 * time, is what keeps such tests from failing there. */
static inline gboolean
widget_test_count_tick (GtkWidget     *widget,
                        GdkFrameClock *clock,
                        gpointer       data)
{
  guint *ticks = data;

  (void) widget;
  (void) clock;
  ++*ticks;
  return G_SOURCE_CONTINUE;
}

static inline void
widget_test_wait_for_layout (GtkWidget *widget)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint ticks = 0;
  guint tick_id;

  while (!(gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0
           && gtk_widget_get_height (widget) > 0)
         && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_widget_get_mapped (widget));
  g_assert_cmpint (gtk_widget_get_width (widget), >, 0);
  g_assert_cmpint (gtk_widget_get_height (widget), >, 0);

  tick_id = gtk_widget_add_tick_callback (widget, widget_test_count_tick, &ticks, NULL);
  while (ticks < 2 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (widget, tick_id);
  /* and whatever idle work that frame queued */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (ticks, >=, 2);
}

/* The widget's render nodes as it draws itself now, at its size. */
static inline GskRenderNode *
widget_test_snapshot (GtkWidget *widget)
{
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderNode *node;

  gdk_paintable_snapshot (paintable, snapshot,
                          gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  node = gtk_snapshot_free_to_node (snapshot);
  g_object_unref (paintable);
  g_assert_nonnull (node);
  return node;
}

/* ... rendered into a texture by the widget's own renderer. */
static inline GdkTexture *
widget_test_render_texture (GtkWidget *widget)
{
  GskRenderNode *node = widget_test_snapshot (widget);
  GdkTexture *texture;

  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node,
                                         &GRAPHENE_RECT_INIT (0, 0,
                                                              gtk_widget_get_width (widget),
                                                              gtk_widget_get_height (widget)));
  gsk_render_node_unref (node);
  return texture;
}
