/* convolve-model-editor.c: the layer list (kind and its arguments; add,
 * remove, move with buttons or by dragging), the summary of the layers as
 * they stand, and the same layers as spec text, each kept in step with the
 * other. Whether the layers fit is the train layer's rule
 * (convolve_check_spec); this file only shows its answer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "convolve-limits.h"
#include "convolve-model-check.h"
#include "convolve-model-editor.h"

struct _ConvolveModelEditor
{
  AdwWindow           parent_instance;

  AdwWindowTitle     *window_title;
  GtkListBox         *layer_list;
  GtkImage           *status_icon;
  GtkLabel           *status_label;
  GtkLabel           *summary_label;
  GtkEntry           *spec_entry;
  GtkLabel           *spec_error_label;

  ConvolveModelSpec  *spec;
  ConvolveShape       input;
  int                 n_classes;

  gboolean            text_parses;    /* the entry's text is the layers' */
  char               *problem;        /* why the layers cannot be used, or NULL */
  int                 bad_layer;
  GPtrArray          *rows;           /* GtkListBoxRow, one per layer */
  guint               rebuild_id;     /* idle rebuild after a row's own change */
  gboolean            updating;       /* the widgets are being set from the spec */
};

G_DEFINE_FINAL_TYPE (ConvolveModelEditor, convolve_model_editor, ADW_TYPE_WINDOW)

enum {
  APPLY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Keras's class names, as the summary shows them, in ConvolveLayerKind
 * order: the dropdown's index is the kind. */
static const char * const kind_names[] = {
  "Conv2D", "BatchNormalization", "MaxPooling2D", "Flatten", "Dense", "Dropout", "ReLU",
  "GlobalAveragePooling2D", NULL
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == CONVOLVE_N_LAYER_KINDS + 1);
/* ConvolvePadding and ConvolveActivation order: the spec's words. */
static const char * const padding_names[] = { "same", "valid", NULL };
static const char * const conv_activation_names[] = { "linear", "relu", NULL };
static const char * const dense_activation_names[] = { "linear", "relu", "softmax", NULL };

static void rebuild_rows (ConvolveModelEditor *self);

/* A new layer of kind with the arguments most models use. */
static ConvolveLayerSpec
default_layer (ConvolveLayerKind kind)
{
  ConvolveLayerSpec layer = { .kind = kind };

  switch (kind)
    {
    case CONVOLVE_LAYER_CONV2D:
      layer.units = 32;
      layer.kernel_size = 3;
      layer.padding = CONVOLVE_PADDING_SAME;
      layer.activation = CONVOLVE_ACTIVATION_RELU;
      break;
    case CONVOLVE_LAYER_MAX_POOL:
      layer.kernel_size = 2;
      break;
    case CONVOLVE_LAYER_DENSE:
      layer.units = 128;
      layer.activation = CONVOLVE_ACTIVATION_RELU;
      break;
    case CONVOLVE_LAYER_DROPOUT:
      layer.rate = 0.25f;
      break;
    case CONVOLVE_LAYER_BATCH_NORM:
    case CONVOLVE_LAYER_FLATTEN:
    case CONVOLVE_LAYER_RELU:
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
    default:
      break;
    }
  return layer;
}

/* ---- checking and showing ------------------------------------------------ */

static void
set_entry_text (ConvolveModelEditor *self)
{
  g_autofree char *text = convolve_model_spec_to_string (self->spec);

  self->updating = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->spec_entry), text);
  self->updating = FALSE;
  self->text_parses = TRUE;
  gtk_widget_set_visible (GTK_WIDGET (self->spec_error_label), FALSE);
}

static void
show_row_problem (ConvolveModelEditor *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    {
      GtkWidget *row = self->rows->pdata[i];
      GtkLabel *label = g_object_get_data (G_OBJECT (row), "error-label");
      gboolean bad = self->problem != NULL && (int) i == self->bad_layer;

      gtk_label_set_label (label, bad ? self->problem : "");
      gtk_widget_set_visible (GTK_WIDGET (label), bad);
      if (bad)
        gtk_widget_add_css_class (row, "model-editor-bad-layer");
      else
        gtk_widget_remove_css_class (row, "model-editor-bad-layer");
    }
}

/* Checks the layers and shows the answer: the summary, or the reason on
 * the layer at fault and above the summary. */
static void
update_check (ConvolveModelEditor *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  GtkWidget *status = GTK_WIDGET (self->status_label);

  g_clear_pointer (&self->problem, g_free);
  self->bad_layer = -1;

  if (!self->text_parses)
    self->problem = g_strdup (gtk_label_get_label (self->spec_error_label));
  else
    {
      summary = convolve_check_spec (self->spec, self->input, self->n_classes, &self->bad_layer, &error);
      if (summary == NULL)
        self->problem = g_strdup (error->message);
    }

  if (self->problem == NULL)
    {
      gtk_image_set_from_icon_name (self->status_icon, "emblem-ok-symbolic");
      gtk_label_set_label (self->status_label, _("The layers fit together and can be trained"));
      gtk_widget_set_tooltip_text (status, NULL);
      gtk_widget_remove_css_class (status, "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->status_icon), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->status_icon), "success");
      gtk_label_set_label (self->summary_label, summary);
      gtk_widget_remove_css_class (GTK_WIDGET (self->summary_label), "dim-label");
    }
  else
    {
      gtk_image_set_from_icon_name (self->status_icon, "dialog-error-symbolic");
      gtk_label_set_label (self->status_label, self->problem);
      gtk_widget_set_tooltip_text (status, self->problem);
      gtk_widget_add_css_class (status, "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->status_icon), "success");
      gtk_widget_add_css_class (GTK_WIDGET (self->status_icon), "error");
      gtk_label_set_label (self->summary_label,
                           _("The summary shows once the layers fit together."));
      gtk_widget_add_css_class (GTK_WIDGET (self->summary_label), "dim-label");
    }
  show_row_problem (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.use", self->problem == NULL);
}

/* After any change to the layers from the list. */
static void
layers_changed (ConvolveModelEditor *self)
{
  set_entry_text (self);
  update_check (self);
}

/* ---- one row per layer --------------------------------------------------- */

static int
row_index (GtkWidget *widget)
{
  return GPOINTER_TO_INT (g_object_get_data (G_OBJECT (widget), "layer-index"));
}

static ConvolveModelEditor *
row_editor (GtkWidget *widget)
{
  return g_object_get_data (G_OBJECT (widget), "editor");
}

static void
tag (GtkWidget           *widget,
     ConvolveModelEditor *self,
     int                  index)
{
  g_object_set_data (G_OBJECT (widget), "layer-index", GINT_TO_POINTER (index));
  g_object_set_data (G_OBJECT (widget), "editor", self);
}

static gboolean
rebuild_idle (gpointer data)
{
  ConvolveModelEditor *self = data;

  self->rebuild_id = 0;
  rebuild_rows (self);
  return G_SOURCE_REMOVE;
}

/* A row's widgets cannot be replaced from their own signal: later. */
static void
queue_rebuild (ConvolveModelEditor *self)
{
  if (self->rebuild_id == 0)
    /* Before the next frame draws the rows that are gone. */
    self->rebuild_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, rebuild_idle, self, NULL);
}

static void
kind_changed_cb (GtkDropDown *dropdown,
                 GParamSpec  *pspec,
                 gpointer     user_data)
{
  ConvolveModelEditor *self = row_editor (GTK_WIDGET (dropdown));
  int index = row_index (GTK_WIDGET (dropdown));
  guint kind = gtk_drop_down_get_selected (dropdown);

  if (self->updating || kind >= CONVOLVE_N_LAYER_KINDS || index >= self->spec->n_layers)
    return;
  self->spec->layers[index] = default_layer ((ConvolveLayerKind) kind);
  layers_changed (self);
  queue_rebuild (self);
}

/* The layer a row's field edits, or NULL while the rows are being
 * rebuilt (or the row is gone). *editor is set either way. */
static ConvolveLayerSpec *
edited_layer (GtkWidget            *field,
              ConvolveModelEditor **editor)
{
  ConvolveModelEditor *self = row_editor (field);
  int index = row_index (field);

  *editor = self;
  if (self->updating || index >= self->spec->n_layers)
    return NULL;
  return &self->spec->layers[index];
}

static void
units_changed_cb (GtkSpinButton *spin,
                  gpointer       user_data)
{
  ConvolveModelEditor *self;
  ConvolveLayerSpec *layer = edited_layer (GTK_WIDGET (spin), &self);

  if (layer == NULL)
    return;
  layer->units = gtk_spin_button_get_value_as_int (spin);
  layers_changed (self);
}

static void
kernel_changed_cb (GtkSpinButton *spin,
                   gpointer       user_data)
{
  ConvolveModelEditor *self;
  ConvolveLayerSpec *layer = edited_layer (GTK_WIDGET (spin), &self);

  if (layer == NULL)
    return;
  layer->kernel_size = gtk_spin_button_get_value_as_int (spin);
  layers_changed (self);
}

static void
rate_changed_cb (GtkSpinButton *spin,
                 gpointer       user_data)
{
  ConvolveModelEditor *self;
  ConvolveLayerSpec *layer = edited_layer (GTK_WIDGET (spin), &self);

  if (layer == NULL)
    return;
  layer->rate = (float) gtk_spin_button_get_value (spin);
  layers_changed (self);
}

/* 0.99 is Keras's default, written as plain "batchnorm". */
static void
momentum_changed_cb (GtkSpinButton *spin,
                     gpointer       user_data)
{
  ConvolveModelEditor *self;
  ConvolveLayerSpec *layer = edited_layer (GTK_WIDGET (spin), &self);
  double value = gtk_spin_button_get_value (spin);

  if (layer == NULL)
    return;
  layer->momentum = fabs (value - 0.99) < 1e-6 ? 0.0f : (float) value;
  layers_changed (self);
}

static void
padding_changed_cb (GtkDropDown *dropdown,
                    GParamSpec  *pspec,
                    gpointer     user_data)
{
  ConvolveModelEditor *self;
  ConvolveLayerSpec *layer = edited_layer (GTK_WIDGET (dropdown), &self);

  if (layer == NULL)
    return;
  layer->padding = (ConvolvePadding) gtk_drop_down_get_selected (dropdown);
  layers_changed (self);
}

static void
activation_changed_cb (GtkDropDown *dropdown,
                       GParamSpec  *pspec,
                       gpointer     user_data)
{
  ConvolveModelEditor *self;
  ConvolveLayerSpec *layer = edited_layer (GTK_WIDGET (dropdown), &self);

  if (layer == NULL)
    return;
  layer->activation = (ConvolveActivation) gtk_drop_down_get_selected (dropdown);
  layers_changed (self);
}

static void
move_up_cb (GtkButton *button,
            gpointer   user_data)
{
  convolve_model_editor_move_layer (row_editor (GTK_WIDGET (button)), row_index (GTK_WIDGET (button)), -1);
}

static void
move_down_cb (GtkButton *button,
              gpointer   user_data)
{
  convolve_model_editor_move_layer (row_editor (GTK_WIDGET (button)), row_index (GTK_WIDGET (button)), 1);
}

static void
remove_cb (GtkButton *button,
           gpointer   user_data)
{
  convolve_model_editor_remove_layer (row_editor (GTK_WIDGET (button)), row_index (GTK_WIDGET (button)));
}

/* Moves layer from to position to, the others closing up. */
static void
move_layer_to (ConvolveModelEditor *self,
               int                  from,
               int                  to)
{
  ConvolveLayerSpec moved;

  if (from < 0 || from >= self->spec->n_layers || to < 0 || to >= self->spec->n_layers || from == to)
    return;
  moved = self->spec->layers[from];
  if (from < to)
    memmove (&self->spec->layers[from], &self->spec->layers[from + 1],
             sizeof (ConvolveLayerSpec) * (gsize) (to - from));
  else
    memmove (&self->spec->layers[to + 1], &self->spec->layers[to],
             sizeof (ConvolveLayerSpec) * (gsize) (from - to));
  self->spec->layers[to] = moved;
}

/* ---- dragging a row onto another ----------------------------------------- */

static GdkContentProvider *
drag_prepare_cb (GtkDragSource *source,
                 double         x,
                 double         y,
                 gpointer       user_data)
{
  GtkWidget *handle = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));

  return gdk_content_provider_new_typed (G_TYPE_INT, row_index (handle));
}

static void
drag_begin_cb (GtkDragSource *source,
               GdkDrag       *drag,
               gpointer       user_data)
{
  GtkWidget *handle = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  GtkWidget *row = gtk_widget_get_ancestor (handle, GTK_TYPE_LIST_BOX_ROW);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (row != NULL ? row : handle);

  gtk_drag_source_set_icon (source, paintable, 24, 24);
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         gpointer       user_data)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (target));
  ConvolveModelEditor *self = row_editor (row);
  int from, to;

  if (!G_VALUE_HOLDS_INT (value))
    return FALSE;
  from = g_value_get_int (value);
  to = row_index (row);
  if (from == to || from < 0 || from >= self->spec->n_layers)
    return FALSE;
  move_layer_to (self, from, to);
  layers_changed (self);
  queue_rebuild (self);
  return TRUE;
}

/* ---- building the rows --------------------------------------------------- */

/* One argument, its name before it; the arguments wrap onto a second line
 * when the list is narrow. */
static GtkWidget *
add_labelled (GtkFlowBox *box,
              const char *title,
              GtkWidget  *widget)
{
  GtkWidget *pair = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new_with_mnemonic (title);

  gtk_label_set_mnemonic_widget (GTK_LABEL (label), widget);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (pair), label);
  gtk_widget_set_valign (widget, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (pair), widget);
  gtk_flow_box_append (box, pair);
  return widget;
}

static GtkWidget *
make_spin (ConvolveModelEditor *self,
           int                  index,
           double               lower,
           double               upper,
           double               step,
           guint                digits,
           double               value,
           GCallback            callback)
{
  GtkWidget *spin = gtk_spin_button_new_with_range (lower, upper, step);

  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  tag (spin, self, index);
  g_signal_connect (spin, "value-changed", callback, NULL);
  return spin;
}

static GtkWidget *
make_dropdown (ConvolveModelEditor *self,
               int                  index,
               const char * const  *names,
               guint                selected,
               GCallback            callback)
{
  GtkWidget *dropdown = gtk_drop_down_new_from_strings (names);

  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), selected);
  tag (dropdown, self, index);
  g_signal_connect (dropdown, "notify::selected", callback, NULL);
  return dropdown;
}

static GtkWidget *
make_icon_button (ConvolveModelEditor *self,
                  int                  index,
                  const char          *icon,
                  const char          *tooltip,
                  gboolean             sensitive,
                  GCallback            callback)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_sensitive (button, sensitive);
  tag (button, self, index);
  g_signal_connect (button, "clicked", callback, NULL);
  return button;
}

static GtkWidget *
build_row (ConvolveModelEditor *self,
           int                  index)
{
  const ConvolveLayerSpec *layer = &self->spec->layers[index];
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *handle = gtk_image_new_from_icon_name ("list-drag-handle-symbolic");
  g_autofree char *number = g_strdup_printf ("%d", index + 1);
  GtkWidget *number_label = gtk_label_new (number);
  GtkWidget *kind = make_dropdown (self, index, kind_names, (guint) layer->kind, G_CALLBACK (kind_changed_cb));
  GtkWidget *arguments = gtk_flow_box_new ();
  GtkWidget *error_label = gtk_label_new (NULL);
  GtkFlowBox *args = GTK_FLOW_BOX (arguments);
  GtkDragSource *drag = gtk_drag_source_new ();
  GtkDropTarget *drop = gtk_drop_target_new (G_TYPE_INT, GDK_ACTION_MOVE);

  tag (row, self, index);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_start (outer, 6);
  gtk_widget_set_margin_end (outer, 6);
  gtk_widget_set_margin_top (outer, 6);
  gtk_widget_set_margin_bottom (outer, 6);

  gtk_widget_set_tooltip_text (handle, _("Drag to move the layer"));
  gtk_widget_add_css_class (handle, "dim-label");
  gtk_box_append (GTK_BOX (line), handle);
  gtk_widget_add_css_class (number_label, "dim-label");
  gtk_widget_add_css_class (number_label, "numeric");
  gtk_label_set_width_chars (GTK_LABEL (number_label), 2);
  gtk_label_set_xalign (GTK_LABEL (number_label), 1.0f);
  gtk_box_append (GTK_BOX (line), number_label);
  gtk_widget_set_valign (kind, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (kind, _("Layer kind"));
  gtk_box_append (GTK_BOX (line), kind);

  self->updating = TRUE;
  switch (layer->kind)
    {
    case CONVOLVE_LAYER_CONV2D:
      add_labelled (args, _("_Filters"),
                    make_spin (self, index, 1, CONVOLVE_LIMIT_SPEC_UNITS, 1, 0, layer->units,
                               G_CALLBACK (units_changed_cb)));
      add_labelled (args, _("_Kernel"),
                    make_spin (self, index, 1, CONVOLVE_LIMIT_SPEC_KERNEL, 1, 0, layer->kernel_size,
                               G_CALLBACK (kernel_changed_cb)));
      add_labelled (args, _("_Padding"),
                    make_dropdown (self, index, padding_names, (guint) layer->padding,
                                   G_CALLBACK (padding_changed_cb)));
      add_labelled (args, _("_Activation"),
                    make_dropdown (self, index, conv_activation_names, MIN ((guint) layer->activation, 1u),
                                   G_CALLBACK (activation_changed_cb)));
      break;
    case CONVOLVE_LAYER_MAX_POOL:
      add_labelled (args, _("_Pool"),
                    make_spin (self, index, 1, CONVOLVE_LIMIT_SPEC_KERNEL, 1, 0, layer->kernel_size,
                               G_CALLBACK (kernel_changed_cb)));
      break;
    case CONVOLVE_LAYER_DENSE:
      add_labelled (args, _("_Units"),
                    make_spin (self, index, 1, CONVOLVE_LIMIT_SPEC_UNITS, 1, 0, layer->units,
                               G_CALLBACK (units_changed_cb)));
      add_labelled (args, _("_Activation"),
                    make_dropdown (self, index, dense_activation_names, (guint) layer->activation,
                                   G_CALLBACK (activation_changed_cb)));
      break;
    case CONVOLVE_LAYER_DROPOUT:
      add_labelled (args, _("_Rate"),
                    make_spin (self, index, 0.0, 0.95, 0.05, 2, layer->rate, G_CALLBACK (rate_changed_cb)));
      break;
    case CONVOLVE_LAYER_BATCH_NORM:
      add_labelled (args, _("_Momentum"),
                    make_spin (self, index, 0.01, 0.999, 0.01, 3,
                               layer->momentum > 0.0f ? layer->momentum : 0.99,
                               G_CALLBACK (momentum_changed_cb)));
      break;
    case CONVOLVE_LAYER_FLATTEN:
    case CONVOLVE_LAYER_RELU:
    case CONVOLVE_LAYER_GLOBAL_AVG_POOL:
    default:
      break;
    }
  self->updating = FALSE;
  gtk_flow_box_set_selection_mode (args, GTK_SELECTION_NONE);
  gtk_flow_box_set_column_spacing (args, 12);
  gtk_flow_box_set_row_spacing (args, 6);
  gtk_flow_box_set_min_children_per_line (args, 2);
  gtk_flow_box_set_max_children_per_line (args, 4);
  gtk_widget_set_valign (arguments, GTK_ALIGN_CENTER);
  gtk_widget_set_hexpand (arguments, TRUE);
  gtk_box_append (GTK_BOX (line), arguments);

  gtk_box_append (GTK_BOX (line),
                  make_icon_button (self, index, "go-up-symbolic", _("Move Up"), index > 0,
                                    G_CALLBACK (move_up_cb)));
  gtk_box_append (GTK_BOX (line),
                  make_icon_button (self, index, "go-down-symbolic", _("Move Down"),
                                    index + 1 < self->spec->n_layers, G_CALLBACK (move_down_cb)));
  gtk_box_append (GTK_BOX (line),
                  make_icon_button (self, index, "user-trash-symbolic", _("Remove Layer"), TRUE,
                                    G_CALLBACK (remove_cb)));
  gtk_box_append (GTK_BOX (outer), line);

  gtk_label_set_xalign (GTK_LABEL (error_label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (error_label), TRUE);
  gtk_widget_set_margin_start (error_label, 46);
  gtk_widget_add_css_class (error_label, "error");
  gtk_widget_set_visible (error_label, FALSE);
  gtk_box_append (GTK_BOX (outer), error_label);
  g_object_set_data (G_OBJECT (row), "error-label", error_label);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), outer);

  gtk_drag_source_set_actions (drag, GDK_ACTION_MOVE);
  g_signal_connect (drag, "prepare", G_CALLBACK (drag_prepare_cb), NULL);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), NULL);
  gtk_widget_add_controller (handle, GTK_EVENT_CONTROLLER (drag));
  /* The handle drags its row: the source asks the row for the index. */
  tag (handle, self, index);
  g_signal_connect (drop, "drop", G_CALLBACK (drop_cb), NULL);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (drop));
  return row;
}

static void
rebuild_rows (ConvolveModelEditor *self)
{
  g_clear_handle_id (&self->rebuild_id, g_source_remove);

  for (guint i = 0; i < self->rows->len; i++)
    gtk_list_box_remove (self->layer_list, self->rows->pdata[i]);
  g_ptr_array_set_size (self->rows, 0);

  for (int i = 0; i < self->spec->n_layers; i++)
    {
      GtkWidget *row = build_row (self, i);

      gtk_list_box_append (self->layer_list, row);
      g_ptr_array_add (self->rows, row);
    }
  show_row_problem (self);
}

/* ---- the spec text ------------------------------------------------------- */

static void
spec_entry_changed_cb (ConvolveModelEditor *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  const char *text;

  if (self->updating)
    return;
  text = gtk_editable_get_text (GTK_EDITABLE (self->spec_entry));
  spec = convolve_model_spec_parse (text, &error);
  if (spec == NULL)
    {
      self->text_parses = FALSE;
      gtk_label_set_label (self->spec_error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->spec_error_label), TRUE);
      update_check (self);
      return;
    }
  self->text_parses = TRUE;
  gtk_widget_set_visible (GTK_WIDGET (self->spec_error_label), FALSE);
  convolve_model_spec_free (self->spec);
  self->spec = g_steal_pointer (&spec);
  rebuild_rows (self);
  update_check (self);
}

/* ---- public -------------------------------------------------------------- */

char *
convolve_model_editor_dup_spec_text (ConvolveModelEditor *self)
{
  g_return_val_if_fail (CONVOLVE_IS_MODEL_EDITOR (self), NULL);

  return convolve_model_spec_to_string (self->spec);
}

gboolean
convolve_model_editor_set_spec_text (ConvolveModelEditor  *self,
                                     const char           *text,
                                     GError              **error)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;

  g_return_val_if_fail (CONVOLVE_IS_MODEL_EDITOR (self), FALSE);

  if (text == NULL || text[0] == '\0')
    spec = convolve_model_spec_new_tutorial (self->n_classes >= 2 ? self->n_classes : 10);
  else
    spec = convolve_model_spec_parse (text, error);
  if (spec == NULL)
    {
      /* The text stays in the entry, with its error below it. */
      gtk_editable_set_text (GTK_EDITABLE (self->spec_entry), text);
      return FALSE;
    }
  convolve_model_spec_free (self->spec);
  self->spec = g_steal_pointer (&spec);
  rebuild_rows (self);
  layers_changed (self);
  return TRUE;
}

gboolean
convolve_model_editor_is_valid (ConvolveModelEditor *self)
{
  g_return_val_if_fail (CONVOLVE_IS_MODEL_EDITOR (self), FALSE);

  return self->problem == NULL;
}

const char *
convolve_model_editor_get_problem (ConvolveModelEditor *self,
                                   int                 *bad_layer)
{
  g_return_val_if_fail (CONVOLVE_IS_MODEL_EDITOR (self), NULL);

  if (bad_layer != NULL)
    *bad_layer = self->bad_layer;
  return self->problem;
}

int
convolve_model_editor_get_n_layers (ConvolveModelEditor *self)
{
  g_return_val_if_fail (CONVOLVE_IS_MODEL_EDITOR (self), 0);

  return self->spec->n_layers;
}

void
convolve_model_editor_add_layer (ConvolveModelEditor *self,
                                 ConvolveLayerKind    kind)
{
  ConvolveModelSpec *spec;
  int at;

  g_return_if_fail (CONVOLVE_IS_MODEL_EDITOR (self));
  g_return_if_fail (kind < CONVOLVE_N_LAYER_KINDS);

  spec = self->spec;
  if (spec->n_layers >= CONVOLVE_LIMIT_SPEC_LAYERS)
    return;
  /* Before the output layer, where new layers belong. */
  at = spec->n_layers > 0 && spec->layers[spec->n_layers - 1].kind == CONVOLVE_LAYER_DENSE
       ? spec->n_layers - 1 : spec->n_layers;
  spec->layers = g_renew (ConvolveLayerSpec, spec->layers, spec->n_layers + 1);
  memmove (&spec->layers[at + 1], &spec->layers[at], sizeof (ConvolveLayerSpec) * (gsize) (spec->n_layers - at));
  spec->layers[at] = default_layer (kind);
  spec->n_layers++;
  layers_changed (self);
  rebuild_rows (self);
}

void
convolve_model_editor_remove_layer (ConvolveModelEditor *self,
                                    int                  index)
{
  ConvolveModelSpec *spec;

  g_return_if_fail (CONVOLVE_IS_MODEL_EDITOR (self));

  spec = self->spec;
  if (index < 0 || index >= spec->n_layers)
    return;
  memmove (&spec->layers[index], &spec->layers[index + 1],
           sizeof (ConvolveLayerSpec) * (gsize) (spec->n_layers - index - 1));
  spec->n_layers--;
  layers_changed (self);
  queue_rebuild (self);
}

void
convolve_model_editor_move_layer (ConvolveModelEditor *self,
                                  int                  index,
                                  int                  delta)
{
  g_return_if_fail (CONVOLVE_IS_MODEL_EDITOR (self));

  if (index < 0 || index >= self->spec->n_layers)
    return;
  move_layer_to (self, index, CLAMP (index + delta, 0, self->spec->n_layers - 1));
  layers_changed (self);
  queue_rebuild (self);
}

/* ---- actions ------------------------------------------------------------- */

static void
add_layer_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  ConvolveModelEditor *self = CONVOLVE_MODEL_EDITOR (widget);
  g_autoptr(ConvolveModelSpec) parsed = convolve_model_spec_parse (g_variant_get_string (parameter, NULL), NULL);

  /* The menu's targets are layer names in the spec's own words. */
  if (parsed != NULL && parsed->n_layers == 1)
    convolve_model_editor_add_layer (self, parsed->layers[0].kind);
}

static void
use_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  ConvolveModelEditor *self = CONVOLVE_MODEL_EDITOR (widget);
  g_autofree char *text = NULL;

  if (self->problem != NULL)
    return;
  text = convolve_model_spec_to_string (self->spec);
  g_signal_emit (self, signals[APPLY], 0, text);
  gtk_window_close (GTK_WINDOW (self));
}

/* ---- GObject ------------------------------------------------------------- */

ConvolveModelEditor *
convolve_model_editor_new (const char    *spec_text,
                           ConvolveShape  input,
                           int            n_classes)
{
  ConvolveModelEditor *self = g_object_new (CONVOLVE_TYPE_MODEL_EDITOR, NULL);
  g_autofree char *subtitle = NULL;

  self->input = input;
  self->n_classes = MAX (n_classes, 0);
  if (self->n_classes > 0)
    /* Translators: the model editor's subtitle: input (height × width × channels) and classes */
    subtitle = g_strdup_printf (ngettext ("%d×%d×%d input, %d class", "%d×%d×%d input, %d classes",
                                          self->n_classes),
                                input.h, input.w, input.c, self->n_classes);
  else
    /* Translators: the model editor's subtitle: the input (height × width × channels) */
    subtitle = g_strdup_printf (_("%d×%d×%d input"), input.h, input.w, input.c);
  adw_window_title_set_subtitle (self->window_title, subtitle);

  /* A spec that does not parse shows with its error, and no layers. */
  convolve_model_editor_set_spec_text (self, spec_text, NULL);
  return self;
}

static void
convolve_model_editor_dispose (GObject *object)
{
  ConvolveModelEditor *self = CONVOLVE_MODEL_EDITOR (object);

  g_clear_handle_id (&self->rebuild_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_MODEL_EDITOR);

  G_OBJECT_CLASS (convolve_model_editor_parent_class)->dispose (object);
}

static void
convolve_model_editor_finalize (GObject *object)
{
  ConvolveModelEditor *self = CONVOLVE_MODEL_EDITOR (object);

  convolve_model_spec_free (self->spec);
  g_free (self->problem);
  g_ptr_array_unref (self->rows);

  G_OBJECT_CLASS (convolve_model_editor_parent_class)->finalize (object);
}

static void
convolve_model_editor_class_init (ConvolveModelEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_model_editor_dispose;
  object_class->finalize = convolve_model_editor_finalize;

  /* The layers were accepted; the string is their spec text. */
  signals[APPLY] = g_signal_new ("apply", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-model-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, layer_list);
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, status_icon);
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, status_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, summary_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, spec_entry);
  gtk_widget_class_bind_template_child (widget_class, ConvolveModelEditor, spec_error_label);

  gtk_widget_class_install_action (widget_class, "editor.add-layer", "s", add_layer_action);
  gtk_widget_class_install_action (widget_class, "editor.use", NULL, use_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
convolve_model_editor_init (ConvolveModelEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->spec = g_new0 (ConvolveModelSpec, 1);
  self->rows = g_ptr_array_new ();
  self->bad_layer = -1;
  self->text_parses = TRUE;
  g_signal_connect_swapped (self->spec_entry, "changed", G_CALLBACK (spec_entry_changed_cb), self);
}
