/* convolve-sample-grid.c: a page of 5 x 5 dataset samples.
 *
 * The grid pages over a list of indices into the dataset shown: all of
 * them, those of one class, or an evaluation subset (one cell of the
 * confusion matrix, or the top losses), which carries a copy of its
 * evaluation so that the tiles can say what was predicted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <math.h>

#include "convolve-image-view.h"
#include "convolve-sample-grid.h"

/* ------------------------------------------------------ ConvolveSampleRef */

ConvolveSampleRef *
convolve_sample_ref_new (ConvolveDataset *dataset,
                         guint            index)
{
  ConvolveSampleRef *ref;

  g_return_val_if_fail (dataset != NULL, NULL);

  ref = g_new (ConvolveSampleRef, 1);
  ref->dataset = convolve_dataset_ref (dataset);
  ref->index = index;
  return ref;
}

ConvolveSampleRef *
convolve_sample_ref_copy (const ConvolveSampleRef *ref)
{
  g_return_val_if_fail (ref != NULL, NULL);
  return convolve_sample_ref_new (ref->dataset, ref->index);
}

void
convolve_sample_ref_free (ConvolveSampleRef *ref)
{
  if (ref == NULL)
    return;
  convolve_dataset_unref (ref->dataset);
  g_free (ref);
}

G_DEFINE_BOXED_TYPE (ConvolveSampleRef, convolve_sample_ref, convolve_sample_ref_copy, convolve_sample_ref_free)

/* ----------------------------------------------------- ConvolveSampleGrid */

typedef struct {
  GtkWidget *button;
  GtkWidget *image;
  GtkWidget *badge;
  GtkWidget *label;
  gint64     index;   /* into the shown dataset, -1 when empty */
} SampleCell;

typedef struct {
  ConvolveDataset *dataset;
  gint32          *values;
  guint            n_values;
} SamplePredictions;

struct _ConvolveSampleGrid
{
  GtkWidget        parent_instance;

  /* template */
  GtkWidget       *toolbar;
  GtkWidget       *set_switch;
  GtkWidget       *subset_box;
  GtkWidget       *subset_title_label;
  GtkWidget       *subset_count_label;
  GtkWidget       *train_button;
  GtkWidget       *test_button;
  GtkWidget       *class_dropdown;
  GtkWidget       *range_label;
  GtkWidget       *cells;

  SampleCell       cell[CONVOLVE_SAMPLE_GRID_CELLS];

  ConvolveDataset *train;
  ConvolveDataset *test;
  gboolean         show_test;
  int              class_filter;
  GArray          *filtered;       /* guint32 indices of class_filter, or NULL for all */
  guint            page;
  GPtrArray       *predictions;    /* SamplePredictions */
  gulong           dropdown_handler;

  /* The evaluation subset, all NULL while the dataset is shown whole. */
  GArray             *subset;             /* guint32 indices into subset_dataset, in order */
  ConvolveDataset    *subset_dataset;
  ConvolveEvaluation *subset_evaluation;  /* a copy */
  char               *subset_title;
  gboolean            subset_least_confident_first;
  guint               saved_page;         /* of the dataset view, for the way back */
};

G_DEFINE_FINAL_TYPE (ConvolveSampleGrid, convolve_sample_grid, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_PAGE,
  PROP_N_PAGES,
  PROP_SHOW_TEST,
  PROP_CLASS_FILTER,
  PROP_SHOWING_SUBSET,
  N_PROPS
};

enum {
  SAMPLE_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
sample_predictions_free (SamplePredictions *predictions)
{
  convolve_dataset_unref (predictions->dataset);
  g_free (predictions->values);
  g_free (predictions);
}

static gboolean
dataset_has_images (ConvolveDataset *dataset)
{
  return dataset != NULL && convolve_dataset_get_n_images (dataset) > 0;
}

ConvolveDataset *
convolve_sample_grid_get_dataset (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), NULL);

  if (grid->subset != NULL)
    return grid->subset_dataset;
  if (grid->train == NULL)
    return NULL;
  if (grid->show_test && dataset_has_images (grid->test))
    return grid->test;
  return grid->train;
}

guint
convolve_sample_grid_get_n_shown (ConvolveSampleGrid *grid)
{
  ConvolveDataset *dataset;

  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), 0);

  dataset = convolve_sample_grid_get_dataset (grid);
  if (dataset == NULL)
    return 0;
  if (grid->subset != NULL)
    return grid->subset->len;
  if (grid->filtered != NULL)
    return grid->filtered->len;
  return convolve_dataset_get_n_images (dataset);
}

/* The dataset index of the nth image paged over. */
static guint
convolve_sample_grid_get_shown_index (ConvolveSampleGrid *self,
                                      guint               nth)
{
  if (self->subset != NULL)
    return g_array_index (self->subset, guint32, nth);
  if (self->filtered != NULL)
    return g_array_index (self->filtered, guint32, nth);
  return nth;
}

static const SamplePredictions *
convolve_sample_grid_find_predictions (ConvolveSampleGrid *self,
                                       ConvolveDataset    *dataset)
{
  for (guint i = 0; i < self->predictions->len; i++)
    {
      SamplePredictions *predictions = g_ptr_array_index (self->predictions, i);
      if (predictions->dataset == dataset)
        return predictions;
    }
  return NULL;
}

static const char *
class_name_or_unknown (const char * const *class_names,
                       int                 n_classes,
                       int                 class_index)
{
  if (class_names != NULL && class_index >= 0 && class_index < n_classes &&
      class_names[class_index] != NULL)
    return class_names[class_index];
  return "?";
}

static char *
format_count (guint value)
{
  /* the ' flag groups thousands as the locale does: 50,000 / 50 000 / 50.000 */
  return g_strdup_printf ("%'u", value);
}

static void
convolve_sample_grid_update_cells (ConvolveSampleGrid *self)
{
  ConvolveDataset *dataset = convolve_sample_grid_get_dataset (self);
  const SamplePredictions *predictions = NULL;
  const char * const *class_names = NULL;
  guint n_shown = convolve_sample_grid_get_n_shown (self);
  guint first = self->page * CONVOLVE_SAMPLE_GRID_CELLS;
  ConvolveShape shape = { 0 };
  int n_classes = 0;

  if (dataset != NULL)
    {
      shape = convolve_dataset_get_shape (dataset);
      class_names = convolve_dataset_get_class_names (dataset);
      n_classes = convolve_dataset_get_n_classes (dataset);
      predictions = convolve_sample_grid_find_predictions (self, dataset);
    }

  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    {
      SampleCell *cell = &self->cell[position];
      g_autofree char *accessible = NULL;
      g_autofree char *tooltip = NULL;
      const char *class_name;
      guint index;
      int label;

      if (first + position >= n_shown)
        {
          cell->index = -1;
          convolve_image_view_set_pixels (CONVOLVE_IMAGE_VIEW (cell->image), NULL, 0, 0, 0);
          gtk_label_set_text (GTK_LABEL (cell->label), "");
          gtk_widget_set_child_visible (cell->button, FALSE);
          continue;
        }

      index = convolve_sample_grid_get_shown_index (self, first + position);
      label = convolve_dataset_get_label (dataset, index);
      class_name = class_name_or_unknown (class_names, n_classes, label);

      cell->index = index;
      gtk_widget_set_child_visible (cell->button, TRUE);
      convolve_image_view_set_pixels (CONVOLVE_IMAGE_VIEW (cell->image),
                                      convolve_dataset_get_image (dataset, index),
                                      shape.c, shape.h, shape.w);
      gtk_label_set_text (GTK_LABEL (cell->label), class_name);

      gtk_widget_remove_css_class (cell->badge, "correct");
      gtk_widget_remove_css_class (cell->badge, "wrong");
      gtk_widget_remove_css_class (cell->button, "wrong");
      if (self->subset != NULL)
        {
          int predicted = self->subset_evaluation->predictions[index];
          double percent = self->subset_evaluation->confidences[index] * 100.0;
          const char *predicted_name = class_name_or_unknown (class_names, n_classes, predicted);
          gboolean correct = predicted == label;
          g_autofree char *text = NULL;

          /* Translators: a test image's class, the model's guess and how
           * sure it was, a short line each to fit a narrow tile:
           * "cat\n→ dog\n87 %" */
          text = g_strdup_printf (_("%s\n→ %s\n%.0f %%"), class_name, predicted_name, percent);
          gtk_label_set_text (GTK_LABEL (cell->label), text);
          gtk_image_set_from_icon_name (GTK_IMAGE (cell->badge),
                                        correct ? "object-select-symbolic" : "window-close-symbolic");
          gtk_widget_add_css_class (cell->badge, correct ? "correct" : "wrong");
          gtk_widget_set_visible (cell->badge, TRUE);
          if (!correct)
            gtk_widget_add_css_class (cell->button, "wrong");
          /* Translators: the loss of one test image */
          tooltip = g_strdup_printf (_("Loss %.3f"), self->subset_evaluation->losses[index]);
          /* Translators: sample number, its class, the model's guess and its confidence */
          accessible = g_strdup_printf (_("Sample %u, %s, predicted %s, %.0f %%"),
                                        index + 1, class_name, predicted_name, percent);
        }
      else if (predictions != NULL && index < predictions->n_values)
        {
          int predicted = predictions->values[index];
          const char *predicted_name = class_name_or_unknown (class_names, n_classes, predicted);
          gboolean correct = predicted == label;

          gtk_image_set_from_icon_name (GTK_IMAGE (cell->badge),
                                        correct ? "object-select-symbolic" : "window-close-symbolic");
          gtk_widget_add_css_class (cell->badge, correct ? "correct" : "wrong");
          gtk_widget_set_visible (cell->badge, TRUE);
          tooltip = g_strdup_printf (_("Predicted: %s"), predicted_name);
          /* Translators: sample number, its class, then the model's guess */
          accessible = g_strdup_printf (_("Sample %u, %s, predicted %s"), index + 1, class_name, predicted_name);
        }
      else
        {
          gtk_widget_set_visible (cell->badge, FALSE);
          /* Translators: sample number, then its class */
          accessible = g_strdup_printf (_("Sample %u, %s"), index + 1, class_name);
        }
      gtk_widget_set_tooltip_text (cell->button, tooltip);
      gtk_accessible_update_property (GTK_ACCESSIBLE (cell->button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                      -1);
    }
}

static void
convolve_sample_grid_update_range (ConvolveSampleGrid *self)
{
  guint n_shown = convolve_sample_grid_get_n_shown (self);
  guint first = self->page * CONVOLVE_SAMPLE_GRID_CELLS;

  if (n_shown == 0)
    gtk_label_set_text (GTK_LABEL (self->range_label),
                        convolve_sample_grid_get_dataset (self) != NULL ? _("No images") : "");
  else
    {
      g_autofree char *from = format_count (first + 1);
      g_autofree char *to = format_count (MIN (first + CONVOLVE_SAMPLE_GRID_CELLS, n_shown));
      g_autofree char *total = format_count (n_shown);
      g_autofree char *text = NULL;

      /* Translators: the samples on screen, e.g. "1–25 of 50,000" */
      text = g_strdup_printf (_("%s–%s of %s"), from, to, total);
      gtk_label_set_text (GTK_LABEL (self->range_label), text);
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "grid.previous-page", self->page > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "grid.first-page", self->page > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "grid.next-page",
                                 self->page + 1 < convolve_sample_grid_get_n_pages (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "grid.last-page",
                                 self->page + 1 < convolve_sample_grid_get_n_pages (self));
}

/* The toolbar: the Training/Test switch and the class filter for the
 * dataset, the subset's title, count and the way back for a subset. */
static void
convolve_sample_grid_update_mode (ConvolveSampleGrid *self)
{
  gboolean subset = self->subset != NULL;

  gtk_widget_set_visible (self->set_switch, !subset);
  gtk_widget_set_visible (self->class_dropdown, !subset);
  gtk_widget_set_visible (self->subset_box, subset);
  gtk_widget_set_visible (self->subset_count_label, subset);
  gtk_widget_set_sensitive (self->toolbar, subset || self->train != NULL);
  gtk_widget_set_visible (self->cells, subset || self->train != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "grid.show-all", subset);

  if (subset)
    {
      g_autofree char *number = format_count (self->subset->len);
      g_autofree char *count = NULL;
      guint n = self->subset->len;

      if (self->subset_least_confident_first)
        /* Translators: how many test images a subset has and their order,
         * e.g. "1,012 images, least confident first" */
        count = g_strdup_printf (ngettext ("%s image, least confident first",
                                           "%s images, least confident first", n), number);
      else
        /* Translators: how many test images a subset has and their order,
         * e.g. "1,012 images, highest loss first" */
        count = g_strdup_printf (ngettext ("%s image, highest loss first",
                                           "%s images, highest loss first", n), number);
      gtk_label_set_text (GTK_LABEL (self->subset_title_label), self->subset_title);
      gtk_widget_set_tooltip_text (self->subset_title_label, self->subset_title);
      gtk_label_set_text (GTK_LABEL (self->subset_count_label), count);
    }
}

static void
convolve_sample_grid_refresh (ConvolveSampleGrid *self)
{
  guint n_pages = convolve_sample_grid_get_n_pages (self);

  if (self->page >= n_pages)
    self->page = n_pages > 0 ? n_pages - 1 : 0;
  convolve_sample_grid_update_cells (self);
  convolve_sample_grid_update_range (self);
}

/* Drops the subset; FALSE when there was none. */
static gboolean
convolve_sample_grid_end_subset (ConvolveSampleGrid *self)
{
  if (self->subset == NULL)
    return FALSE;

  g_clear_pointer (&self->subset, g_array_unref);
  g_clear_pointer (&self->subset_dataset, convolve_dataset_unref);
  g_clear_pointer (&self->subset_evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->subset_title, g_free);
  convolve_sample_grid_update_mode (self);
  return TRUE;
}

static void
convolve_sample_grid_rebuild_filter (ConvolveSampleGrid *self)
{
  ConvolveDataset *dataset = convolve_sample_grid_get_dataset (self);

  g_clear_pointer (&self->filtered, g_array_unref);
  if (dataset == NULL || self->class_filter < 0)
    return;

  self->filtered = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0, n = convolve_dataset_get_n_images (dataset); i < n; i++)
    if (convolve_dataset_get_label (dataset, i) == self->class_filter)
      {
        guint32 index = i;
        g_array_append_val (self->filtered, index);
      }
}

static void
convolve_sample_grid_rebuild_dropdown (ConvolveSampleGrid *self)
{
  g_autoptr(GtkStringList) model = gtk_string_list_new (NULL);
  ConvolveDataset *dataset = self->train;

  gtk_string_list_append (model, _("All Classes"));
  if (dataset != NULL)
    {
      const char * const *names = convolve_dataset_get_class_names (dataset);
      int n_classes = convolve_dataset_get_n_classes (dataset);

      for (int i = 0; i < n_classes; i++)
        {
          g_autofree char *fallback = NULL;
          if (names == NULL || names[i] == NULL)
            fallback = g_strdup_printf (_("Class %d"), i);
          gtk_string_list_append (model, fallback != NULL ? fallback : names[i]);
        }
    }

  g_signal_handler_block (self->class_dropdown, self->dropdown_handler);
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->class_dropdown), G_LIST_MODEL (model));
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->class_dropdown), self->class_filter + 1);
  g_signal_handler_unblock (self->class_dropdown, self->dropdown_handler);
}

static void
on_dropdown_selected (GtkDropDown        *dropdown,
                      GParamSpec         *pspec,
                      ConvolveSampleGrid *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  convolve_sample_grid_set_class_filter (self, selected == GTK_INVALID_LIST_POSITION ? -1 : (int) selected - 1);
}

static void
on_set_toggled (GtkToggleButton    *button,
                ConvolveSampleGrid *self)
{
  convolve_sample_grid_set_show_test (self, !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->train_button)));
}

static guint
cell_position (GtkWidget *widget)
{
  return GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (widget), "convolve-cell-position"));
}

static void
on_cell_clicked (GtkButton          *button,
                 ConvolveSampleGrid *self)
{
  SampleCell *cell = &self->cell[cell_position (GTK_WIDGET (button))];

  if (cell->index < 0)
    return;
  g_signal_emit (self, signals[SAMPLE_ACTIVATED], 0,
                 convolve_sample_grid_get_dataset (self), (guint) cell->index);
}

static GdkContentProvider *
on_drag_prepare (GtkDragSource      *source,
                 double              x,
                 double              y,
                 ConvolveSampleGrid *self)
{
  GtkWidget *button = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  SampleCell *cell = &self->cell[cell_position (button)];
  ConvolveDataset *dataset = convolve_sample_grid_get_dataset (self);
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(ConvolveSampleRef) ref = NULL;
  GdkContentProvider *providers[2];
  ConvolveShape shape;

  if (dataset == NULL || cell->index < 0)
    return NULL;

  shape = convolve_dataset_get_shape (dataset);
  texture = convolve_texture_new_from_planar (convolve_dataset_get_image (dataset, cell->index),
                                              shape.c, shape.h, shape.w, 1);
  ref = convolve_sample_ref_new (dataset, cell->index);

  /* Inside Convolve the reference gives the exact pixels; other programs
   * get the image. */
  providers[0] = gdk_content_provider_new_typed (CONVOLVE_TYPE_SAMPLE_REF, ref);
  providers[1] = gdk_content_provider_new_typed (GDK_TYPE_TEXTURE, texture);
  return gdk_content_provider_new_union (providers, G_N_ELEMENTS (providers));
}

static void
on_drag_begin (GtkDragSource      *source,
               GdkDrag            *drag,
               ConvolveSampleGrid *self)
{
  GtkWidget *button = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  SampleCell *cell = &self->cell[cell_position (button)];
  ConvolveDataset *dataset = convolve_sample_grid_get_dataset (self);
  g_autoptr(GdkTexture) icon = NULL;
  ConvolveShape shape;
  int scale;

  if (dataset == NULL || cell->index < 0)
    return;

  shape = convolve_dataset_get_shape (dataset);
  scale = MAX (1, 64 / MAX (shape.w, shape.h));
  icon = convolve_texture_new_from_planar (convolve_dataset_get_image (dataset, cell->index),
                                           shape.c, shape.h, shape.w, scale);
  gtk_drag_source_set_icon (source, GDK_PAINTABLE (icon), shape.w * scale / 2, shape.h * scale / 2);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           ConvolveSampleGrid       *self)
{
  if (dy > 0 && self->page + 1 < convolve_sample_grid_get_n_pages (self))
    convolve_sample_grid_set_page (self, self->page + 1);
  else if (dy < 0 && self->page > 0)
    convolve_sample_grid_set_page (self, self->page - 1);
  return TRUE;
}

static void
show_all_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  convolve_sample_grid_show_all (CONVOLVE_SAMPLE_GRID (widget));
}

static void
page_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  ConvolveSampleGrid *self = CONVOLVE_SAMPLE_GRID (widget);
  guint n_pages = convolve_sample_grid_get_n_pages (self);

  if (n_pages == 0)
    return;
  if (g_str_equal (action_name, "grid.previous-page") && self->page > 0)
    convolve_sample_grid_set_page (self, self->page - 1);
  else if (g_str_equal (action_name, "grid.next-page"))
    convolve_sample_grid_set_page (self, MIN (self->page + 1, n_pages - 1));
  else if (g_str_equal (action_name, "grid.first-page"))
    convolve_sample_grid_set_page (self, 0);
  else if (g_str_equal (action_name, "grid.last-page"))
    convolve_sample_grid_set_page (self, n_pages - 1);
}

static void
convolve_sample_grid_build_cells (ConvolveSampleGrid *self)
{
  GtkEventController *scroll;

  for (guint position = 0; position < CONVOLVE_SAMPLE_GRID_CELLS; position++)
    {
      SampleCell *cell = &self->cell[position];
      GtkDragSource *drag;
      GtkWidget *box, *overlay;

      cell->index = -1;
      cell->image = convolve_image_view_new ();
      gtk_widget_set_vexpand (cell->image, TRUE);
      gtk_widget_set_hexpand (cell->image, TRUE);

      cell->badge = gtk_image_new ();
      gtk_widget_set_halign (cell->badge, GTK_ALIGN_END);
      gtk_widget_set_valign (cell->badge, GTK_ALIGN_START);
      gtk_widget_add_css_class (cell->badge, "prediction-badge");
      gtk_widget_set_visible (cell->badge, FALSE);

      overlay = gtk_overlay_new ();
      gtk_overlay_set_child (GTK_OVERLAY (overlay), cell->image);
      gtk_overlay_add_overlay (GTK_OVERLAY (overlay), cell->badge);

      cell->label = gtk_label_new (NULL);
      gtk_label_set_ellipsize (GTK_LABEL (cell->label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (cell->label), 6);
      /* A subset's tile has three short lines (class, guess, confidence);
       * a name too long for the tile is ellipsized, never broken. */
      gtk_label_set_lines (GTK_LABEL (cell->label), 3);
      gtk_label_set_justify (GTK_LABEL (cell->label), GTK_JUSTIFY_CENTER);
      gtk_widget_add_css_class (cell->label, "caption");

      box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      gtk_box_append (GTK_BOX (box), overlay);
      gtk_box_append (GTK_BOX (box), cell->label);

      cell->button = gtk_button_new ();
      gtk_button_set_child (GTK_BUTTON (cell->button), box);
      gtk_widget_add_css_class (cell->button, "flat");
      gtk_widget_add_css_class (cell->button, "sample-cell");
      g_object_set_data (G_OBJECT (cell->button), "convolve-cell-position", GUINT_TO_POINTER (position));
      g_signal_connect (cell->button, "clicked", G_CALLBACK (on_cell_clicked), self);
      gtk_widget_set_child_visible (cell->button, FALSE);

      drag = gtk_drag_source_new ();
      gtk_drag_source_set_actions (drag, GDK_ACTION_COPY);
      g_signal_connect (drag, "prepare", G_CALLBACK (on_drag_prepare), self);
      g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
      gtk_widget_add_controller (cell->button, GTK_EVENT_CONTROLLER (drag));

      gtk_grid_attach (GTK_GRID (self->cells), cell->button,
                       position % CONVOLVE_SAMPLE_GRID_COLUMNS,
                       position / CONVOLVE_SAMPLE_GRID_COLUMNS, 1, 1);
    }

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL |
                                            GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (self->cells, scroll);
}

static void
convolve_sample_grid_dispose (GObject *object)
{
  ConvolveSampleGrid *self = CONVOLVE_SAMPLE_GRID (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CONVOLVE_TYPE_SAMPLE_GRID);

  G_OBJECT_CLASS (convolve_sample_grid_parent_class)->dispose (object);
}

static void
convolve_sample_grid_finalize (GObject *object)
{
  ConvolveSampleGrid *self = CONVOLVE_SAMPLE_GRID (object);

  g_clear_pointer (&self->train, convolve_dataset_unref);
  g_clear_pointer (&self->test, convolve_dataset_unref);
  g_clear_pointer (&self->filtered, g_array_unref);
  g_ptr_array_unref (self->predictions);
  g_clear_pointer (&self->subset, g_array_unref);
  g_clear_pointer (&self->subset_dataset, convolve_dataset_unref);
  g_clear_pointer (&self->subset_evaluation, convolve_evaluation_free);
  g_clear_pointer (&self->subset_title, g_free);

  G_OBJECT_CLASS (convolve_sample_grid_parent_class)->finalize (object);
}

static void
convolve_sample_grid_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ConvolveSampleGrid *self = CONVOLVE_SAMPLE_GRID (object);

  switch (prop_id)
    {
    case PROP_PAGE:
      g_value_set_uint (value, self->page);
      break;
    case PROP_N_PAGES:
      g_value_set_uint (value, convolve_sample_grid_get_n_pages (self));
      break;
    case PROP_SHOW_TEST:
      g_value_set_boolean (value, self->show_test);
      break;
    case PROP_CLASS_FILTER:
      g_value_set_int (value, self->class_filter);
      break;
    case PROP_SHOWING_SUBSET:
      g_value_set_boolean (value, self->subset != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_sample_grid_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  ConvolveSampleGrid *self = CONVOLVE_SAMPLE_GRID (object);

  switch (prop_id)
    {
    case PROP_PAGE:
      convolve_sample_grid_set_page (self, g_value_get_uint (value));
      break;
    case PROP_SHOW_TEST:
      convolve_sample_grid_set_show_test (self, g_value_get_boolean (value));
      break;
    case PROP_CLASS_FILTER:
      convolve_sample_grid_set_class_filter (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
convolve_sample_grid_class_init (ConvolveSampleGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = convolve_sample_grid_dispose;
  object_class->finalize = convolve_sample_grid_finalize;
  object_class->get_property = convolve_sample_grid_get_property;
  object_class->set_property = convolve_sample_grid_set_property;

  properties[PROP_PAGE] =
    g_param_spec_uint ("page", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_PAGES] =
    g_param_spec_uint ("n-pages", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_TEST] =
    g_param_spec_boolean ("show-test", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLASS_FILTER] =
    g_param_spec_int ("class-filter", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOWING_SUBSET] =
    g_param_spec_boolean ("showing-subset", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ConvolveSampleGrid::sample-activated:
   * @dataset: (type gpointer): the ConvolveDataset shown, borrowed
   * @index: the image's index in it
   */
  signals[SAMPLE_ACTIVATED] =
    g_signal_new ("sample-activated",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_UINT);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/convolve/Convolve/ui/convolve-sample-grid.ui");
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, toolbar);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, set_switch);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, subset_box);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, subset_title_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, subset_count_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, train_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, test_button);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, range_label);
  gtk_widget_class_bind_template_child (widget_class, ConvolveSampleGrid, cells);
  gtk_widget_class_bind_template_callback (widget_class, on_set_toggled);

  gtk_widget_class_install_action (widget_class, "grid.previous-page", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "grid.next-page", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "grid.first-page", NULL, page_action);
  gtk_widget_class_install_action (widget_class, "grid.last-page", NULL, page_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, 0, "grid.previous-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Page_Up, 0, "grid.previous-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, 0, "grid.next-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Page_Down, 0, "grid.next-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, GDK_CONTROL_MASK, "grid.first-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_End, GDK_CONTROL_MASK, "grid.last-page", NULL);
  gtk_widget_class_install_action (widget_class, "grid.show-all", NULL, show_all_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "grid.show-all", NULL);

  gtk_widget_class_set_css_name (widget_class, "convolvesamplegrid");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);

  g_type_ensure (CONVOLVE_TYPE_IMAGE_VIEW);
}

static void
convolve_sample_grid_init (ConvolveSampleGrid *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->class_filter = -1;
  self->predictions = g_ptr_array_new_with_free_func ((GDestroyNotify) sample_predictions_free);
  self->dropdown_handler = g_signal_connect (self->class_dropdown, "notify::selected",
                                             G_CALLBACK (on_dropdown_selected), self);

  convolve_sample_grid_build_cells (self);
  convolve_sample_grid_update_mode (self);
  convolve_sample_grid_rebuild_dropdown (self);
  convolve_sample_grid_set_datasets (self, NULL, NULL);
}

GtkWidget *
convolve_sample_grid_new (void)
{
  return g_object_new (CONVOLVE_TYPE_SAMPLE_GRID, NULL);
}

void
convolve_sample_grid_set_datasets (ConvolveSampleGrid *grid,
                                   ConvolveDataset    *train,
                                   ConvolveDataset    *test)
{
  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));

  if (train != NULL)
    convolve_dataset_ref (train);
  if (test != NULL)
    convolve_dataset_ref (test);
  g_clear_pointer (&grid->train, convolve_dataset_unref);
  g_clear_pointer (&grid->test, convolve_dataset_unref);
  grid->train = train;
  grid->test = test;

  g_object_freeze_notify (G_OBJECT (grid));

  /* A subset belongs to the datasets it was made of. */
  if (convolve_sample_grid_end_subset (grid))
    g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_SHOWING_SUBSET]);

  if (grid->class_filter >= 0 &&
      (train == NULL || grid->class_filter >= convolve_dataset_get_n_classes (train)))
    {
      grid->class_filter = -1;
      g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_CLASS_FILTER]);
    }
  if (grid->show_test && !dataset_has_images (test))
    {
      grid->show_test = FALSE;
      g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_SHOW_TEST]);
    }
  if (grid->page != 0)
    {
      grid->page = 0;
      g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_PAGE]);
    }

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (grid->show_test ? grid->test_button : grid->train_button), TRUE);
  gtk_widget_set_sensitive (grid->test_button, train != NULL && dataset_has_images (test));
  convolve_sample_grid_update_mode (grid);

  convolve_sample_grid_rebuild_dropdown (grid);
  convolve_sample_grid_rebuild_filter (grid);
  convolve_sample_grid_refresh (grid);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_N_PAGES]);

  g_object_thaw_notify (G_OBJECT (grid));
}

void
convolve_sample_grid_set_predictions (ConvolveSampleGrid *grid,
                                      ConvolveDataset    *dataset,
                                      const gint32       *predictions,
                                      guint               n_predictions)
{
  SamplePredictions *entry;

  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));
  g_return_if_fail (dataset != NULL);

  for (guint i = 0; i < grid->predictions->len; i++)
    if (((SamplePredictions *) g_ptr_array_index (grid->predictions, i))->dataset == dataset)
      {
        g_ptr_array_remove_index (grid->predictions, i);
        break;
      }

  if (predictions != NULL && n_predictions > 0)
    {
      entry = g_new (SamplePredictions, 1);
      entry->dataset = convolve_dataset_ref (dataset);
      entry->values = g_memdup2 (predictions, sizeof (gint32) * n_predictions);
      entry->n_values = n_predictions;
      g_ptr_array_add (grid->predictions, entry);
    }

  if (dataset == convolve_sample_grid_get_dataset (grid))
    convolve_sample_grid_update_cells (grid);
}

guint
convolve_sample_grid_get_page (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), 0);
  return grid->page;
}

void
convolve_sample_grid_set_page (ConvolveSampleGrid *grid,
                               guint               page)
{
  guint n_pages;

  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));

  n_pages = convolve_sample_grid_get_n_pages (grid);
  page = n_pages > 0 ? MIN (page, n_pages - 1) : 0;
  if (grid->page == page)
    return;
  grid->page = page;
  convolve_sample_grid_refresh (grid);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_PAGE]);
}

guint
convolve_sample_grid_get_n_pages (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), 0);
  return (convolve_sample_grid_get_n_shown (grid) + CONVOLVE_SAMPLE_GRID_CELLS - 1) / CONVOLVE_SAMPLE_GRID_CELLS;
}

gboolean
convolve_sample_grid_get_show_test (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), FALSE);
  return grid->show_test;
}

void
convolve_sample_grid_set_show_test (ConvolveSampleGrid *grid,
                                    gboolean            show_test)
{
  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));

  convolve_sample_grid_show_all (grid);
  show_test = !!show_test && dataset_has_images (grid->test);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (show_test ? grid->test_button : grid->train_button), TRUE);
  if (grid->show_test == show_test)
    return;

  g_object_freeze_notify (G_OBJECT (grid));
  grid->show_test = show_test;
  if (grid->page != 0)
    {
      grid->page = 0;
      g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_PAGE]);
    }
  convolve_sample_grid_rebuild_filter (grid);
  convolve_sample_grid_refresh (grid);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_SHOW_TEST]);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_N_PAGES]);
  g_object_thaw_notify (G_OBJECT (grid));
}

int
convolve_sample_grid_get_class_filter (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), -1);
  return grid->class_filter;
}

void
convolve_sample_grid_set_class_filter (ConvolveSampleGrid *grid,
                                       int                 class_index)
{
  int n_classes;

  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));

  convolve_sample_grid_show_all (grid);
  n_classes = grid->train != NULL ? convolve_dataset_get_n_classes (grid->train) : 0;
  if (class_index < 0 || class_index >= n_classes)
    class_index = -1;

  g_signal_handler_block (grid->class_dropdown, grid->dropdown_handler);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (grid->class_dropdown), class_index + 1);
  g_signal_handler_unblock (grid->class_dropdown, grid->dropdown_handler);

  if (grid->class_filter == class_index)
    return;

  g_object_freeze_notify (G_OBJECT (grid));
  grid->class_filter = class_index;
  if (grid->page != 0)
    {
      grid->page = 0;
      g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_PAGE]);
    }
  convolve_sample_grid_rebuild_filter (grid);
  convolve_sample_grid_refresh (grid);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_CLASS_FILTER]);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_N_PAGES]);
  g_object_thaw_notify (G_OBJECT (grid));
}

gint64
convolve_sample_grid_get_cell_index (ConvolveSampleGrid *grid,
                                     guint               position)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), -1);
  g_return_val_if_fail (position < CONVOLVE_SAMPLE_GRID_CELLS, -1);
  return grid->cell[position].index;
}

const char *
convolve_sample_grid_get_cell_label (ConvolveSampleGrid *grid,
                                     guint               position)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), NULL);
  g_return_val_if_fail (position < CONVOLVE_SAMPLE_GRID_CELLS, NULL);
  return gtk_label_get_text (GTK_LABEL (grid->cell[position].label));
}

GtkWidget *
convolve_sample_grid_get_cell_image (ConvolveSampleGrid *grid,
                                     guint               position)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), NULL);
  g_return_val_if_fail (position < CONVOLVE_SAMPLE_GRID_CELLS, NULL);
  return grid->cell[position].image;
}

const char *
convolve_sample_grid_get_range_text (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), NULL);
  return gtk_label_get_text (GTK_LABEL (grid->range_label));
}

/* ------------------------------------------------------- evaluation subsets */

typedef struct {
  const ConvolveEvaluation *evaluation;
  gboolean                  least_confident_first;
} SubsetOrder;

/* Ascending keys; a NaN (a broken image or model) sorts first, where it is
 * seen. */
static float
subset_sort_key (const SubsetOrder *order,
                 guint32            index)
{
  float key = order->least_confident_first
              ? order->evaluation->confidences[index]
              : -order->evaluation->losses[index];

  return isnan (key) ? -INFINITY : key;
}

static int
compare_subset_indices (gconstpointer a,
                        gconstpointer b,
                        gpointer      user_data)
{
  const SubsetOrder *order = user_data;
  guint32 index_a = *(const guint32 *) a;
  guint32 index_b = *(const guint32 *) b;
  float key_a = subset_sort_key (order, index_a);
  float key_b = subset_sort_key (order, index_b);

  if (key_a != key_b)
    return key_a < key_b ? -1 : 1;
  return index_a < index_b ? -1 : (index_a > index_b ? 1 : 0);
}

void
convolve_sample_grid_show_evaluation_subset (ConvolveSampleGrid       *grid,
                                             ConvolveDataset          *test,
                                             const ConvolveEvaluation *evaluation,
                                             int                       true_class,
                                             int                       predicted_class,
                                             const char               *title)
{
  g_autoptr(GArray) subset = NULL;
  SubsetOrder order;
  guint n_images;

  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));
  g_return_if_fail (test != NULL);
  g_return_if_fail (evaluation != NULL);
  g_return_if_fail (evaluation->n_images <= convolve_dataset_get_n_images (test));
  g_return_if_fail (evaluation->n_images == 0 ||
                    (evaluation->predictions != NULL && evaluation->confidences != NULL &&
                     evaluation->losses != NULL));
  g_return_if_fail (true_class >= -1 && predicted_class >= -1);

  n_images = evaluation->n_images;
  subset = g_array_sized_new (FALSE, FALSE, sizeof (guint32), true_class < 0 && predicted_class < 0 ? n_images : 0);
  for (guint i = 0; i < n_images; i++)
    if ((true_class < 0 || convolve_dataset_get_label (test, i) == true_class) &&
        (predicted_class < 0 || evaluation->predictions[i] == predicted_class))
      {
        guint32 index = i;
        g_array_append_val (subset, index);
      }

  order.evaluation = evaluation;
  /* The right answers have small losses all alike; the doubtful ones
   * among them are what is worth a look. */
  order.least_confident_first = true_class >= 0 && true_class == predicted_class;
  g_array_sort_with_data (subset, compare_subset_indices, &order);

  g_object_freeze_notify (G_OBJECT (grid));

  if (grid->subset == NULL)
    grid->saved_page = grid->page;
  else
    convolve_sample_grid_end_subset (grid);

  grid->subset = g_steal_pointer (&subset);
  grid->subset_dataset = convolve_dataset_ref (test);
  grid->subset_evaluation = convolve_evaluation_copy (evaluation);
  grid->subset_title = g_strdup (title != NULL ? title : "");
  grid->subset_least_confident_first = order.least_confident_first;
  grid->page = 0;

  convolve_sample_grid_update_mode (grid);
  convolve_sample_grid_refresh (grid);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_PAGE]);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_N_PAGES]);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_SHOWING_SUBSET]);

  g_object_thaw_notify (G_OBJECT (grid));
}

void
convolve_sample_grid_show_all (ConvolveSampleGrid *grid)
{
  g_return_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid));

  if (grid->subset == NULL)
    return;

  g_object_freeze_notify (G_OBJECT (grid));

  convolve_sample_grid_end_subset (grid);
  grid->page = grid->saved_page;
  convolve_sample_grid_refresh (grid);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_PAGE]);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_N_PAGES]);
  g_object_notify_by_pspec (G_OBJECT (grid), properties[PROP_SHOWING_SUBSET]);

  g_object_thaw_notify (G_OBJECT (grid));
}

gboolean
convolve_sample_grid_get_showing_subset (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), FALSE);
  return grid->subset != NULL;
}

const char *
convolve_sample_grid_get_subset_title (ConvolveSampleGrid *grid)
{
  g_return_val_if_fail (CONVOLVE_IS_SAMPLE_GRID (grid), NULL);
  return grid->subset_title;
}
