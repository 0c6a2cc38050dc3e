/* convolve-training-panel.c: the settings of a run (bound to GSettings),
 * Train / Pause / Resume / Stop (window actions), and the run's progress
 * as the trainer's snapshots describe it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "convolve-model-editor.h"
#include "convolve-training-panel.h"

struct _ConvolveTrainingPanel
{
  GtkWidget        parent_instance;

  GSettings       *settings;

  GtkWidget       *box;
  AdwActionRow    *model_row;
  GtkMenuButton   *summary_button;
  GtkLabel        *summary_label;
  AdwComboRow     *preset_row;
  AdwActionRow    *edit_row;
  AdwPreferencesGroup *settings_group;
  /* Early stopping: its own group, insensitive with the settings. */
  AdwPreferencesGroup *early_stopping_group;
  GtkAdjustment       *patience_adjustment;
  AdwComboRow         *monitor_row;
  GtkSwitch           *restore_best_switch;
  GtkAdjustment   *epochs_adjustment;
  GtkAdjustment   *augment_adjustment;
  GtkAdjustment   *batch_adjustment;
  GtkAdjustment   *rate_adjustment;
  GtkAdjustment   *seed_adjustment;
  GtkStack        *controls_stack;
  GtkInscription  *state_label;
  GtkInscription  *percent_label;
  GtkProgressBar  *progress_bar;
  GtkInscription  *epoch_label;
  GtkInscription  *step_label;
  GtkInscription  *speed_label;
  GtkInscription  *eta_label;
  GtkInscription  *loss_label;
  GtkInscription  *accuracy_label;
  GtkStack        *stats_stack;
  GtkLabel        *result_title_label;
  GtkLabel        *result_label;
  GtkLabel        *result_detail_label;

  /* the current model, for the preset row and the editor */
  char            *model_spec_text;
  ConvolveShape    model_input;
  int              model_classes;
  gboolean         setting_preset;   /* the row follows the model: no new model */
};

G_DEFINE_FINAL_TYPE (ConvolveTrainingPanel, convolve_training_panel, GTK_TYPE_WIDGET)

GtkWidget *
convolve_training_panel_new (void)
{
  return g_object_new (CONVOLVE_TYPE_TRAINING_PANEL, NULL);
}

char *
convolve_format_count (guint64 count)
{
  const char *separator = localeconv ()->thousands_sep;
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, count);
  GString *text = g_string_new (NULL);
  gsize n = strlen (digits);

  /* The C locale groups nothing; Keras-style commas read better there. */
  if (separator == NULL || separator[0] == '\0')
    separator = ",";
  for (gsize i = 0; i < n; i++)
    {
      if (i > 0 && (n - i) % 3 == 0)
        g_string_append (text, separator);
      g_string_append_c (text, digits[i]);
    }
  return g_string_free (text, FALSE);
}

const char *
convolve_format_dataset_name (const char *name)
{
  if (g_strcmp0 (name, "cifar10") == 0)
    return _("CIFAR-10");
  if (g_strcmp0 (name, "fashion-mnist") == 0)
    return _("Fashion-MNIST");
  if (g_strcmp0 (name, "mnist") == 0)
    return _("MNIST");
  return name;
}

char *
convolve_format_duration (double seconds)
{
  gint64 s;

  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("–");

  s = (gint64) llround (seconds);
  if (s >= 3600)
    /* Translators: hours and minutes, e.g. "1 h 05 min" */
    return g_strdup_printf (_("%d h %02d min"), (int) (s / 3600), (int) (s % 3600 / 60));
  if (s >= 60)
    /* Translators: minutes and seconds, e.g. "2 min 05 s" */
    return g_strdup_printf (_("%d min %02d s"), (int) (s / 60), (int) (s % 60));
  /* Translators: seconds, e.g. "45 s" */
  return g_strdup_printf (_("%d s"), (int) s);
}

void
convolve_training_panel_get_config (ConvolveTrainingPanel *self,
                                    ConvolveTrainConfig   *config)
{
  g_return_if_fail (CONVOLVE_IS_TRAINING_PANEL (self));
  g_return_if_fail (config != NULL);

  config->epochs = (int) gtk_adjustment_get_value (self->epochs_adjustment);
  config->augment_epochs = (int) gtk_adjustment_get_value (self->augment_adjustment);
  config->batch_size = (int) gtk_adjustment_get_value (self->batch_adjustment);
  config->learning_rate = (float) gtk_adjustment_get_value (self->rate_adjustment);
  config->seed = (guint64) gtk_adjustment_get_value (self->seed_adjustment);
  config->early_stopping_patience = (int) gtk_adjustment_get_value (self->patience_adjustment);
  config->early_stopping_monitor = adw_combo_row_get_selected (self->monitor_row) == 1
                                   ? CONVOLVE_MONITOR_VAL_ACCURACY : CONVOLVE_MONITOR_VAL_LOSS;
  config->restore_best_weights = gtk_switch_get_active (self->restore_best_switch);
  config->restore_best_at_end = config->restore_best_weights;
}

void
convolve_training_panel_set_learning_rate (ConvolveTrainingPanel *self,
                                           double                 rate)
{
  g_return_if_fail (CONVOLVE_IS_TRAINING_PANEL (self));
  g_return_if_fail (isfinite (rate) && rate > 0);

  gtk_adjustment_set_value (self->rate_adjustment, rate);
}

static const char *
state_to_text (ConvolveTrainerState state)
{
  switch (state)
    {
    case CONVOLVE_TRAINER_IDLE:      return _("Ready to train");
    case CONVOLVE_TRAINER_RUNNING:   return _("Training…");
    case CONVOLVE_TRAINER_PAUSED:    return _("Paused");
    case CONVOLVE_TRAINER_STOPPING:  return _("Stopping…");
    case CONVOLVE_TRAINER_FINISHED:  return _("Finished");
    case CONVOLVE_TRAINER_FAILED:    return _("Training failed");
    case CONVOLVE_TRAINER_CANCELLED: return _("Stopped");
    default:                         return "";
    }
}

/* The live figures are GtkInscriptions: they are given their room once, so
 * a new text only redraws them. A GtkLabel asks for a new size with every
 * text, and on X11 that re-sizes the whole window, with round trips to the
 * display server, a few times a second while training. The result of a run
 * is shown once, in labels. */
static void
set_text_printf (gpointer    widget,
                 const char *format,
                 ...) G_GNUC_PRINTF (2, 3);

static void
set_text_printf (gpointer    widget,
                 const char *format,
                 ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (GTK_IS_INSCRIPTION (widget))
    gtk_inscription_set_text (widget, text);
  else
    gtk_label_set_label (GTK_LABEL (widget), text);
}

/* ---- presets and the model editor ---------------------------------------- */

static void
set_model_rows_sensitive (ConvolveTrainingPanel *self,
                          gboolean               idle)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->preset_row), idle);
  gtk_widget_set_sensitive (GTK_WIDGET (self->edit_row), idle);
}

/* New layers for the next models, and a model with them now (the window's
 * "new-model" makes it from the "model-spec" setting). */
static void
use_spec_text (ConvolveTrainingPanel *self,
               const char            *spec_text)
{
  g_settings_set_string (self->settings, "model-spec", spec_text);
  gtk_widget_activate_action (GTK_WIDGET (self), "win.new-model", NULL);
}

/* The row shows the model's preset, or "Custom" (the last item). */
static void
show_preset (ConvolveTrainingPanel    *self,
             const ConvolveModelSpec  *spec)
{
  const ConvolveModelPreset *presets, *match = spec != NULL ? convolve_model_preset_match (spec) : NULL;
  guint n = 0, selected;

  presets = convolve_model_preset_get_all (&n);
  selected = match != NULL ? (guint) (match - presets) : n;
  self->setting_preset = TRUE;
  adw_combo_row_set_selected (self->preset_row, selected);
  /* A tooltip, not a subtitle: the narrow row keeps the choice readable. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->preset_row),
                               match != NULL ? _(match->description) : _("Layers of your own"));
  self->setting_preset = FALSE;
}

static void
editor_apply_cb (ConvolveModelEditor   *editor,
                 const char            *spec_text,
                 ConvolveTrainingPanel *self)
{
  use_spec_text (self, spec_text);
}

/* "close-request": the row goes back to what the model is, whether or not
 * the editor changed it; the window closes (FALSE). */
static gboolean
editor_closed_cb (ConvolveTrainingPanel *self)
{
  g_autoptr(ConvolveModelSpec) spec = NULL;

  if (self->model_spec_text != NULL)
    spec = convolve_model_spec_parse (self->model_spec_text, NULL);
  show_preset (self, spec);
  return FALSE;
}

static void
edit_layers_cb (ConvolveTrainingPanel *self)
{
  ConvolveModelEditor *editor;
  g_autofree char *setting = NULL;
  ConvolveShape input = self->model_input;
  const char *text = self->model_spec_text;

  if (text == NULL)
    {
      /* No model yet: the layers new models would get. */
      setting = g_settings_get_string (self->settings, "model-spec");
      text = setting;
      input = (ConvolveShape) { 3, 32, 32 };
    }
  editor = convolve_model_editor_new (text, input, self->model_classes);
  gtk_window_set_transient_for (GTK_WINDOW (editor), GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))));
  g_signal_connect_object (editor, "apply", G_CALLBACK (editor_apply_cb), self, 0);
  g_signal_connect_object (editor, "close-request", G_CALLBACK (editor_closed_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (editor));
}

static void
preset_selected_cb (ConvolveTrainingPanel *self)
{
  const ConvolveModelPreset *presets;
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autofree char *text = NULL;
  guint n = 0, selected;

  if (self->setting_preset)
    return;
  presets = convolve_model_preset_get_all (&n);
  selected = adw_combo_row_get_selected (self->preset_row);
  if (selected >= n)
    {
      /* "Custom": layers of one's own are made in the editor. */
      edit_layers_cb (self);
      return;
    }
  if (g_strcmp0 (presets[selected].name, CONVOLVE_MODEL_PRESET_DEFAULT) == 0)
    {
      /* The empty setting: the tutorial's, with any dataset's classes. */
      use_spec_text (self, "");
      return;
    }
  spec = convolve_model_preset_new_spec (&presets[selected], self->model_classes >= 2 ? self->model_classes : 10);
  text = convolve_model_spec_to_string (spec);
  use_spec_text (self, text);
}

static void
setup_presets (ConvolveTrainingPanel *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  const ConvolveModelPreset *presets;
  guint n = 0;

  presets = convolve_model_preset_get_all (&n);
  for (guint i = 0; i < n; i++)
    gtk_string_list_append (names, _(presets[i].title));
  gtk_string_list_append (names, _("Custom"));
  adw_combo_row_set_model (self->preset_row, G_LIST_MODEL (names));
  show_preset (self, NULL);
  g_signal_connect_swapped (self->preset_row, "notify::selected", G_CALLBACK (preset_selected_cb), self);
}

/* ---- progress ------------------------------------------------------------ */

static void
clear_progress (ConvolveTrainingPanel *self)
{
  gtk_inscription_set_text (self->state_label, state_to_text (CONVOLVE_TRAINER_IDLE));
  gtk_inscription_set_text (self->percent_label, "");
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_inscription_set_text (self->epoch_label, "–");
  gtk_inscription_set_text (self->step_label, "–");
  gtk_inscription_set_text (self->speed_label, "–");
  gtk_inscription_set_text (self->eta_label, "–");
  gtk_inscription_set_text (self->loss_label, "–");
  gtk_inscription_set_text (self->accuracy_label, "–");
  gtk_stack_set_visible_child_name (self->controls_stack, "idle");
  gtk_widget_set_sensitive (GTK_WIDGET (self->settings_group), TRUE);
  set_model_rows_sensitive (self, TRUE);
  gtk_stack_set_visible_child_name (self->stats_stack, "stats");
}

static void
show_result (ConvolveTrainingPanel *self,
             ConvolveProgress      *progress)
{
  g_autofree char *elapsed = convolve_format_duration (progress->elapsed_seconds);
  gboolean validated = progress->has_validation && isfinite (progress->val_accuracy);

  if (!validated && !isfinite (progress->accuracy))
    {
      gtk_stack_set_visible_child_name (self->stats_stack, "stats");
      return;
    }
  /* Without a test set the training accuracy is all there is. */
  gtk_label_set_label (self->result_title_label,
                       validated ? _("Validation Accuracy") : _("Training Accuracy"));
  set_text_printf (self->result_label, "%.1f %%",
                   (validated ? progress->val_accuracy : progress->accuracy) * 100.0);
  /* Translators: after a run: the (validation) loss, epochs done and time taken */
  set_text_printf (self->result_detail_label,
                   ngettext ("Loss %.4f after %d epoch in %s",
                             "Loss %.4f after %d epochs in %s",
                             progress->epoch),
                   validated ? progress->val_loss : progress->loss, progress->epoch, elapsed);

  /* The result takes the place of the live numbers. */
  gtk_stack_set_visible_child_name (self->stats_stack, "result");
}

void
convolve_training_panel_set_progress (ConvolveTrainingPanel *self,
                                      ConvolveProgress      *progress)
{
  const char *stack_page = "idle";
  double fraction = 0.0;

  g_return_if_fail (CONVOLVE_IS_TRAINING_PANEL (self));

  if (progress == NULL)
    {
      clear_progress (self);
      return;
    }

  switch (progress->state)
    {
    case CONVOLVE_TRAINER_RUNNING:
    case CONVOLVE_TRAINER_STOPPING:
      stack_page = "running";
      break;
    case CONVOLVE_TRAINER_PAUSED:
      stack_page = "paused";
      break;
    case CONVOLVE_TRAINER_IDLE:
    case CONVOLVE_TRAINER_FINISHED:
    case CONVOLVE_TRAINER_FAILED:
    case CONVOLVE_TRAINER_CANCELLED:
    default:
      stack_page = "idle";
      break;
    }
  gtk_stack_set_visible_child_name (self->controls_stack, stack_page);
  gtk_widget_set_sensitive (GTK_WIDGET (self->settings_group),
                            progress->state == CONVOLVE_TRAINER_IDLE ||
                            convolve_trainer_state_is_final (progress->state));
  set_model_rows_sensitive (self, progress->state == CONVOLVE_TRAINER_IDLE ||
                                  convolve_trainer_state_is_final (progress->state));

  if (progress->validating && progress->state == CONVOLVE_TRAINER_RUNNING)
    gtk_inscription_set_text (self->state_label, _("Validating…"));
  else
    gtk_inscription_set_text (self->state_label, state_to_text (progress->state));

  if (progress->total_steps > 0)
    fraction = CLAMP ((double) progress->global_step / (double) progress->total_steps, 0.0, 1.0);
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  set_text_printf (self->percent_label, "%.0f %%", floor (fraction * 100.0));

  if (progress->epoch > 0)
    {
      if (progress->augmented)
        /* Translators: the running epoch, of all epochs, on augmented images */
        set_text_printf (self->epoch_label, _("%d of %d, augmented"), progress->epoch, progress->epochs_total);
      else
        /* Translators: the running epoch, of all epochs */
        set_text_printf (self->epoch_label, _("%d of %d"), progress->epoch, progress->epochs_total);
      g_autofree char *step = convolve_format_count (MAX (progress->step, 0));
      g_autofree char *steps = convolve_format_count (MAX (progress->steps_per_epoch, 0));

      /* Translators: optimizer steps done in this epoch, of all its steps */
      set_text_printf (self->step_label, _("%s of %s"), step, steps);
    }
  else
    {
      gtk_inscription_set_text (self->epoch_label, "–");
      gtk_inscription_set_text (self->step_label, "–");
    }

  if (progress->images_per_second > 0 && !convolve_trainer_state_is_final (progress->state))
    {
      g_autofree char *speed = convolve_format_count ((guint64) llround (progress->images_per_second));

      /* Translators: training speed */
      set_text_printf (self->speed_label, _("%s images/s"), speed);
    }
  else
    gtk_inscription_set_text (self->speed_label, "–");

  if (convolve_trainer_state_is_final (progress->state))
    {
      g_autofree char *elapsed = convolve_format_duration (progress->elapsed_seconds);
      /* Translators: the time a finished run took */
      set_text_printf (self->eta_label, _("done in %s"), elapsed);
    }
  else if (progress->eta_total_seconds >= 0)
    {
      g_autofree char *eta = convolve_format_duration (progress->eta_total_seconds);
      gtk_inscription_set_text (self->eta_label, eta);
    }
  else
    gtk_inscription_set_text (self->eta_label, "–");

  if (isfinite (progress->loss))
    set_text_printf (self->loss_label, "%.4f", progress->loss);
  if (isfinite (progress->accuracy))
    set_text_printf (self->accuracy_label, "%.1f %%", progress->accuracy * 100.0);

  if (progress->state == CONVOLVE_TRAINER_FINISHED || progress->state == CONVOLVE_TRAINER_CANCELLED)
    show_result (self, progress);
  else
    gtk_stack_set_visible_child_name (self->stats_stack, "stats");
}

static const char *
model_title (const ConvolveModel *model)
{
  const ConvolveModelPreset *preset = convolve_model_preset_match (convolve_model_get_spec (model));

  if (preset != NULL && g_strcmp0 (preset->name, "tutorial") == 0)
    return _("Tutorial CNN");
  if (preset != NULL && g_strcmp0 (preset->name, "better") == 0)
    return _("Better CNN");
  return _("Custom CNN");
}

void
convolve_training_panel_set_model (ConvolveTrainingPanel *self,
                                   const ConvolveModel   *model)
{
  g_autofree char *summary = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *count = NULL;
  ConvolveShape input;
  gsize n_params;

  g_return_if_fail (CONVOLVE_IS_TRAINING_PANEL (self));

  g_clear_pointer (&self->model_spec_text, g_free);
  self->model_classes = 0;
  show_preset (self, model != NULL ? convolve_model_get_spec (model) : NULL);
  if (model != NULL)
    {
      self->model_spec_text = convolve_model_spec_to_string (convolve_model_get_spec (model));
      self->model_input = convolve_model_get_input (model);
      self->model_classes = convolve_model_get_n_classes (model);
    }

  if (model == NULL)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->model_row), _("No model"));
      adw_action_row_set_subtitle (self->model_row, "");
      gtk_label_set_label (self->summary_label, "");
      gtk_widget_set_sensitive (GTK_WIDGET (self->summary_button), FALSE);
      return;
    }

  input = convolve_model_get_input (model);
  n_params = convolve_model_get_n_trainable (model) + convolve_model_get_n_non_trainable (model);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->model_row),
                                 model_title (model));
  count = convolve_format_count (n_params);
  /* Translators: the model's input (height × width × channels) and its parameter count */
  subtitle = g_strdup_printf (_("%d×%d×%d input, %s parameters"), input.h, input.w, input.c, count);
  adw_action_row_set_subtitle (self->model_row, subtitle);

  summary = convolve_model_summary (model);
  gtk_label_set_label (self->summary_label, summary);
  gtk_widget_set_sensitive (GTK_WIDGET (self->summary_button), TRUE);
}

void
convolve_training_panel_show_summary (ConvolveTrainingPanel *self)
{
  g_return_if_fail (CONVOLVE_IS_TRAINING_PANEL (self));

  if (gtk_widget_get_sensitive (GTK_WIDGET (self->summary_button)))
    gtk_menu_button_popup (self->summary_button);
}

static void
copy_summary_cb (ConvolveTrainingPanel *self)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                          gtk_label_get_label (self->summary_label));
  gtk_menu_button_popdown (self->summary_button);
}

static void
convolve_training_panel_dispose (GObject *object)
{
  ConvolveTrainingPanel *self = CONVOLVE_TRAINING_PANEL (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_TRAINING_PANEL);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->model_spec_text, g_free);

  G_OBJECT_CLASS (convolve_training_panel_parent_class)->dispose (object);
}

static void
convolve_training_panel_class_init (ConvolveTrainingPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_training_panel_dispose;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "convolvetrainingpanel");
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-training-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, box);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, model_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, summary_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, summary_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, preset_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, edit_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, settings_group);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, early_stopping_group);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, patience_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, monitor_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, restore_best_switch);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, epochs_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, augment_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, batch_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, rate_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, seed_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, controls_stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, state_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, percent_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, epoch_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, step_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, speed_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, eta_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, loss_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, stats_stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, result_title_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, result_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveTrainingPanel, result_detail_label);
  gtk_widget_class_bind_template_callback (widget_class, copy_summary_cb);
  gtk_widget_class_bind_template_callback (widget_class, edit_layers_cb);
}

/* The monitor row lists the figures in ConvolveMonitor's order. */
static gboolean
monitor_to_row (GValue   *value,
                GVariant *variant,
                gpointer  user_data)
{
  ConvolveMonitor monitor = CONVOLVE_MONITOR_VAL_LOSS;

  convolve_monitor_from_string (g_variant_get_string (variant, NULL), &monitor);
  g_value_set_uint (value, monitor == CONVOLVE_MONITOR_VAL_ACCURACY ? 1 : 0);
  return TRUE;
}

static GVariant *
row_to_monitor (const GValue       *value,
                const GVariantType *type,
                gpointer            user_data)
{
  return g_variant_new_string (convolve_monitor_to_string (g_value_get_uint (value) == 1
                                                           ? CONVOLVE_MONITOR_VAL_ACCURACY
                                                           : CONVOLVE_MONITOR_VAL_LOSS));
}

static void
convolve_training_panel_init (ConvolveTrainingPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_object_bind_property (self->settings_group, "sensitive", self->early_stopping_group, "sensitive",
                          G_BINDING_SYNC_CREATE);

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "epochs", self->epochs_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "augment-epochs", self->augment_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "batch-size", self->batch_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "learning-rate", self->rate_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "seed", self->seed_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "early-stopping-patience", self->patience_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "early-stopping-monitor", self->monitor_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, monitor_to_row, row_to_monitor, NULL, NULL);
  g_settings_bind (self->settings, "restore-best-weights", self->restore_best_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);

  setup_presets (self);
  clear_progress (self);
}
