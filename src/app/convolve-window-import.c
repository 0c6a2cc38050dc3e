/* convolve-window-import.c: opening an image folder from the window: the
 * settings it is imported with (Preferences, GSettings), the progress and
 * Cancel button on the loading page, and the skipped files afterwards.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-window-private.h"

static const char * const import_keys[] = {
  "image-folder-size", "image-folder-fit", "image-folder-validation",
};

void
convolve_window_apply_import_settings (ConvolveWindow *self)
{
  ConvolveImageFolderOptions options;
  g_autofree char *fit = g_settings_get_string (self->settings, "image-folder-fit");

  convolve_image_folder_options_init (&options);
  options.side = g_settings_get_int (self->settings, "image-folder-size");
  options.fit = g_str_equal (fit, "pad") ? CONVOLVE_IMAGE_FIT_PAD : CONVOLVE_IMAGE_FIT_CROP;
  options.validation_fraction = g_settings_get_double (self->settings, "image-folder-validation");
  convolve_session_set_image_folder_options (self->session, &options);
  /* pictures dropped on a model not trained on an image folder are fitted alike */
  convolve_predictor_set_fit (self->predictor, options.fit);
}

static void
load_progress_cb (ConvolveWindow *self,
                  guint           done,
                  guint           total,
                  guint           skipped)
{
  g_autofree char *description = NULL;

  /* an import takes long enough to show, even over a dataset already open */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "loading") != 0)
    {
      gtk_spinner_start (self->loading_spinner);
      gtk_stack_set_visible_child_name (self->main_stack, "loading");
    }
  adw_status_page_set_title (self->loading_page, _("Importing Pictures…"));
  /* the bar says it all; the spinner is for loads of unknown length */
  gtk_widget_set_visible (GTK_WIDGET (self->loading_spinner), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->loading_progress), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->loading_cancel), TRUE);
  gtk_progress_bar_set_fraction (self->loading_progress, total > 0 ? (double) done / total : 0.0);

  if (skipped > 0)
    /* Translators: pictures imported so far, of all; then how many files were skipped */
    description = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                "%u of %u files, %u skipped",
                                                "%u of %u files, %u skipped",
                                                total),
                                   done, total, skipped);
  else
    /* Translators: pictures imported so far, of all */
    description = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u file", "%u of %u files", total),
                                   done, total);
  adw_status_page_set_description (self->loading_page, description);
}

void
convolve_window_cancel_import (ConvolveWindow *self)
{
  convolve_session_cancel_load (self->session);
}

void
convolve_window_import_done (ConvolveWindow *self,
                             gboolean        opened)
{
  ConvolveImageFolderReport report;

  adw_status_page_set_title (self->loading_page, _("Loading Dataset…"));
  adw_status_page_set_description (self->loading_page, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->loading_spinner), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->loading_progress), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->loading_cancel), FALSE);

  if (opened && convolve_session_get_import_report (self->session, &report) && report.n_skipped > 0)
    {
      g_autofree char *message = NULL;

      message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "Skipped %u file that is not a picture Convolve can read",
                                              "Skipped %u files that are not pictures Convolve can read",
                                              report.n_skipped),
                                 report.n_skipped);
      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
    }
}

/* New settings apply to the image folder that is open: it is imported
 * again (from the cache when it was imported so before). */
static void
import_setting_changed_cb (ConvolveWindow *self)
{
  ConvolveImageFolderReport report;
  const char *path = convolve_session_get_dataset_path (self->session);

  convolve_window_apply_import_settings (self);
  if (path != NULL && convolve_session_get_import_report (self->session, &report) &&
      !convolve_session_is_training (self->session))
    {
      g_autofree char *folder = g_strdup (path);

      convolve_window_open_dataset (self, folder);
    }
}

void
convolve_window_init_import (ConvolveWindow *self)
{
  g_signal_connect_object (self->session, "load-progress",
                           G_CALLBACK (load_progress_cb), self, G_CONNECT_SWAPPED);
  for (gsize i = 0; i < G_N_ELEMENTS (import_keys); i++)
    {
      g_autofree char *signal = g_strconcat ("changed::", import_keys[i], NULL);

      g_signal_connect_object (self->settings, signal,
                               G_CALLBACK (import_setting_changed_cb), self, G_CONNECT_SWAPPED);
    }
  convolve_window_apply_import_settings (self);
}
