/* convolve-confusion-view.c: the confusion matrix widget.
 *
 * Keys are bindings to the widget's actions (confusion.move,
 * confusion.activate-focused), clicks go through confusion.activate-cell:
 * one path for keyboard, pointer and tests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-confusion-view.h"
#include "convolve-confusion-render.h"
#include "convolve-metrics.h"

struct _ConvolveConfusionView
{
  GtkWidget                parent_instance;

  ConvolveEvaluation      *evaluation;
  char                   **class_names;
  ConvolveConfusionLayout  layout;
  int                      focus_true, focus_predicted;
  int                      hover_true, hover_predicted;
  int                      pressed_true, pressed_predicted;
  char                    *readout;
};

G_DEFINE_FINAL_TYPE (ConvolveConfusionView, convolve_confusion_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_READOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  CELL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static int
n_classes (ConvolveConfusionView *self)
{
  return self->evaluation != NULL ? self->evaluation->n_classes : 0;
}

/* Text is measured on a scratch surface: hit-testing needs the layout
 * before (and between) frames. */
static void
update_layout (ConvolveConfusionView *self)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (surface);

  convolve_confusion_layout_compute (&self->layout, cr,
                                     gtk_widget_get_width (GTK_WIDGET (self)),
                                     gtk_widget_get_height (GTK_WIDGET (self)),
                                     n_classes (self), (const char * const *) self->class_names);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static char *
describe_cell (ConvolveConfusionView *self,
               int                    t,
               int                    p)
{
  g_autofree char *truth = convolve_metrics_class_name ((const char * const *) self->class_names, t);
  g_autofree char *guess = convolve_metrics_class_name ((const char * const *) self->class_names, p);
  guint count = convolve_evaluation_get_confusion (self->evaluation, t, p);
  double share = 100.0 * convolve_confusion_row_fraction (self->evaluation, t, p);

  /* Translators: a confusion matrix cell: true class → predicted class:
   * images, and their share of all the images of the true class */
  return g_strdup_printf (_("%s → %s: %u (%.1f %% of the %s images)"), truth, guess, count, share, truth);
}

static void
update_readout (ConvolveConfusionView *self)
{
  g_autofree char *text = NULL;

  if (self->evaluation != NULL && self->hover_true >= 0)
    text = describe_cell (self, self->hover_true, self->hover_predicted);
  else if (self->evaluation != NULL && gtk_widget_has_focus (GTK_WIDGET (self)))
    text = describe_cell (self, self->focus_true, self->focus_predicted);
  else
    text = g_strdup ("");

  if (g_strcmp0 (text, self->readout) == 0)
    return;
  g_free (self->readout);
  self->readout = g_steal_pointer (&text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  self->readout, -1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READOUT]);
}

static void
changed (ConvolveConfusionView *self)
{
  update_readout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
activate_cell (ConvolveConfusionView *self,
               int                    t,
               int                    p)
{
  int n = n_classes (self);

  if (t < 0 || p < 0 || t >= n || p >= n)
    return;
  convolve_confusion_view_set_focus_cell (self, t, p);
  g_signal_emit (self, signals[CELL_ACTIVATED], 0, t, p);
}

/* ---- actions --------------------------------------------------------------- */

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  ConvolveConfusionView *self = CONVOLVE_CONFUSION_VIEW (widget);
  int dx, dy, n = n_classes (self);

  if (n == 0)
    return;
  g_variant_get (parameter, "(ii)", &dx, &dy);
  /* The hovered cell no longer speaks for the keyboard's. */
  self->hover_true = self->hover_predicted = -1;
  convolve_confusion_view_set_focus_cell (self, CLAMP (self->focus_true + dy, 0, n - 1),
                                          CLAMP (self->focus_predicted + dx, 0, n - 1));
}

static void
activate_focused_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  ConvolveConfusionView *self = CONVOLVE_CONFUSION_VIEW (widget);

  activate_cell (self, self->focus_true, self->focus_predicted);
}

static void
activate_cell_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  int t, p;

  g_variant_get (parameter, "(ii)", &t, &p);
  activate_cell (CONVOLVE_CONFUSION_VIEW (widget), t, p);
}

/* ---- events ---------------------------------------------------------------- */

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           ConvolveConfusionView    *self)
{
  int t = -1, p = -1;

  if (!convolve_confusion_layout_cell_at (&self->layout, x, y, &t, &p))
    t = p = -1;
  if (t == self->hover_true && p == self->hover_predicted)
    return;
  self->hover_true = t;
  self->hover_predicted = p;
  changed (self);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          ConvolveConfusionView    *self)
{
  self->hover_true = self->hover_predicted = -1;
  changed (self);
}

static void
pressed_cb (GtkGestureClick       *gesture,
            int                    n_press,
            double                 x,
            double                 y,
            ConvolveConfusionView *self)
{
  if (!convolve_confusion_layout_cell_at (&self->layout, x, y, &self->pressed_true, &self->pressed_predicted))
    self->pressed_true = self->pressed_predicted = -1;
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
released_cb (GtkGestureClick       *gesture,
             int                    n_press,
             double                 x,
             double                 y,
             ConvolveConfusionView *self)
{
  int t, p;

  /* Activated when pressed and released on the same cell. */
  if (convolve_confusion_layout_cell_at (&self->layout, x, y, &t, &p) &&
      t == self->pressed_true && p == self->pressed_predicted)
    gtk_widget_activate_action (GTK_WIDGET (self), "confusion.activate-cell", "(ii)", t, p);
  self->pressed_true = self->pressed_predicted = -1;
}

static void
focus_changed_cb (GtkEventControllerFocus *controller,
                  ConvolveConfusionView   *self)
{
  changed (self);
}

/* ---- GtkWidget ------------------------------------------------------------- */

static void
convolve_confusion_view_measure (GtkWidget      *widget,
                                 GtkOrientation  orientation,
                                 int             for_size,
                                 int            *minimum,
                                 int            *natural,
                                 int            *minimum_baseline,
                                 int            *natural_baseline)
{
  *minimum = 240;
  *natural = 520;
}

static void
convolve_confusion_view_size_allocate (GtkWidget *widget,
                                       int        width,
                                       int        height,
                                       int        baseline)
{
  update_layout (CONVOLVE_CONFUSION_VIEW (widget));
}

static void
convolve_confusion_view_snapshot (GtkWidget   *widget,
                                  GtkSnapshot *snapshot)
{
  ConvolveConfusionView *self = CONVOLVE_CONFUSION_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  ConvolveConfusionStyle style;
  GdkRGBA color;
  cairo_t *cr;

  if (self->evaluation == NULL || width <= 0 || height <= 0)
    return;

  /* GTK 4.8 has no gtk_widget_get_color (); the style context is the way. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  convolve_confusion_style_init (&style);
  style.foreground = (ConvolveReportColor) { color.red, color.green, color.blue, color.alpha };
  style.background.alpha = 0.0;
  style.hover_true = self->hover_true;
  style.hover_predicted = self->hover_predicted;
  if (gtk_widget_has_focus (widget))
    {
      style.focus_true = self->focus_true;
      style.focus_predicted = self->focus_predicted;
    }

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  convolve_confusion_draw (cr, &self->layout, self->evaluation,
                           (const char * const *) self->class_names, &style);
  cairo_destroy (cr);
}

static void
convolve_confusion_view_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  ConvolveConfusionView *self = CONVOLVE_CONFUSION_VIEW (object);

  switch (prop_id)
    {
    case PROP_READOUT:
      g_value_set_string (value, self->readout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_confusion_view_finalize (GObject *object)
{
  ConvolveConfusionView *self = CONVOLVE_CONFUSION_VIEW (object);

  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_free (self->readout);
  G_OBJECT_CLASS (convolve_confusion_view_parent_class)->finalize (object);
}

static void
add_move_binding (GtkWidgetClass *widget_class,
                  guint           key,
                  guint           keypad_key,
                  int             dx,
                  int             dy)
{
  gtk_widget_class_add_binding_action (widget_class, key, 0, "confusion.move", "(ii)", dx, dy);
  gtk_widget_class_add_binding_action (widget_class, keypad_key, 0, "confusion.move", "(ii)", dx, dy);
}

static void
convolve_confusion_view_class_init (ConvolveConfusionViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = convolve_confusion_view_get_property;
  object_class->finalize = convolve_confusion_view_finalize;
  widget_class->measure = convolve_confusion_view_measure;
  widget_class->size_allocate = convolve_confusion_view_size_allocate;
  widget_class->snapshot = convolve_confusion_view_snapshot;

  properties[PROP_READOUT] =
    g_param_spec_string ("readout", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ConvolveConfusionView::cell-activated:
   * @true_class: the cell's row
   * @predicted_class: the cell's column
   */
  signals[CELL_ACTIVATED] =
    g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "confusion.move", "(ii)", move_action);
  gtk_widget_class_install_action (widget_class, "confusion.activate-focused", NULL, activate_focused_action);
  gtk_widget_class_install_action (widget_class, "confusion.activate-cell", "(ii)", activate_cell_action);
  add_move_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, -1, 0);
  add_move_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, 1, 0);
  add_move_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, 0, -1);
  add_move_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, 0, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "confusion.activate-focused", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0, "confusion.activate-focused", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "confusion.activate-focused", NULL);

  gtk_widget_class_set_css_name (widget_class, "confusion-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
convolve_confusion_view_init (ConvolveConfusionView *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkEventController *focus = gtk_event_controller_focus_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  self->hover_true = self->hover_predicted = -1;
  self->pressed_true = self->pressed_predicted = -1;
  self->readout = g_strdup ("");
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), TRUE);

  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), self);
  g_signal_connect (click, "released", G_CALLBACK (released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (focus, "enter", G_CALLBACK (focus_changed_cb), self);
  g_signal_connect (focus, "leave", G_CALLBACK (focus_changed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), focus);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Confusion matrix"), -1);
}

GtkWidget *
convolve_confusion_view_new (void)
{
  return g_object_new (CONVOLVE_TYPE_CONFUSION_VIEW, NULL);
}

void
convolve_confusion_view_set_evaluation (ConvolveConfusionView    *self,
                                        const ConvolveEvaluation *evaluation,
                                        const char * const       *class_names)
{
  int old_n;

  g_return_if_fail (CONVOLVE_IS_CONFUSION_VIEW (self));

  old_n = n_classes (self);
  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  if (evaluation != NULL && evaluation->n_classes > 0)
    {
      self->evaluation = convolve_evaluation_copy (evaluation);
      self->class_names = g_strdupv ((char **) class_names);
    }
  if (n_classes (self) != old_n)
    {
      self->focus_true = self->focus_predicted = 0;
      self->hover_true = self->hover_predicted = -1;
    }
  update_layout (self);
  changed (self);
}

gboolean
convolve_confusion_view_get_focus_cell (ConvolveConfusionView *self,
                                        int                   *true_class,
                                        int                   *predicted_class)
{
  g_return_val_if_fail (CONVOLVE_IS_CONFUSION_VIEW (self), FALSE);

  if (self->evaluation == NULL)
    return FALSE;
  if (true_class != NULL)
    *true_class = self->focus_true;
  if (predicted_class != NULL)
    *predicted_class = self->focus_predicted;
  return TRUE;
}

void
convolve_confusion_view_set_focus_cell (ConvolveConfusionView *self,
                                        int                    true_class,
                                        int                    predicted_class)
{
  int n;

  g_return_if_fail (CONVOLVE_IS_CONFUSION_VIEW (self));

  n = n_classes (self);
  if (n == 0)
    return;
  self->focus_true = CLAMP (true_class, 0, n - 1);
  self->focus_predicted = CLAMP (predicted_class, 0, n - 1);
  changed (self);
}

gboolean
convolve_confusion_view_get_cell_at (ConvolveConfusionView *self,
                                     double                 x,
                                     double                 y,
                                     int                   *true_class,
                                     int                   *predicted_class)
{
  g_return_val_if_fail (CONVOLVE_IS_CONFUSION_VIEW (self), FALSE);

  return self->evaluation != NULL &&
         convolve_confusion_layout_cell_at (&self->layout, x, y, true_class, predicted_class);
}

const char *
convolve_confusion_view_get_readout (ConvolveConfusionView *self)
{
  g_return_val_if_fail (CONVOLVE_IS_CONFUSION_VIEW (self), NULL);

  return self->readout;
}
