/* convolve-runs-page.c: the runs page, see the header.
 *
 * Store work (list, compare, rename, delete) runs in GTasks on worker
 * threads against one connection the page keeps (a ConvolveRunStore is
 * safe from any thread). Each result comes back with a weak reference to
 * the page and a serial number: a page that is gone, or a newer request of
 * the same kind, drops it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <adwaita.h>
#include <inttypes.h>
#include <math.h>

#include "convolve-runs-page.h"
#include "convolve-run-row.h"
#include "convolve-runs-page-private.h"
#include "convolve-runs-plot.h"
#include "convolve-training-panel.h"

/* The most runs compared at once. */
#define MAX_COMPARED  64
/* How long after a run's epoch or state changed the list is read again:
 * the recorder commits every half second. */
#define LIVE_RELOAD_MS 800
/* While a listed run is running (here or in another process), the list
 * is read again this often. */
#define POLL_RUNNING_MS 2000

/* ---- the page --------------------------------------------------------------- */


G_DEFINE_FINAL_TYPE (ConvolveRunsPage, convolve_runs_page, GTK_TYPE_WIDGET)

enum {
  OPEN_MODEL,
  RESUME_RUN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update_comparison (ConvolveRunsPage *self);
static gboolean poll_cb (gpointer user_data);
static void selection_changed_cb (ConvolveRunsPage *self);
static gint64 resume_target (ConvolveRunsPage *self);

GWeakRef *
_convolve_runs_page_weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, object);
  return ref;
}

gpointer
_convolve_runs_page_weak_ref_steal (GWeakRef *ref)
{
  gpointer object = g_weak_ref_get (ref);

  g_weak_ref_clear (ref);
  g_free (ref);
  return object;
}

void
_convolve_runs_page_show_toast (ConvolveRunsPage *self,
                                const char       *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

/* ---- store work on worker threads -------------------------------------------- */

typedef enum {
  JOB_LIST,
  JOB_COMPARE,
  JOB_RENAME,
  JOB_DELETE,
} JobKind;

typedef struct {
  JobKind            kind;
  char              *store_path;
  ConvolveRunStore  *store;     /* nullable: opened by the job */
  guint64            serial;
  GArray            *ids;       /* gint64: compare, rename (one), delete */
  char              *name;      /* rename */
  gboolean           group_seeds;
  /* results */
  GPtrArray         *records;   /* list: ConvolveRunRecord* */
  ConvolveRunComparison *comparison;
  guint              n_files_deleted;
} Job;

static void
job_free (Job *job)
{
  g_free (job->store_path);
  g_clear_pointer (&job->store, convolve_run_store_unref);
  g_clear_pointer (&job->ids, g_array_unref);
  g_free (job->name);
  g_clear_pointer (&job->records, g_ptr_array_unref);
  g_clear_pointer (&job->comparison, convolve_run_comparison_free);
  g_free (job);
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;

  if (job->store == NULL)
    {
      job->store = convolve_run_store_open (job->store_path, &error);
      if (job->store == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  switch (job->kind)
    {
    case JOB_LIST:
      job->records = convolve_run_store_list_runs (job->store, NULL, CONVOLVE_RUN_SORT_NEWEST, &error);
      break;
    case JOB_COMPARE:
      job->comparison = convolve_run_comparison_load (job->store, (const gint64 *) job->ids->data,
                                                      job->ids->len, job->group_seeds, &error);
      break;
    case JOB_RENAME:
      convolve_run_store_rename_run (job->store, g_array_index (job->ids, gint64, 0), job->name, &error);
      break;
    case JOB_DELETE:
      for (guint i = 0; i < job->ids->len && error == NULL; i++)
        {
          gint64 id = g_array_index (job->ids, gint64, i);
          g_autoptr(ConvolveRunRecord) run = convolve_run_store_get_run (job->store, id, &error);

          if (run == NULL)
            break;
          if (convolve_run_store_delete_run (job->store, id, &error))
            job->n_files_deleted += convolve_run_store_delete_run_files (job->store, run, TRUE);
        }
      break;
    default:
      g_assert_not_reached ();
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void job_done_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
start_job (ConvolveRunsPage *self,
           Job              *job)
{
  g_autoptr(GTask) task = NULL;

  job->store_path = g_strdup (self->store_path);
  job->store = self->store != NULL ? convolve_run_store_ref (self->store) : NULL;
  self->n_pending++;
  task = g_task_new (NULL, self->cancellable, job_done_cb, _convolve_runs_page_weak_ref_new (self));
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_set_name (task, "convolve-runs-page");
  g_task_run_in_thread (task, job_thread);
}

static void
set_datasets (ConvolveRunsPage *self)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint selected = 0;

  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (names, g_strdup (_("All Datasets")));
  g_ptr_array_add (keys, NULL);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->rows)); i++)
    {
      g_autoptr(ConvolveRunRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);
      const char *name = convolve_run_row_get_record (row)->dataset_name;

      if (name != NULL && g_hash_table_add (seen, (gpointer) name))
        {
          if (g_strcmp0 (name, self->dataset_filter) == 0)
            selected = names->len;
          g_ptr_array_add (names, g_strdup (convolve_format_dataset_name (name)));
          g_ptr_array_add (keys, g_strdup (name));
        }
    }
  g_ptr_array_add (names, NULL);
  g_clear_pointer (&self->dataset_keys, g_ptr_array_unref);
  self->dataset_keys = g_steal_pointer (&keys);
  /* Replacing the items moves the selection: keep the filter as it is. */
  g_signal_handlers_block_matched (self->dataset_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_string_list_splice (self->dataset_list, 0, g_list_model_get_n_items (G_LIST_MODEL (self->dataset_list)),
                          (const char * const *) names->pdata);
  gtk_drop_down_set_selected (self->dataset_dropdown, selected);
  g_signal_handlers_unblock_matched (self->dataset_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  if (selected == 0 && self->dataset_filter != NULL)
    {
      g_clear_pointer (&self->dataset_filter, g_free);
      gtk_filter_changed (gtk_filter_list_model_get_filter (self->filtered), GTK_FILTER_CHANGE_LESS_STRICT);
    }
}

static void
update_header (ConvolveRunsPage *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->rows));
  guint n_interrupted = 0;
  g_autofree char *subtitle = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(ConvolveRunRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);

      n_interrupted += convolve_run_row_get_record (row)->status == CONVOLVE_RUN_STATUS_INTERRUPTED;
    }
  subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u run recorded in %s", "%u runs recorded in %s", n),
                              n, self->store != NULL ? convolve_run_store_get_path (self->store) : "");
  gtk_label_set_text (self->subtitle_label, subtitle);
  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "runs" : "empty");
  if (n_interrupted > 0)
    {
      g_autofree char *text =
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                      "%u run was interrupted: its process ended while it trained. "
                                      "A run saved with checkpoints continues from its last one.",
                                      "%u runs were interrupted: their process ended while they trained. "
                                      "A run saved with checkpoints continues from its last one.",
                                      n_interrupted), n_interrupted);

      gtk_label_set_text (self->interrupted_label, text);
    }
  gtk_revealer_set_reveal_child (self->interrupted_revealer, n_interrupted > 0);
}

static GArray *
selected_ids (ConvolveRunsPage *self)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GListModel *model = G_LIST_MODEL (self->selection);

  for (guint i = 0; i < g_list_model_get_n_items (model) && ids->len < MAX_COMPARED; i++)
    if (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
      {
        g_autoptr(ConvolveRunRow) row = g_list_model_get_item (model, i);

        g_array_append_val (ids, convolve_run_row_get_record (row)->id);
      }
  return ids;
}

/* How many runs at the front of records are new, when the rest are the
 * list's runs in the list's order (a run started since, or none); -1 when
 * the lists differ otherwise. */
static int
count_new_runs (ConvolveRunsPage *self,
                GPtrArray        *records)
{
  GListModel *rows = G_LIST_MODEL (self->rows);
  guint n_rows = g_list_model_get_n_items (rows);
  guint n_new;

  if (records->len < n_rows)
    return -1;
  n_new = records->len - n_rows;
  for (guint i = 0; i < n_rows; i++)
    {
      g_autoptr(ConvolveRunRow) row = g_list_model_get_item (rows, i);
      const ConvolveRunRecord *record = g_ptr_array_index (records, n_new + i);

      if (convolve_run_row_get_record (row)->id != record->id)
        return -1;
    }
  return (int) n_new;
}

/* Whether a row shows something else now: every write to a run moves its
 * updated_at, and a rename or a status change is a write. */
static gboolean
record_changed (const ConvolveRunRecord *old,
                const ConvolveRunRecord *now)
{
  return old->updated_at != now->updated_at || old->status != now->status ||
         old->ended_at != now->ended_at || old->n_epochs_done != now->n_epochs_done ||
         g_strcmp0 (old->name, now->name) != 0 || g_strcmp0 (old->model_path, now->model_path) != 0;
}

static void
list_done (ConvolveRunsPage *self,
           Job              *job)
{
  g_autoptr(GArray) keep = selected_ids (self);
  GListModel *model;
  int n_new;

  /* The same runs as before, maybe with new ones at the front (a run
   * started, the poll while one runs): the new rows are inserted and only
   * the rows that changed are replaced. Else one splice: appending row by row made the
   * sorted and filtered models above re-sort and the column view re-bind
   * after every row, which froze the window for seconds with a few hundred
   * runs (seen as a main-loop stall while training). */
  n_new = count_new_runs (self, job->records);
  if (n_new >= 0)
    {
      g_autoptr(GPtrArray) added = g_ptr_array_new_full (n_new, g_object_unref);

      for (int i = 0; i < n_new; i++)
        g_ptr_array_add (added, convolve_run_row_new (g_steal_pointer (&g_ptr_array_index (job->records, i))));
      if (n_new > 0)
        g_list_store_splice (self->rows, 0, 0, added->pdata, added->len);
      for (guint i = n_new; i < job->records->len; i++)
        {
          g_autoptr(ConvolveRunRow) old = g_list_model_get_item (G_LIST_MODEL (self->rows), i);
          ConvolveRunRecord *record = g_ptr_array_index (job->records, i);
          g_autoptr(ConvolveRunRow) row = NULL;

          if (!record_changed (convolve_run_row_get_record (old), record))
            continue;
          row = convolve_run_row_new (g_steal_pointer (&g_ptr_array_index (job->records, i)));
          g_list_store_splice (self->rows, i, 1, (gpointer *) &row, 1);
        }
    }
  else
    {
      g_autoptr(GPtrArray) rows = g_ptr_array_new_full (job->records->len, g_object_unref);

      for (guint i = 0; i < job->records->len; i++)
        g_ptr_array_add (rows, convolve_run_row_new (g_steal_pointer (&g_ptr_array_index (job->records, i))));
      g_list_store_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)),
                           rows->pdata, rows->len);
    }
  set_datasets (self);
  update_header (self);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  {
    gboolean running = FALSE;

    for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->rows)) && !running; i++)
      {
        g_autoptr(ConvolveRunRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);

        running = convolve_run_row_get_record (row)->status == CONVOLVE_RUN_STATUS_RUNNING;
      }
    if (running)
      self->poll_source = g_timeout_add (POLL_RUNNING_MS, poll_cb, self);
  }

  /* The runs selected before stay selected. */
  model = G_LIST_MODEL (self->selection);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ConvolveRunRow) row = g_list_model_get_item (model, i);

      for (guint k = 0; k < keep->len; k++)
        if (g_array_index (keep, gint64, k) == convolve_run_row_get_record (row)->id)
          gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), i, FALSE);
    }
  selection_changed_cb (self);
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ConvolveRunsPage) self = _convolve_runs_page_weak_ref_steal (user_data);
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (task, &error);

  if (self == NULL)
    return;
  self->n_pending--;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (self->store == NULL && job->store != NULL &&
      g_strcmp0 (job->store_path, self->store_path) == 0)
    self->store = convolve_run_store_ref (job->store);

  switch (job->kind)
    {
    case JOB_LIST:
      if (job->serial != self->list_serial)
        return;
      if (!ok)
        {
          /* Translators: %s says why, e.g. the file is damaged */
          g_autofree char *message = g_strdup_printf (_("Could not read the runs: %s"), error->message);

          gtk_label_set_text (self->subtitle_label, message);
          /* Without a list the empty page shows: it says why. */
          adw_status_page_set_description (self->empty_page, message);
          return;
        }
      list_done (self, job);
      break;
    case JOB_COMPARE:
      if (job->serial != self->compare_serial)
        return;
      g_clear_pointer (&self->comparison, convolve_run_comparison_free);
      if (ok)
        self->comparison = g_steal_pointer (&job->comparison);
      else
        _convolve_runs_page_show_toast (self, error->message);
      _convolve_runs_page_show_differing (self);
      break;
    case JOB_RENAME:
    case JOB_DELETE:
      if (!ok)
        _convolve_runs_page_show_toast (self, error->message);
      else if (job->kind == JOB_DELETE)
        {
          g_autofree char *message =
            g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Deleted %u run", "Deleted %u runs", job->ids->len),
                             job->ids->len);

          _convolve_runs_page_show_toast (self, message);
        }
      convolve_runs_page_reload (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

void
convolve_runs_page_reload (ConvolveRunsPage *self)
{
  Job *job;

  g_return_if_fail (CONVOLVE_IS_RUNS_PAGE (self));

  self->behind = FALSE;
  job = g_new0 (Job, 1);
  job->kind = JOB_LIST;
  job->serial = ++self->list_serial;
  start_job (self, job);
}

static void
update_comparison (ConvolveRunsPage *self)
{
  g_autoptr(GArray) ids = selected_ids (self);
  Job *job;

  if (ids->len == 0)
    {
      self->compare_serial++;
      g_clear_pointer (&self->comparison, convolve_run_comparison_free);
      _convolve_runs_page_show_differing (self);
      return;
    }
  job = g_new0 (Job, 1);
  job->kind = JOB_COMPARE;
  job->serial = ++self->compare_serial;
  job->ids = g_steal_pointer (&ids);
  job->group_seeds = gtk_toggle_button_get_active (self->group_button);
  start_job (self, job);
}

void
convolve_runs_page_rename_run (ConvolveRunsPage *self,
                               gint64            id,
                               const char       *name)
{
  Job *job;

  g_return_if_fail (CONVOLVE_IS_RUNS_PAGE (self));
  g_return_if_fail (name != NULL);

  job = g_new0 (Job, 1);
  job->kind = JOB_RENAME;
  job->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (job->ids, id);
  job->name = g_strdup (name);
  start_job (self, job);
}

void
convolve_runs_page_delete_runs (ConvolveRunsPage *self,
                                const gint64     *ids,
                                guint             n_ids)
{
  Job *job;

  g_return_if_fail (CONVOLVE_IS_RUNS_PAGE (self));
  g_return_if_fail (ids != NULL || n_ids == 0);

  job = g_new0 (Job, 1);
  job->kind = JOB_DELETE;
  job->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_vals (job->ids, ids, n_ids);
  start_job (self, job);
}

/* ---- the list ----------------------------------------------------------------- */

static void
name_editing_cb (GtkEditableLabel *label,
                 GParamSpec       *pspec,
                 ConvolveRunsPage *self)
{
  ConvolveRunRow *row = g_object_get_data (G_OBJECT (label), "convolve-run-row");
  const char *text;

  if (gtk_editable_label_get_editing (label) || row == NULL)
    return;
  text = gtk_editable_get_text (GTK_EDITABLE (label));
  if (text[0] == '\0')
    {
      gtk_editable_set_text (GTK_EDITABLE (label), convolve_run_row_get_record (row)->name != NULL ? convolve_run_row_get_record (row)->name : "");
      return;
    }
  if (g_strcmp0 (text, convolve_run_row_get_record (row)->name) == 0)
    return;
  g_free (convolve_run_row_get_record (row)->name);
  convolve_run_row_get_record (row)->name = g_strdup (text);
  convolve_runs_page_rename_run (self, convolve_run_row_get_record (row)->id, text);
}

static gboolean
label_query_tooltip_cb (GtkWidget  *label,
                        int         x,
                        int         y,
                        gboolean    keyboard,
                        GtkTooltip *tooltip,
                        gpointer    user_data)
{
  const char *text = gtk_label_get_text (GTK_LABEL (label));

  if (text == NULL || *text == '\0')
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               ConvolveRunsPage         *self)
{
  const char *property = g_object_get_data (G_OBJECT (factory), "convolve-property");
  GtkWidget *child;

  if (g_strcmp0 (property, "name") == 0)
    {
      child = gtk_editable_label_new ("");
      gtk_widget_set_tooltip_text (child, _("Double-click to rename"));
      g_signal_connect_object (child, "notify::editing", G_CALLBACK (name_editing_cb), self, 0);
    }
  else
    {
      gboolean text = g_strcmp0 (property, "dataset") == 0 || g_strcmp0 (property, "model") == 0 ||
                      g_strcmp0 (property, "settings") == 0 || g_strcmp0 (property, "status") == 0;

      /* Room for what the cells hold, so dates and figures are never cut. */
      static const struct { const char *property; int chars; } widths[] = {
        { "started", 16 }, { "dataset", 13 }, { "epochs", 5 }, { "best-accuracy", 7 },
        { "final-accuracy", 7 }, { "duration", 10 }, { "status", 10 },
      };

      child = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (child), text ? 0.0 : 1.0);
      for (guint i = 0; i < G_N_ELEMENTS (widths); i++)
        if (g_strcmp0 (property, widths[i].property) == 0)
          gtk_label_set_width_chars (GTK_LABEL (child), widths[i].chars);
      gtk_label_set_ellipsize (GTK_LABEL (child), PANGO_ELLIPSIZE_END);
      if (!text)
        gtk_widget_add_css_class (child, "numeric");
      /* The long cells show their whole text as a tooltip, asked for when
       * shown: setting a tooltip in every bind asks the display server
       * where the pointer is, a round trip per cell. */
      if (g_strcmp0 (property, "model") == 0 || g_strcmp0 (property, "settings") == 0)
        {
          gtk_widget_set_has_tooltip (child, TRUE);
          g_signal_connect (child, "query-tooltip", G_CALLBACK (label_query_tooltip_cb), NULL);
        }
    }
  gtk_list_item_set_child (item, child);
}

static char *
format_accuracy (double value)
{
  if (isnan (value))
    return g_strdup ("–");
  /* Translators: an accuracy in percent in the runs list */
  return g_strdup_printf (_("%.1f %%"), 100.0 * value);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              ConvolveRunsPage         *self)
{
  const char *property = g_object_get_data (G_OBJECT (factory), "convolve-property");
  ConvolveRunRow *row = gtk_list_item_get_item (item);
  const ConvolveRunRecord *run = convolve_run_row_get_record (row);
  GtkWidget *child = gtk_list_item_get_child (item);
  g_autofree char *text = NULL;

  if (g_strcmp0 (property, "name") == 0)
    {
      g_object_set_data (G_OBJECT (child), "convolve-run-row", NULL);
      gtk_editable_set_text (GTK_EDITABLE (child), run->name != NULL ? run->name : "");
      g_object_set_data_full (G_OBJECT (child), "convolve-run-row", g_object_ref (row), g_object_unref);
      return;
    }
  if (g_strcmp0 (property, "started") == 0)
    {
      g_autoptr(GDateTime) time = run->started_at > 0
                                  ? g_date_time_new_from_unix_local (run->started_at / G_USEC_PER_SEC) : NULL;

      text = time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M") : g_strdup ("–");
    }
  else if (g_strcmp0 (property, "dataset") == 0)
    text = g_strdup (run->dataset_name != NULL ? convolve_format_dataset_name (run->dataset_name) : "–");
  else if (g_strcmp0 (property, "model") == 0)
    text = g_strdup (run->model_spec != NULL ? run->model_spec : "–");
  else if (g_strcmp0 (property, "settings") == 0)
    text = g_strdup (convolve_run_row_get_settings (row));
  else if (g_strcmp0 (property, "epochs") == 0)
    text = g_strdup_printf ("%d/%d", run->n_epochs_done, run->config.epochs + run->config.augment_epochs);
  else if (g_strcmp0 (property, "best-accuracy") == 0)
    text = format_accuracy (run->best_val_accuracy);
  else if (g_strcmp0 (property, "final-accuracy") == 0)
    text = format_accuracy (run->final_accuracy);
  else if (g_strcmp0 (property, "duration") == 0)
    text = convolve_run_row_get_duration (row) > 0 ? convolve_format_duration (convolve_run_row_get_duration (row)) : g_strdup ("–");
  else
    text = g_strdup (convolve_run_status_get_title (run->status));
  gtk_label_set_text (GTK_LABEL (child), text);
  if (g_strcmp0 (property, "status") == 0)
    {
      gtk_widget_remove_css_class (child, "warning");
      gtk_widget_remove_css_class (child, "error");
      gtk_widget_remove_css_class (child, "accent");
      if (run->status == CONVOLVE_RUN_STATUS_INTERRUPTED)
        gtk_widget_add_css_class (child, "warning");
      else if (run->status == CONVOLVE_RUN_STATUS_FAILED)
        gtk_widget_add_css_class (child, "error");
      else if (run->status == CONVOLVE_RUN_STATUS_RUNNING)
        gtk_widget_add_css_class (child, "accent");
    }
}

static void
add_column (ConvolveRunsPage *self,
            const char       *title,
            const char       *property,
            gboolean          expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;
  GtkExpression *expression = gtk_property_expression_new (CONVOLVE_TYPE_RUN_ROW, NULL, property);
  GObjectClass *row_class = g_type_class_peek (CONVOLVE_TYPE_RUN_ROW);
  GParamSpec *pspec = g_object_class_find_property (row_class, property);
  GtkSorter *sorter;

  g_assert (pspec != NULL);
  g_object_set_data (G_OBJECT (factory), "convolve-property", (gpointer) g_param_spec_get_name (pspec));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), self);
  column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (column, expand);
  gtk_column_view_column_set_resizable (column, TRUE);
  if (G_IS_PARAM_SPEC_STRING (pspec))
    sorter = GTK_SORTER (gtk_string_sorter_new (expression));
  else
    sorter = GTK_SORTER (gtk_numeric_sorter_new (expression));
  gtk_column_view_column_set_sorter (column, sorter);
  g_object_unref (sorter);
  gtk_column_view_append_column (self->run_view, column);
  g_object_unref (column);
}

static gboolean
dataset_filter_func (gpointer item,
                     gpointer user_data)
{
  ConvolveRunsPage *self = user_data;

  return self->dataset_filter == NULL ||
         g_strcmp0 (convolve_run_row_get_record (CONVOLVE_RUN_ROW (item))->dataset_name, self->dataset_filter) == 0;
}

static void
dataset_selected_cb (ConvolveRunsPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->dataset_dropdown);

  g_clear_pointer (&self->dataset_filter, g_free);
  if (selected != GTK_INVALID_LIST_POSITION && selected > 0 && self->dataset_keys != NULL &&
      selected < self->dataset_keys->len)
    self->dataset_filter = g_strdup (g_ptr_array_index (self->dataset_keys, selected));
  gtk_filter_changed (gtk_filter_list_model_get_filter (self->filtered), GTK_FILTER_CHANGE_DIFFERENT);
  update_comparison (self);
}

static void
selection_changed_cb (ConvolveRunsPage *self)
{
  g_autoptr(GArray) ids = selected_ids (self);
  gboolean any_running = FALSE;
  gboolean has_model = FALSE;
  GListModel *model = G_LIST_MODEL (self->selection);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
      {
        g_autoptr(ConvolveRunRow) row = g_list_model_get_item (model, i);

        any_running |= convolve_run_row_get_record (row)->status == CONVOLVE_RUN_STATUS_RUNNING;
        has_model = convolve_run_row_get_record (row)->model_path != NULL || convolve_run_row_get_record (row)->best_checkpoint_path != NULL ||
                    convolve_run_row_get_record (row)->checkpoint_path != NULL;
      }
  /* A run that trains now cannot be deleted under its recorder. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.delete", ids->len > 0 && !any_running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.open-model", ids->len == 1 && has_model);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.resume", resume_target (self) > 0);
  update_comparison (self);
}

/* ---- actions ------------------------------------------------------------------ */

static ConvolveRunRow *
first_selected (ConvolveRunsPage *self)
{
  GListModel *model = G_LIST_MODEL (self->selection);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
      return g_list_model_get_item (model, i);
  return NULL;
}

static void
open_model_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (widget);
  g_autoptr(ConvolveRunRow) row = first_selected (self);
  const char *paths[3];

  if (row == NULL)
    return;
  /* The saved model, else the best epoch's weights, else the last ones. */
  paths[0] = convolve_run_row_get_record (row)->model_path;
  paths[1] = convolve_run_row_get_record (row)->best_checkpoint_path;
  paths[2] = convolve_run_row_get_record (row)->checkpoint_path;
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    if (paths[i] != NULL && paths[i][0] != '\0' && g_file_test (paths[i], G_FILE_TEST_IS_REGULAR))
      {
        g_signal_emit (self, signals[OPEN_MODEL], 0, paths[i]);
        return;
      }
  _convolve_runs_page_show_toast (self, _("The run’s model file is gone"));
}

static gboolean
is_resumable (const ConvolveRunRecord *run)
{
  return (run->status == CONVOLVE_RUN_STATUS_INTERRUPTED || run->status == CONVOLVE_RUN_STATUS_STOPPED) &&
         run->checkpoint_path != NULL && run->checkpoint_path[0] != '\0';
}

/* What Resume continues: the one selected run if it can be resumed, else
 * the newest interrupted run with a checkpoint; 0 for none. */
static gint64
resume_target (ConvolveRunsPage *self)
{
  g_autoptr(GArray) ids = selected_ids (self);
  GListModel *rows = G_LIST_MODEL (self->rows);
  gint64 target = 0;
  gint64 newest = G_MININT64;

  if (ids->len == 1)
    {
      g_autoptr(ConvolveRunRow) row = first_selected (self);

      if (row != NULL && is_resumable (convolve_run_row_get_record (row)))
        return convolve_run_row_get_record (row)->id;
    }
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(ConvolveRunRow) row = g_list_model_get_item (rows, i);
      const ConvolveRunRecord *run = convolve_run_row_get_record (row);

      if (run->status == CONVOLVE_RUN_STATUS_INTERRUPTED && is_resumable (run) && run->created_at > newest)
        {
          newest = run->created_at;
          target = run->id;
        }
    }
  return target;
}

static void
resume_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (widget);
  gint64 id = resume_target (self);

  if (id > 0)
    g_signal_emit (self, signals[RESUME_RUN], 0, id);
}

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    ConvolveRunsPage *self)
{
  GArray *ids = g_object_get_data (G_OBJECT (dialog), "convolve-ids");

  if (g_strcmp0 (response, "delete") == 0)
    convolve_runs_page_delete_runs (self, (const gint64 *) ids->data, ids->len);
  g_object_unref (self);
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (widget);
  g_autoptr(GArray) ids = selected_ids (self);
  g_autoptr(GString) files = g_string_new (NULL);
  GListModel *model = G_LIST_MODEL (self->selection);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  if (ids->len == 0)
    return;
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
      {
        g_autoptr(ConvolveRunRow) row = g_list_model_get_item (model, i);
        const char *paths[] = { convolve_run_row_get_record (row)->checkpoint_path, convolve_run_row_get_record (row)->best_checkpoint_path,
                                convolve_run_row_get_record (row)->model_path };

        for (guint p = 0; p < G_N_ELEMENTS (paths); p++)
          if (paths[p] != NULL && paths[p][0] != '\0' && g_file_test (paths[p], G_FILE_TEST_EXISTS))
            g_string_append_printf (files, "\n%s", paths[p]);
      }

  heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Delete %u Run?", "Delete %u Runs?", ids->len), ids->len);
  if (files->len > 0)
    /* Translators: %s is a list of file names, one a line */
    body = g_strdup_printf (_("The runs’ records and these files are deleted for good:%s"), files->str);
  else
    body = g_strdup (_("The runs’ records are deleted for good. They have no files left."));
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "convolve-ids", g_steal_pointer (&ids), (GDestroyNotify) g_array_unref);
  g_signal_connect (dialog, "response", G_CALLBACK (delete_response_cb), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- following the session ---------------------------------------------------- */

static gboolean
live_reload_cb (gpointer user_data)
{
  ConvolveRunsPage *self = user_data;

  self->reload_source = 0;
  convolve_runs_page_reload (self);
  return G_SOURCE_REMOVE;
}

/* A hidden page does not follow a run epoch by epoch: rebinding its rows
 * asks the window for a new size, which on X11 is a round trip to the
 * display server per cell. It notes that it is behind and catches up when
 * shown; a run's start and end still reach it at once. */
static gboolean  /* TRUE: hidden, the reload waits */
fall_behind_if_hidden (ConvolveRunsPage *self)
{
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    return FALSE;
  self->behind = TRUE;
  return TRUE;
}

static gboolean
poll_cb (gpointer user_data)
{
  ConvolveRunsPage *self = user_data;

  self->poll_source = 0;
  if (!fall_behind_if_hidden (self))
    convolve_runs_page_reload (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reload (ConvolveRunsPage *self)
{
  if (self->reload_source == 0)
    self->reload_source = g_timeout_add (LIVE_RELOAD_MS, live_reload_cb, self);
}

static void
session_progress_cb (ConvolveRunsPage *self,
                     ConvolveProgress *progress)
{
  /* An epoch's end, or the run's state, changes the row; steps do not. */
  if (progress->epoch != self->live_epoch || progress->state != self->live_state ||
      progress->history_n_epochs != (guint) MAX (self->live_epoch, 0))
    {
      gboolean state_changed = progress->state != self->live_state;

      self->live_epoch = progress->epoch;
      self->live_state = progress->state;
      if (state_changed || !fall_behind_if_hidden (self))
        schedule_reload (self);
    }
}

static void
convolve_runs_page_map (GtkWidget *widget)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (widget);

  GTK_WIDGET_CLASS (convolve_runs_page_parent_class)->map (widget);
  if (self->behind)
    convolve_runs_page_reload (self);
}

void
convolve_runs_page_set_session (ConvolveRunsPage *self,
                                ConvolveSession  *session)
{
  g_return_if_fail (CONVOLVE_IS_RUNS_PAGE (self));
  g_return_if_fail (session == NULL || CONVOLVE_IS_SESSION (session));

  if (self->session != NULL)
    {
      g_clear_signal_handler (&self->run_changed_handler, self->session);
      g_clear_signal_handler (&self->progress_handler, self->session);
      g_object_remove_weak_pointer (G_OBJECT (self->session), (gpointer *) &self->session);
    }
  self->session = session;
  if (session == NULL)
    return;
  g_object_add_weak_pointer (G_OBJECT (session), (gpointer *) &self->session);
  self->run_changed_handler = g_signal_connect_swapped (session, "run-changed", G_CALLBACK (schedule_reload), self);
  self->progress_handler = g_signal_connect_swapped (session, "progress", G_CALLBACK (session_progress_cb), self);
}

/* ---- the rest ----------------------------------------------------------------- */

void
convolve_runs_page_set_store_path (ConvolveRunsPage *self,
                                   const char       *path)
{
  g_return_if_fail (CONVOLVE_IS_RUNS_PAGE (self));

  g_free (self->store_path);
  self->store_path = g_strdup (path);
  g_clear_pointer (&self->store, convolve_run_store_unref);
  convolve_runs_page_reload (self);
}

gboolean
convolve_runs_page_is_busy (ConvolveRunsPage *self)
{
  g_return_val_if_fail (CONVOLVE_IS_RUNS_PAGE (self), FALSE);
  return self->n_pending > 0 || self->reload_source != 0;
}

GListModel *
convolve_runs_page_get_runs (ConvolveRunsPage *self)
{
  g_return_val_if_fail (CONVOLVE_IS_RUNS_PAGE (self), NULL);
  return G_LIST_MODEL (self->selection);
}

void
convolve_runs_page_select_runs (ConvolveRunsPage *self,
                                const gint64     *ids,
                                guint             n_ids)
{
  GListModel *model;
  g_autoptr(GtkBitset) selected = gtk_bitset_new_empty ();
  g_autoptr(GtkBitset) mask = NULL;

  g_return_if_fail (CONVOLVE_IS_RUNS_PAGE (self));

  model = G_LIST_MODEL (self->selection);
  mask = gtk_bitset_new_range (0, g_list_model_get_n_items (model));
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ConvolveRunRow) row = g_list_model_get_item (model, i);

      for (guint k = 0; k < n_ids; k++)
        if (ids[k] == convolve_run_row_get_record (row)->id)
          gtk_bitset_add (selected, i);
    }
  gtk_selection_model_set_selection (GTK_SELECTION_MODEL (self->selection), selected, mask);
}

const ConvolveRunComparison *
convolve_runs_page_get_comparison (ConvolveRunsPage *self)
{
  g_return_val_if_fail (CONVOLVE_IS_RUNS_PAGE (self), NULL);
  return self->comparison;
}

static void
convolve_runs_page_dispose (GObject *object)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  convolve_runs_page_set_session (self, NULL);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_RUNS_PAGE);
  g_clear_object (&self->selection);
  G_OBJECT_CLASS (convolve_runs_page_parent_class)->dispose (object);
}

static void
convolve_runs_page_finalize (GObject *object)
{
  ConvolveRunsPage *self = CONVOLVE_RUNS_PAGE (object);

  g_clear_object (&self->rows);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->store, convolve_run_store_unref);
  g_clear_pointer (&self->comparison, convolve_run_comparison_free);
  g_free (self->store_path);
  g_free (self->dataset_filter);
  g_clear_pointer (&self->dataset_keys, g_ptr_array_unref);
  G_OBJECT_CLASS (convolve_runs_page_parent_class)->finalize (object);
}

static void
convolve_runs_page_class_init (ConvolveRunsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_runs_page_dispose;
  object_class->finalize = convolve_runs_page_finalize;
  widget_class->map = convolve_runs_page_map;
  /* The columns' sorters look up the rows' properties. */
  g_type_class_ref (CONVOLVE_TYPE_RUN_ROW);

  signals[OPEN_MODEL] =
    g_signal_new ("open-model", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  signals[RESUME_RUN] =
    g_signal_new ("resume-run", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-runs-page.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, interrupted_revealer);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, interrupted_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, dataset_dropdown);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, dataset_list);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, group_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, run_view);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, accuracy_area);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, loss_area);
  gtk_widget_class_bind_template_child (widget_class, ConvolveRunsPage, compare_grid);

  gtk_widget_class_install_action (widget_class, "runs.export", "s", _convolve_runs_page_export_action);
  gtk_widget_class_install_action (widget_class, "runs.open-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "runs.delete", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "runs.resume", NULL, resume_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "runs.delete", NULL);
}

static void
convolve_runs_page_init (ConvolveRunsPage *self)
{
  GtkCustomFilter *filter;
  GtkSorter *sorter;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->live_epoch = -1;
  self->live_state = CONVOLVE_TRAINER_IDLE;

  self->rows = g_list_store_new (CONVOLVE_TYPE_RUN_ROW);
  filter = gtk_custom_filter_new (dataset_filter_func, self, NULL);
  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)), GTK_FILTER (filter));
  sorter = gtk_column_view_get_sorter (self->run_view);
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (self->filtered), g_object_ref (sorter));
  self->selection = gtk_multi_selection_new (G_LIST_MODEL (self->sorted));
  gtk_column_view_set_model (self->run_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_swapped (self->selection, "selection-changed", G_CALLBACK (selection_changed_cb), self);

  /* Translators: column titles of the runs list */
  add_column (self, _("Name"), "name", TRUE);
  add_column (self, _("Started"), "started", FALSE);
  add_column (self, _("Dataset"), "dataset", FALSE);
  add_column (self, _("Model"), "model", TRUE);
  add_column (self, _("Settings"), "settings", TRUE);
  add_column (self, _("Epochs"), "epochs", FALSE);
  add_column (self, _("Best"), "best-accuracy", FALSE);
  add_column (self, _("Final"), "final-accuracy", FALSE);
  add_column (self, _("Duration"), "duration", FALSE);
  add_column (self, _("Status"), "status", FALSE);

  g_signal_connect_swapped (self->dataset_dropdown, "notify::selected", G_CALLBACK (dataset_selected_cb), self);
  g_signal_connect_swapped (self->group_button, "toggled", G_CALLBACK (update_comparison), self);
  gtk_drawing_area_set_draw_func (self->accuracy_area, _convolve_runs_page_draw_plot, self, NULL);
  gtk_drawing_area_set_draw_func (self->loss_area, _convolve_runs_page_draw_plot, self, NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.delete", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.open-model", FALSE);
  update_comparison (self);
  update_header (self);
}

GtkWidget *
convolve_runs_page_new (void)
{
  return g_object_new (CONVOLVE_TYPE_RUNS_PAGE, NULL);
}
