/* convolve-preferences-window.c: settings that are not part of a single
 * run (those sit in the training panel): threads, prediction refresh, how
 * image folders are imported, plot smoothing and the layers of new models. Everything is a GSettings key.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-engine.h"
#include "convolve-preferences-window.h"

struct _ConvolvePreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  GSettings      *settings;

  GtkAdjustment  *threads_adjustment;
  GtkAdjustment  *interval_adjustment;
  GtkAdjustment  *smoothing_adjustment;
  AdwEntryRow    *spec_row;
  AdwComboRow    *size_row;
  AdwComboRow    *fit_row;
  GtkAdjustment  *validation_adjustment;
};

G_DEFINE_FINAL_TYPE (ConvolvePreferencesWindow, convolve_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

ConvolvePreferencesWindow *
convolve_preferences_window_new (GtkWindow *transient_for)
{
  return g_object_new (CONVOLVE_TYPE_PREFERENCES_WINDOW,
                       "transient-for", transient_for,
                       NULL);
}

static void
spec_row_apply_cb (ConvolvePreferencesWindow *self,
                   AdwEntryRow               *row)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));
  g_autoptr(ConvolveModelSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *normalised = NULL;

  if (text[0] == '\0')
    {
      g_settings_set_string (self->settings, "model-spec", "");
      gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
      return;
    }

  spec = convolve_model_spec_parse (text, &error);
  if (spec == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("These layers cannot be used: %s"), error->message);

      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (message));
      return;
    }

  gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
  normalised = convolve_model_spec_to_string (spec);
  g_settings_set_string (self->settings, "model-spec", normalised);
  gtk_editable_set_text (GTK_EDITABLE (row), normalised);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    adw_toast_new (_("New models will use these layers")));
}

static void
reset_spec_cb (ConvolvePreferencesWindow *self)
{
  g_settings_reset (self->settings, "model-spec");
  gtk_editable_set_text (GTK_EDITABLE (self->spec_row), "");
  gtk_widget_remove_css_class (GTK_WIDGET (self->spec_row), "error");
}

/* ---- image folders: the rows show what GSettings holds in other units */

static const int picture_sizes[] = { 32, 64, 96 };

static gboolean
size_to_row (GValue   *value,
             GVariant *variant,
             gpointer  user_data)
{
  int size = g_variant_get_int32 (variant);

  for (guint i = 0; i < G_N_ELEMENTS (picture_sizes); i++)
    if (picture_sizes[i] == size)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  g_value_set_uint (value, 0);
  return TRUE;
}

static GVariant *
row_to_size (const GValue       *value,
             const GVariantType *type,
             gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return g_variant_new_int32 (picture_sizes[MIN (i, G_N_ELEMENTS (picture_sizes) - 1)]);
}

static gboolean
fit_to_row (GValue   *value,
            GVariant *variant,
            gpointer  user_data)
{
  g_value_set_uint (value, g_str_equal (g_variant_get_string (variant, NULL), "pad") ? 1 : 0);
  return TRUE;
}

static GVariant *
row_to_fit (const GValue       *value,
            const GVariantType *type,
            gpointer            user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "pad" : "crop");
}

static gboolean
share_to_percent (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  g_value_set_double (value, round (g_variant_get_double (variant) * 100.0));
  return TRUE;
}

static GVariant *
percent_to_share (const GValue       *value,
                  const GVariantType *type,
                  gpointer            user_data)
{
  return g_variant_new_double (g_value_get_double (value) / 100.0);
}

static void
convolve_preferences_window_dispose (GObject *object)
{
  ConvolvePreferencesWindow *self = CONVOLVE_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (convolve_preferences_window_parent_class)->dispose (object);
}

static void
convolve_preferences_window_class_init (ConvolvePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, threads_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, interval_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, smoothing_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, spec_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, size_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, fit_row);
  gtk_widget_class_bind_template_child (widget_class, ConvolvePreferencesWindow, validation_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, spec_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, reset_spec_cb);
}

static void
convolve_preferences_window_init (ConvolvePreferencesWindow *self)
{
  g_autofree char *spec = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* The most threads worth asking for: every processor. */
  gtk_adjustment_set_upper (self->threads_adjustment, g_get_num_processors ());

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "threads", self->threads_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "prediction-interval", self->interval_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "plot-smoothing", self->smoothing_adjustment, "value", G_SETTINGS_BIND_DEFAULT);

  g_settings_bind_with_mapping (self->settings, "image-folder-size", self->size_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, size_to_row, row_to_size, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "image-folder-fit", self->fit_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, fit_to_row, row_to_fit, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "image-folder-validation", self->validation_adjustment,
                                "value", G_SETTINGS_BIND_DEFAULT, share_to_percent, percent_to_share,
                                NULL, NULL);

  spec = g_settings_get_string (self->settings, "model-spec");
  gtk_editable_set_text (GTK_EDITABLE (self->spec_row), spec);
}
