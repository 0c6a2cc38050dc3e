/* convolve-dataset-page.c: the first-run page. The download runs on the
 * download's own worker thread; its reports and result arrive on the main
 * context, and a page that is gone or a cancelled download drops them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-dataset-page.h"
#include "convolve-training-panel.h"

struct _ConvolveDatasetPage
{
  GtkWidget         parent_instance;

  GtkStack         *stack;
  AdwStatusPage    *download_page;
  AdwStatusPage    *failed_page;
  GtkProgressBar   *download_progress;
  GtkLabel         *download_label;
  GtkButton        *alternative_button;
  GtkButton        *back_button;

  char             *alternative_path;
  ConvolveDownload *download;
  GCancellable     *cancellable;
};

G_DEFINE_FINAL_TYPE (ConvolveDatasetPage, convolve_dataset_page, GTK_TYPE_WIDGET)

enum {
  DATASET_CHOSEN,
  CANCELLED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GtkWidget *
convolve_dataset_page_new (void)
{
  return g_object_new (CONVOLVE_TYPE_DATASET_PAGE, NULL);
}

void
convolve_dataset_page_set_alternative (ConvolveDatasetPage *self,
                                       const char          *title,
                                       const char          *path)
{
  g_return_if_fail (CONVOLVE_IS_DATASET_PAGE (self));

  g_free (self->alternative_path);
  self->alternative_path = g_strdup (path);

  if (path != NULL)
    {
      /* Translators: a button offering a dataset found on the computer, e.g. "Use Fashion-MNIST" */
      g_autofree char *label = g_strdup_printf (_("_Use %s"), title);
      gtk_button_set_label (self->alternative_button, label);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->alternative_button), path != NULL);
}

ConvolveDownload *
convolve_dataset_page_get_download (ConvolveDatasetPage *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DATASET_PAGE (self), NULL);

  if (self->download == NULL)
    self->download = convolve_download_new (NULL);
  return self->download;
}

gboolean
convolve_dataset_page_is_downloading (ConvolveDatasetPage *self)
{
  g_return_val_if_fail (CONVOLVE_IS_DATASET_PAGE (self), FALSE);

  return self->cancellable != NULL;
}

static void
download_progress_cb (const ConvolveDownloadProgress *progress,
                      gpointer                        user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr(ConvolveDatasetPage) self = g_weak_ref_get (ref);
  g_autoptr(GString) text = NULL;

  if (self == NULL)
    return;

  adw_status_page_set_description (self->download_page,
                                   convolve_download_phase_get_label (progress->phase));

  text = g_string_new (NULL);
  if (progress->total > 0)
    {
      g_autofree char *received = g_format_size (progress->received);
      g_autofree char *total = g_format_size (progress->total);

      gtk_progress_bar_set_fraction (self->download_progress,
                                     CLAMP ((double) progress->received / (double) progress->total, 0.0, 1.0));
      /* Translators: bytes received of the whole size, e.g. "12.3 MB of 162.6 MB" */
      g_string_append_printf (text, _("%s of %s"), received, total);
    }
  else
    gtk_progress_bar_pulse (self->download_progress);

  if (progress->phase == CONVOLVE_DOWNLOAD_PHASE_DOWNLOADING && progress->bytes_per_second > 0)
    {
      g_autofree char *rate = g_format_size ((guint64) progress->bytes_per_second);

      if (text->len > 0)
        g_string_append (text, " · ");
      /* Translators: download rate, e.g. "4.1 MB/s" */
      g_string_append_printf (text, _("%s/s"), rate);
    }
  if (progress->eta_seconds >= 0)
    {
      g_autofree char *eta = convolve_format_duration (progress->eta_seconds);

      if (text->len > 0)
        g_string_append (text, " · ");
      /* Translators: time left, e.g. "2 min 05 s left" */
      g_string_append_printf (text, _("%s left"), eta);
    }
  if (progress->attempt > 1)
    {
      if (text->len > 0)
        g_string_append (text, " · ");
      /* Translators: the download is being retried after a lost connection */
      g_string_append_printf (text, _("attempt %u"), progress->attempt);
    }
  gtk_label_set_label (self->download_label, text->str);
}

static void
weak_ref_free (gpointer data)
{
  GWeakRef *ref = data;

  g_weak_ref_clear (ref);
  g_free (ref);
}

static GWeakRef *
weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, object);
  return ref;
}

static void
download_finished_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  ConvolveDownload *download = CONVOLVE_DOWNLOAD (object);
  GWeakRef *ref = user_data;
  g_autoptr(ConvolveDatasetPage) self = g_weak_ref_get (ref);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  weak_ref_free (ref);
  ok = convolve_download_run_finish (download, result, &error);
  if (self == NULL)
    return;

  g_clear_object (&self->cancellable);

  if (ok)
    {
      g_autofree char *folder = convolve_download_dup_dataset_dir (download);

      gtk_stack_set_visible_child_name (self->stack, "choose");
      g_signal_emit (self, signals[DATASET_CHOSEN], 0, folder);
    }
  else if (g_error_matches (error, CONVOLVE_DATA_ERROR, CONVOLVE_DATA_ERROR_CANCELLED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gtk_stack_set_visible_child_name (self->stack, "choose");
      g_signal_emit (self, signals[CANCELLED], 0);
    }
  else
    {
      adw_status_page_set_description (self->failed_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "failed");
    }
}

void
convolve_dataset_page_start_download (ConvolveDatasetPage *self)
{
  ConvolveDownload *download;

  g_return_if_fail (CONVOLVE_IS_DATASET_PAGE (self));

  if (self->cancellable != NULL)
    return;

  download = convolve_dataset_page_get_download (self);
  self->cancellable = g_cancellable_new ();

  adw_status_page_set_description (self->download_page, convolve_download_phase_get_label (CONVOLVE_DOWNLOAD_PHASE_CONNECTING));
  gtk_progress_bar_set_fraction (self->download_progress, 0.0);
  gtk_label_set_label (self->download_label, "");
  gtk_stack_set_visible_child_name (self->stack, "downloading");

  convolve_download_run_async (download, self->cancellable,
                               download_progress_cb, weak_ref_new (self), weak_ref_free,
                               download_finished_cb, weak_ref_new (self));
}

void
convolve_dataset_page_cancel_download (ConvolveDatasetPage *self)
{
  g_return_if_fail (CONVOLVE_IS_DATASET_PAGE (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

static void
download_clicked_cb (ConvolveDatasetPage *self)
{
  convolve_dataset_page_start_download (self);
}

static void
cancel_clicked_cb (ConvolveDatasetPage *self)
{
  convolve_dataset_page_cancel_download (self);
}

static void
back_clicked_cb (ConvolveDatasetPage *self)
{
  gtk_stack_set_visible_child_name (self->stack, "choose");
  g_signal_emit (self, signals[CANCELLED], 0);
}

static void
alternative_clicked_cb (ConvolveDatasetPage *self)
{
  if (self->alternative_path != NULL)
    g_signal_emit (self, signals[DATASET_CHOSEN], 0, self->alternative_path);
}

static void
convolve_dataset_page_dispose (GObject *object)
{
  ConvolveDatasetPage *self = CONVOLVE_DATASET_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_DATASET_PAGE);
  g_clear_object (&self->download);
  g_clear_pointer (&self->alternative_path, g_free);

  G_OBJECT_CLASS (convolve_dataset_page_parent_class)->dispose (object);
}

static void
convolve_dataset_page_class_init (ConvolveDatasetPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_dataset_page_dispose;

  signals[DATASET_CHOSEN] =
    g_signal_new ("dataset-chosen",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[CANCELLED] =
    g_signal_new ("cancelled",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-dataset-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, download_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, failed_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, download_progress);
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, download_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, alternative_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveDatasetPage, back_button);
  gtk_widget_class_bind_template_callback (widget_class, download_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, alternative_clicked_cb);
}

static void
convolve_dataset_page_init (ConvolveDatasetPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
