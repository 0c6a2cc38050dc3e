/* convolve-activations-window.c: the activations view in a window of its
 * own, so the main window's layout keeps its room; it closes to hidden and
 * is shown again from the predictor.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-activations-view.h"
#include "convolve-activations-window.h"

struct _ConvolveActivationsWindow
{
  AdwWindow     parent_instance;

  /* template */
  AdwWindowTitle *title;
  GtkWidget      *stack;
  GtkWidget      *view;
};

G_DEFINE_FINAL_TYPE (ConvolveActivationsWindow, convolve_activations_window, ADW_TYPE_WINDOW)

static void
convolve_activations_window_class_init (ConvolveActivationsWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  g_type_ensure (CONVOLVE_TYPE_ACTIVATIONS_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-activations-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveActivationsWindow, title);
  gtk_widget_class_bind_template_child (widget_class, ConvolveActivationsWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveActivationsWindow, view);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
convolve_activations_window_init (ConvolveActivationsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
convolve_activations_window_new (void)
{
  return g_object_new (CONVOLVE_TYPE_ACTIVATIONS_WINDOW, NULL);
}

void
convolve_activations_window_update (ConvolveActivationsWindow *window,
                                    const ConvolveModel       *model,
                                    const char                *image_name)
{
  g_return_if_fail (CONVOLVE_IS_ACTIVATIONS_WINDOW (window));

  convolve_activations_view_set_model (CONVOLVE_ACTIVATIONS_VIEW (window->view), model);
  adw_window_title_set_subtitle (window->title, model != NULL && image_name != NULL ? image_name : "");
  gtk_stack_set_visible_child_name (GTK_STACK (window->stack),
                                    convolve_activations_view_is_empty (CONVOLVE_ACTIVATIONS_VIEW (window->view))
                                    ? "empty" : "layers");
}

GtkWidget *
convolve_activations_window_get_view (ConvolveActivationsWindow *window)
{
  g_return_val_if_fail (CONVOLVE_IS_ACTIVATIONS_WINDOW (window), NULL);
  return window->view;
}
