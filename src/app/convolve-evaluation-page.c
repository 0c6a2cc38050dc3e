/* convolve-evaluation-page.c: the evaluation page.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <adwaita.h>
#include <string.h>

#include "convolve-evaluation-page.h"
#include "convolve-confusion-render.h"
#include "convolve-confusion-view.h"
#include "convolve-metrics.h"

/* The pairs listed: enough to see a pattern, few enough to read. */
#define MAX_CONFUSED_PAIRS 10

/* ---- one row of the per-class table ------------------------------------------ */

#define CONVOLVE_TYPE_CLASS_ROW (convolve_class_row_get_type ())
G_DECLARE_FINAL_TYPE (ConvolveClassRow, convolve_class_row, CONVOLVE, CLASS_ROW, GObject)

struct _ConvolveClassRow
{
  GObject  parent_instance;
  int      index;
  char    *name;
  double   precision, recall, f1;
  guint    support;
};

G_DEFINE_FINAL_TYPE (ConvolveClassRow, convolve_class_row, G_TYPE_OBJECT)

enum {
  ROW_PROP_0,
  ROW_PROP_INDEX,
  ROW_PROP_NAME,
  ROW_PROP_PRECISION,
  ROW_PROP_RECALL,
  ROW_PROP_F1,
  ROW_PROP_SUPPORT,
  ROW_N_PROPS
};

static GParamSpec *row_properties[ROW_N_PROPS];

static void
convolve_class_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ConvolveClassRow *self = CONVOLVE_CLASS_ROW (object);

  switch (prop_id)
    {
    case ROW_PROP_INDEX:     g_value_set_int (value, self->index); break;
    case ROW_PROP_NAME:      g_value_set_string (value, self->name); break;
    case ROW_PROP_PRECISION: g_value_set_double (value, self->precision); break;
    case ROW_PROP_RECALL:    g_value_set_double (value, self->recall); break;
    case ROW_PROP_F1:        g_value_set_double (value, self->f1); break;
    case ROW_PROP_SUPPORT:   g_value_set_uint (value, self->support); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_class_row_finalize (GObject *object)
{
  g_free (CONVOLVE_CLASS_ROW (object)->name);
  G_OBJECT_CLASS (convolve_class_row_parent_class)->finalize (object);
}

static void
convolve_class_row_class_init (ConvolveClassRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = convolve_class_row_get_property;
  object_class->finalize = convolve_class_row_finalize;
  row_properties[ROW_PROP_INDEX] = g_param_spec_int ("index", NULL, NULL, 0, G_MAXINT, 0, flags);
  row_properties[ROW_PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  row_properties[ROW_PROP_PRECISION] = g_param_spec_double ("precision", NULL, NULL, 0, 1, 0, flags);
  row_properties[ROW_PROP_RECALL] = g_param_spec_double ("recall", NULL, NULL, 0, 1, 0, flags);
  row_properties[ROW_PROP_F1] = g_param_spec_double ("f1", NULL, NULL, 0, 1, 0, flags);
  row_properties[ROW_PROP_SUPPORT] = g_param_spec_uint ("support", NULL, NULL, 0, G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, ROW_N_PROPS, row_properties);
}

static void
convolve_class_row_init (ConvolveClassRow *self)
{
}

static ConvolveClassRow *
convolve_class_row_new (int                         index,
                        const char                 *name,
                        const ConvolveClassMetrics *metrics)
{
  ConvolveClassRow *row = g_object_new (CONVOLVE_TYPE_CLASS_ROW, NULL);

  row->index = index;
  row->name = g_strdup (name);
  row->precision = metrics->precision;
  row->recall = metrics->recall;
  row->f1 = metrics->f1;
  row->support = metrics->support;
  return row;
}

/* ---- the page -------------------------------------------------------------- */

struct _ConvolveEvaluationPage
{
  GtkWidget              parent_instance;

  AdwToastOverlay       *toast_overlay;
  GtkStack              *stack;
  AdwStatusPage         *empty_page;
  GtkProgressBar        *empty_progress;
  GtkWidget             *evaluate_button;
  GtkProgressBar        *results_progress;
  GtkLabel              *subtitle_label;
  ConvolveConfusionView *confusion_view;
  GtkLabel              *readout_label;
  GtkColumnView         *class_view;
  GtkGrid               *summary_grid;
  GtkListBox            *pairs_list;
  GtkLabel              *no_pairs_label;

  GListStore            *rows;
  GArray                *pairs;   /* ConvolveConfusedPair, as listed */
  ConvolveEvaluation    *evaluation;
  char                 **class_names;
  gboolean               stale;   /* the views wait for the page to be shown */
  GCancellable          *cancellable;
};

G_DEFINE_FINAL_TYPE (ConvolveEvaluationPage, convolve_evaluation_page, GTK_TYPE_WIDGET)

enum {
  SHOW_IMAGES,
  SHOW_TOP_LOSSES,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static GWeakRef *
weak_ref_new (gpointer object)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, object);
  return ref;
}

static gpointer
weak_ref_steal (GWeakRef *ref)
{
  gpointer object = g_weak_ref_get (ref);

  g_weak_ref_clear (ref);
  g_free (ref);
  return object;
}

static void
show_toast (ConvolveEvaluationPage *self,
            const char             *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

/* ---- table ------------------------------------------------------------------ */

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  const char *property = user_data;
  GtkWidget *label = gtk_label_new (NULL);

  if (g_strcmp0 (property, "name") == 0)
    {
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
    }
  else
    {
      gtk_label_set_xalign (GTK_LABEL (label), 1.0);
      gtk_widget_add_css_class (label, "numeric");
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  const char *property = user_data;
  ConvolveClassRow *row = gtk_list_item_get_item (item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (item));
  g_autofree char *text = NULL;

  if (g_strcmp0 (property, "name") == 0)
    text = g_strdup (row->name);
  else if (g_strcmp0 (property, "support") == 0)
    text = g_strdup_printf ("%u", row->support);
  else
    {
      double value;

      g_object_get (row, property, &value, NULL);
      text = g_strdup_printf ("%.3f", value);
    }
  gtk_label_set_text (label, text);
}

static void
add_column (ConvolveEvaluationPage *self,
            const char             *title,
            const char             *property,
            gboolean                expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;
  GtkExpression *expression = gtk_property_expression_new (CONVOLVE_TYPE_CLASS_ROW, NULL, property);
  GtkSorter *sorter;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), (gpointer) property);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), (gpointer) property);
  column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (column, expand);
  if (g_strcmp0 (property, "name") == 0)
    sorter = GTK_SORTER (gtk_string_sorter_new (expression));
  else
    sorter = GTK_SORTER (gtk_numeric_sorter_new (expression));
  gtk_column_view_column_set_sorter (column, sorter);
  g_object_unref (sorter);
  gtk_column_view_append_column (self->class_view, column);
  g_object_unref (column);
}

static GtkWidget *
summary_label (const char *text,
               gboolean    numeric)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1.0 : 0.0);
  if (numeric)
    gtk_widget_add_css_class (label, "numeric");
  return label;
}

static void
fill_summary (ConvolveEvaluationPage *self,
              const ConvolveMetrics  *metrics)
{
  GtkWidget *child;
  const struct { const char *name; const ConvolveClassMetrics *m; } rows[] = {
    { _("Macro average"), &metrics->macro },
    { _("Weighted average"), &metrics->weighted },
  };
  const char *headers[] = { _("Precision"), _("Recall"), _("F1") };
  g_autofree char *accuracy = g_strdup_printf ("%.3f", metrics->accuracy);
  g_autofree char *loss = g_strdup_printf ("%.3f", self->evaluation->loss);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->summary_grid))) != NULL)
    gtk_grid_remove (self->summary_grid, child);

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      GtkWidget *header = summary_label (headers[i], TRUE);

      gtk_widget_add_css_class (header, "dim-label");
      gtk_grid_attach (self->summary_grid, header, 1 + i, 0, 1, 1);
    }
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      double values[] = { rows[r].m->precision, rows[r].m->recall, rows[r].m->f1 };
      GtkWidget *name = summary_label (rows[r].name, FALSE);

      gtk_widget_set_hexpand (name, TRUE);
      gtk_grid_attach (self->summary_grid, name, 0, 1 + r, 1, 1);
      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        {
          g_autofree char *text = g_strdup_printf ("%.3f", values[i]);

          gtk_grid_attach (self->summary_grid, summary_label (text, TRUE), 1 + i, 1 + r, 1, 1);
        }
    }
  gtk_grid_attach (self->summary_grid, summary_label (_("Accuracy"), FALSE), 0, 3, 1, 1);
  gtk_grid_attach (self->summary_grid, summary_label (accuracy, TRUE), 3, 3, 1, 1);
  gtk_grid_attach (self->summary_grid, summary_label (_("Loss"), FALSE), 0, 4, 1, 1);
  gtk_grid_attach (self->summary_grid, summary_label (loss, TRUE), 3, 4, 1, 1);
}

static void
fill_pairs (ConvolveEvaluationPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->pairs_list))) != NULL)
    gtk_list_box_remove (self->pairs_list, child);
  g_clear_pointer (&self->pairs, g_array_unref);
  if (self->evaluation == NULL)
    return;

  self->pairs = convolve_metrics_confused_pairs (self->evaluation, MAX_CONFUSED_PAIRS);
  for (guint i = 0; i < self->pairs->len; i++)
    {
      ConvolveConfusedPair *pair = &g_array_index (self->pairs, ConvolveConfusedPair, i);
      g_autofree char *truth = convolve_metrics_class_name ((const char * const *) self->class_names,
                                                            pair->true_class);
      g_autofree char *guess = convolve_metrics_class_name ((const char * const *) self->class_names,
                                                            pair->predicted_class);
      /* Translators: a pair of classes the model confuses and how many
       * images of the first it took for the second */
      g_autofree char *title = g_strdup_printf (_("%s → %s: %u"), truth, guess, pair->count);
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      gtk_widget_set_tooltip_text (row, _("Show these images"));
      gtk_list_box_append (self->pairs_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->pairs_list), self->pairs->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->no_pairs_label), self->pairs->len == 0);
}

/* ---- callbacks ------------------------------------------------------------- */

static void
cell_activated_cb (ConvolveEvaluationPage *self,
                   int                     true_class,
                   int                     predicted_class)
{
  g_signal_emit (self, signals[SHOW_IMAGES], 0, true_class, predicted_class);
}

static void
pair_activated_cb (ConvolveEvaluationPage *self,
                   GtkListBoxRow          *row)
{
  int index = gtk_list_box_row_get_index (row);
  ConvolveConfusedPair *pair;

  if (self->pairs == NULL || index < 0 || (guint) index >= self->pairs->len)
    return;
  pair = &g_array_index (self->pairs, ConvolveConfusedPair, index);
  convolve_confusion_view_set_focus_cell (self->confusion_view, pair->true_class, pair->predicted_class);
  g_signal_emit (self, signals[SHOW_IMAGES], 0, pair->true_class, pair->predicted_class);
}

static void
readout_changed_cb (ConvolveEvaluationPage *self)
{
  const char *readout = convolve_confusion_view_get_readout (self->confusion_view);

  gtk_label_set_text (self->readout_label,
                      readout != NULL && *readout != '\0' ? readout
                      : _("Point at a cell or focus the matrix; click or press Enter to see its images"));
}

static void
show_top_losses_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  g_signal_emit (widget, signals[SHOW_TOP_LOSSES], 0);
}

/* ---- export ---------------------------------------------------------------- */

static const struct {
  const char *target;
  const char *file_name;  /* what the save dialog suggests */
  const char *title;
  const char *filter_name;
  const char *suffix;
} exports[] = {
  { CONVOLVE_EVALUATION_EXPORT_CONFUSION_PNG, "confusion.png", N_("Export Confusion Matrix"), N_("PNG Images"), "png" },
  { CONVOLVE_EVALUATION_EXPORT_CONFUSION_SVG, "confusion.svg", N_("Export Confusion Matrix"), N_("SVG Images"), "svg" },
  { CONVOLVE_EVALUATION_EXPORT_PER_CLASS, "per-class.csv", N_("Export Per-Class Table"), N_("CSV Files"), "csv" },
  { CONVOLVE_EVALUATION_EXPORT_PREDICTIONS, "predictions.csv", N_("Export Predictions"), N_("CSV Files"), "csv" },
};

static int
find_export (const char *target)
{
  for (guint i = 0; i < G_N_ELEMENTS (exports); i++)
    if (g_strcmp0 (exports[i].target, target) == 0)
      return i;
  return -1;
}

static void
exported_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ConvolveEvaluationPage) self = weak_ref_steal (user_data);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_file_get_basename (G_FILE (source));
  g_autofree char *message = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* Translators: a file name and why it could not be written */
      message = g_strdup_printf (_("Could not export to “%s”: %s"), name, error->message);
    }
  else if (self != NULL)
    /* Translators: %s is a file name */
    message = g_strdup_printf (_("Exported to “%s”"), name);
  if (self != NULL)
    show_toast (self, message);
}

void
convolve_evaluation_page_export (ConvolveEvaluationPage *self,
                                 const char             *target,
                                 GFile                  *file)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *names;
  int index;

  g_return_if_fail (CONVOLVE_IS_EVALUATION_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  index = find_export (target);
  g_return_if_fail (index >= 0);
  if (self->evaluation == NULL)
    return;
  names = (const char * const *) self->class_names;

  /* Making the bytes is quick; writing them (the slow part) is not done
   * here. Files are drawn black on white whatever the app's style. */
  if (g_str_has_prefix (target, "confusion-"))
    bytes = convolve_confusion_render (g_str_has_suffix (target, "svg") ? CONVOLVE_REPORT_FORMAT_SVG
                                                                         : CONVOLVE_REPORT_FORMAT_PNG,
                                       CONVOLVE_CONFUSION_EXPORT_SIZE, CONVOLVE_CONFUSION_EXPORT_SIZE,
                                       self->evaluation, names, NULL, &error);
  else if (g_strcmp0 (target, CONVOLVE_EVALUATION_EXPORT_PER_CLASS) == 0)
    {
      g_autoptr(ConvolveMetrics) metrics = convolve_metrics_new (self->evaluation);
      char *text = convolve_metrics_to_csv (metrics, names);

      bytes = g_bytes_new_take (text, strlen (text));
    }
  else
    {
      char *text = convolve_evaluation_predictions_to_csv (self->evaluation, names);

      bytes = g_bytes_new_take (text, strlen (text));
    }
  if (bytes == NULL)
    {
      show_toast (self, error->message);
      return;
    }
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       self->cancellable, exported_cb, weak_ref_new (self));
}

typedef struct {
  GWeakRef *page;
  char     *target;
} ChooserData;

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     ChooserData     *data)
{
  g_autoptr(ConvolveEvaluationPage) self = weak_ref_steal (data->page);

  if (self != NULL && response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        convolve_evaluation_page_export (self, data->target, file);
    }
  g_free (data->target);
  g_free (data);
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  ConvolveEvaluationPage *self = CONVOLVE_EVALUATION_PAGE (widget);
  const char *target = g_variant_get_string (parameter, NULL);
  int index = find_export (target);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = NULL;
  ChooserData *data;

  if (index < 0 || self->evaluation == NULL)
    return;

  chooser = gtk_file_chooser_native_new (_(exports[index].title),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _(exports[index].filter_name));
  gtk_file_filter_add_suffix (filter, exports[index].suffix);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), exports[index].file_name);

  data = g_new0 (ChooserData, 1);
  data->page = weak_ref_new (self);
  data->target = g_strdup (target);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- public ------------------------------------------------------------------- */

/* Fills the views from the evaluation held. A page being shown (catching
 * up) shows its state at once: cross-fading in what was never on screen
 * only costs frames (two window-sized offscreen surfaces each, with the
 * cairo renderer). */
static void
show_evaluation (ConvolveEvaluationPage *self)
{
  g_autoptr(ConvolveMetrics) metrics = NULL;
  GtkStackTransitionType transition = self->stale ? GTK_STACK_TRANSITION_TYPE_NONE
                                                  : gtk_stack_get_transition_type (self->stack);

  self->stale = FALSE;
  g_list_store_remove_all (self->rows);
  convolve_confusion_view_set_evaluation (self->confusion_view, self->evaluation,
                                          (const char * const *) self->class_names);
  fill_pairs (self);
  if (self->evaluation == NULL)
    {
      gtk_stack_set_visible_child_full (self->stack, "empty", transition);
      return;
    }

  metrics = convolve_metrics_new (self->evaluation);
  for (int c = 0; c < metrics->n_classes; c++)
    {
      g_autofree char *name = convolve_metrics_class_name ((const char * const *) self->class_names, c);
      g_autoptr(ConvolveClassRow) row = convolve_class_row_new (c, name, &metrics->classes[c]);

      g_list_store_append (self->rows, row);
    }
  fill_summary (self, metrics);
  {
    /* Translators: under the page title: the test images evaluated and
     * the share of them the model got right */
    g_autofree char *subtitle = g_strdup_printf (g_dngettext (NULL, "%u image, %.1f %% right",
                                                                    "%u images, %.1f %% right",
                                                              self->evaluation->n_images),
                                                 self->evaluation->n_images, 100.0 * metrics->accuracy);

    gtk_label_set_text (self->subtitle_label, subtitle);
  }
  gtk_stack_set_visible_child_full (self->stack, "results", transition);
}

/* While training, a new evaluation comes at every epoch's end. A hidden
 * page keeps it and fills its views when shown: the confusion matrix,
 * the class table and the pairs cost the main loop tens of milliseconds
 * (text measured, rows bound) that nobody would see. */
void
convolve_evaluation_page_set_evaluation (ConvolveEvaluationPage   *self,
                                         const ConvolveEvaluation *evaluation,
                                         const char * const       *class_names)
{
  g_return_if_fail (CONVOLVE_IS_EVALUATION_PAGE (self));

  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  if (evaluation != NULL && evaluation->n_classes > 0)
    {
      self->evaluation = convolve_evaluation_copy (evaluation);
      self->class_names = g_strdupv ((char **) class_names);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluation.export", self->evaluation != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluation.show-top-losses", self->evaluation != NULL);
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    show_evaluation (self);
  else
    self->stale = TRUE;
}

void
convolve_evaluation_page_set_evaluating (ConvolveEvaluationPage *self,
                                         gboolean                evaluating,
                                         double                  fraction)
{
  g_return_if_fail (CONVOLVE_IS_EVALUATION_PAGE (self));

  fraction = CLAMP (fraction, 0.0, 1.0);
  gtk_progress_bar_set_fraction (self->empty_progress, fraction);
  gtk_progress_bar_set_fraction (self->results_progress, fraction);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_progress), evaluating);
  gtk_widget_set_visible (self->evaluate_button, !evaluating);
  gtk_widget_set_visible (GTK_WIDGET (self->results_progress), evaluating && self->evaluation != NULL);
  adw_status_page_set_title (self->empty_page, evaluating ? _("Evaluating the Test Set…")
                                                          : _("No Evaluation Yet"));
  adw_status_page_set_description (self->empty_page,
                                   evaluating ? _("Each test image is classified once; the results appear here.")
                                              : _("The test set is evaluated at the end of each epoch. Train a model "
                                                  "to see which classes it gets right and which it confuses."));
}

/* ---- GObject ------------------------------------------------------------------ */

static void
convolve_evaluation_page_map (GtkWidget *widget)
{
  ConvolveEvaluationPage *self = CONVOLVE_EVALUATION_PAGE (widget);

  GTK_WIDGET_CLASS (convolve_evaluation_page_parent_class)->map (widget);
  if (self->stale)
    show_evaluation (self);
}

static void
convolve_evaluation_page_dispose (GObject *object)
{
  ConvolveEvaluationPage *self = CONVOLVE_EVALUATION_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_EVALUATION_PAGE);
  G_OBJECT_CLASS (convolve_evaluation_page_parent_class)->dispose (object);
}

static void
convolve_evaluation_page_finalize (GObject *object)
{
  ConvolveEvaluationPage *self = CONVOLVE_EVALUATION_PAGE (object);

  g_clear_object (&self->rows);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pairs, g_array_unref);
  g_clear_pointer (&self->evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  G_OBJECT_CLASS (convolve_evaluation_page_parent_class)->finalize (object);
}

static void
convolve_evaluation_page_class_init (ConvolveEvaluationPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_evaluation_page_dispose;
  object_class->finalize = convolve_evaluation_page_finalize;
  widget_class->map = convolve_evaluation_page_map;

  /**
   * ConvolveEvaluationPage::show-images:
   * @true_class: the images' true class
   * @predicted_class: what the model took them for
   *
   * A cell of the matrix or a confused pair was activated.
   */
  signals[SHOW_IMAGES] =
    g_signal_new ("show-images", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  signals[SHOW_TOP_LOSSES] =
    g_signal_new ("show-top-losses", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "evaluation.export", "s", export_action);
  gtk_widget_class_install_action (widget_class, "evaluation.show-top-losses", NULL, show_top_losses_action);

  g_type_ensure (CONVOLVE_TYPE_CONFUSION_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/convolve/Convolve/ui/convolve-evaluation-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, stack);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, empty_progress);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, evaluate_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, results_progress);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, confusion_view);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, readout_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, class_view);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, summary_grid);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, pairs_list);
  gtk_widget_class_bind_template_child (widget_class, ConvolveEvaluationPage, no_pairs_label);
  gtk_widget_class_bind_template_callback (widget_class, cell_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, pair_activated_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
convolve_evaluation_page_init (ConvolveEvaluationPage *self)
{
  g_autoptr(GtkSortListModel) sorted = NULL;
  g_autoptr(GtkNoSelection) selection = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->rows = g_list_store_new (CONVOLVE_TYPE_CLASS_ROW);

  add_column (self, _("Class"), "name", TRUE);
  add_column (self, _("Precision"), "precision", FALSE);
  add_column (self, _("Recall"), "recall", FALSE);
  add_column (self, _("F1"), "f1", FALSE);
  add_column (self, _("Images"), "support", FALSE);
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)),
                                    g_object_ref (gtk_column_view_get_sorter (self->class_view)));
  selection = gtk_no_selection_new (G_LIST_MODEL (g_steal_pointer (&sorted)));
  gtk_column_view_set_model (self->class_view, GTK_SELECTION_MODEL (selection));

  g_signal_connect_object (self->confusion_view, "notify::readout", G_CALLBACK (readout_changed_cb),
                           self, G_CONNECT_SWAPPED);
  readout_changed_cb (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluation.export", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluation.show-top-losses", FALSE);
}

GtkWidget *
convolve_evaluation_page_new (void)
{
  return g_object_new (CONVOLVE_TYPE_EVALUATION_PAGE, NULL);
}
