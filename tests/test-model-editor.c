/* test-model-editor.c: the model editor shows the layers of a spec text
 * and gives the same text back, follows edits from its buttons, rows and
 * text entry, shows why layers that do not fit cannot be used, and hands
 * back only layers that can. In the window, the training panel's preset
 * row and the editor make the session's model.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "convolve-engine.h"
#include "convolve-model-editor.h"
#include "convolve-window-private.h"
#include "test-cifar-folder.h"

#define TIMEOUT_US (30 * G_USEC_PER_SEC)

static const ConvolveShape cifar = { 3, 32, 32 };

static const char *tutorial_text =
  "conv2d(32,3,same,relu),batchnorm,maxpool(2),flatten,dense(1024,relu),dropout(0.2),dense(10,softmax)";

static void
iterate (void)
{
  gint64 until = g_get_monotonic_time () + 50 * 1000;

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static guint count_rows (ConvolveModelEditor *editor);

/* Rows are rebuilt after the change that moved them: wait for them. */
static void
wait_for_rows (ConvolveModelEditor *editor)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  iterate ();
  while (count_rows (editor) != (guint) convolve_model_editor_get_n_layers (editor))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* The first widget of type below root (depth first) whose css class is
 * css_class (NULL: any). */
static GtkWidget *
find_widget (GtkWidget  *root,
             GType       type,
             const char *css_class)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && (css_class == NULL || gtk_widget_has_css_class (root, css_class)))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, type, css_class);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
collect_widgets (GtkWidget  *root,
                 GType       type,
                 GPtrArray  *found)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    g_ptr_array_add (found, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, type, found);
}

/* The list's rows, in order. */
static GPtrArray *
get_rows_now (ConvolveModelEditor *editor)
{
  GtkWidget *list = find_widget (GTK_WIDGET (editor), GTK_TYPE_LIST_BOX, NULL);
  GPtrArray *rows = g_ptr_array_new ();

  g_assert_nonnull (list);
  for (GtkWidget *child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child))
      g_ptr_array_add (rows, child);
  return rows;
}

static guint
count_rows (ConvolveModelEditor *editor)
{
  g_autoptr(GPtrArray) rows = get_rows_now (editor);

  return rows->len;
}

static GPtrArray *
get_rows (ConvolveModelEditor *editor)
{
  wait_for_rows (editor);
  return get_rows_now (editor);
}

static GtkWidget *
find_button (GtkWidget  *row,
             const char *tooltip)
{
  g_autoptr(GPtrArray) buttons = g_ptr_array_new ();

  collect_widgets (row, GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_widget_get_tooltip_text (buttons->pdata[i]), tooltip) == 0)
      return buttons->pdata[i];
  return NULL;
}

static const char *
entry_text (ConvolveModelEditor *editor)
{
  GtkWidget *entry = find_widget (GTK_WIDGET (editor), GTK_TYPE_ENTRY, NULL);

  g_assert_nonnull (entry);
  return gtk_editable_get_text (GTK_EDITABLE (entry));
}

static const char *
summary_text (ConvolveModelEditor *editor)
{
  GtkWidget *label = find_widget (GTK_WIDGET (editor), GTK_TYPE_LABEL, "model-summary");

  g_assert_nonnull (label);
  return gtk_label_get_label (GTK_LABEL (label));
}

static ConvolveModelEditor *
open_editor (const char *text,
             int         n_classes)
{
  ConvolveModelEditor *editor = g_object_ref_sink (convolve_model_editor_new (text, cifar, n_classes));

  gtk_window_present (GTK_WINDOW (editor));
  iterate ();
  return editor;
}

static void
close_editor (ConvolveModelEditor *editor)
{
  gtk_window_destroy (GTK_WINDOW (editor));
  iterate ();
  g_assert_finalize_object (editor);
}

/* The rows and the text say the same as the spec; the summary is the
 * engine's. */
static void
test_editor_round_trip (void)
{
  g_autoptr(ConvolveModelSpec) better = convolve_model_spec_new_preset ("better", 10, NULL);
  g_autofree char *better_text = convolve_model_spec_to_string (better);
  const char *texts[] = { tutorial_text, better_text };

  for (gsize t = 0; t < G_N_ELEMENTS (texts); t++)
    {
      g_autoptr(ConvolveModelSpec) spec = convolve_model_spec_parse (texts[t], NULL);
      g_autoptr(ConvolveModel) model = convolve_model_new (spec, &cifar, 1, 0, NULL);
      g_autofree char *expected_summary = convolve_model_summary (model);
      ConvolveModelEditor *editor = open_editor (texts[t], 10);
      g_autofree char *text = convolve_model_editor_dup_spec_text (editor);
      g_autoptr(GPtrArray) rows = get_rows (editor);

      g_assert_cmpstr (text, ==, texts[t]);
      g_assert_cmpstr (entry_text (editor), ==, texts[t]);
      g_assert_cmpint (convolve_model_editor_get_n_layers (editor), ==, spec->n_layers);
      g_assert_cmpuint (rows->len, ==, (guint) spec->n_layers);
      g_assert_true (convolve_model_editor_is_valid (editor));
      g_assert_null (convolve_model_editor_get_problem (editor, NULL));
      g_assert_cmpstr (summary_text (editor), ==, expected_summary);
      close_editor (editor);
    }

  /* No text: the tutorial's layers. */
  {
    ConvolveModelEditor *editor = open_editor (NULL, 10);
    g_autofree char *text = convolve_model_editor_dup_spec_text (editor);

    g_assert_cmpstr (text, ==, tutorial_text);
    close_editor (editor);
  }
}

/* Add, remove and move, through the API and the rows' buttons; the text
 * and the summary follow each time. */
static void
test_editor_edit (void)
{
  ConvolveModelEditor *editor = open_editor ("conv2d(8,3,same,relu),flatten,dense(10,softmax)", 10);
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *text = NULL;
  GtkWidget *button;

  /* New layers go before the output layer. */
  convolve_model_editor_add_layer (editor, CONVOLVE_LAYER_DROPOUT);
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),flatten,dropout(0.25),dense(10,softmax)");
  g_assert_cmpstr (entry_text (editor), ==, text);
  g_assert_nonnull (strstr (summary_text (editor), "dropout (Dropout)"));
  g_clear_pointer (&text, g_free);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.add-layer", "s", "maxpool"));
  iterate ();
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),flatten,dropout(0.25),maxpool(2),dense(10,softmax)");
  g_clear_pointer (&text, g_free);
  /* ... where pooling a flat input does not fit: said on its row. */
  g_assert_false (convolve_model_editor_is_valid (editor));

  /* Move it up twice with its row's button: above Flatten it fits. */
  rows = get_rows (editor);
  g_assert_cmpuint (rows->len, ==, 5);
  button = find_button (rows->pdata[3], "Move Up");
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  iterate ();
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = get_rows (editor);
  g_signal_emit_by_name (find_button (rows->pdata[2], "Move Up"), "clicked");
  iterate ();
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),maxpool(2),flatten,dropout(0.25),dense(10,softmax)");
  g_clear_pointer (&text, g_free);
  g_assert_true (convolve_model_editor_is_valid (editor));
  g_assert_nonnull (strstr (summary_text (editor), "(None, 16, 16, 8)"));

  /* The first row cannot move up, the last not down. */
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = get_rows (editor);
  g_assert_false (gtk_widget_get_sensitive (find_button (rows->pdata[0], "Move Up")));
  g_assert_false (gtk_widget_get_sensitive (find_button (rows->pdata[rows->len - 1], "Move Down")));

  /* Remove the dropout with its button. */
  g_signal_emit_by_name (find_button (rows->pdata[3], "Remove Layer"), "clicked");
  iterate ();
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = get_rows (editor);
  g_assert_cmpuint (rows->len, ==, 4);
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),maxpool(2),flatten,dense(10,softmax)");
  g_clear_pointer (&text, g_free);

  /* Changing a row's kind gives that kind's usual arguments. */
  {
    GtkWidget *kind = find_widget (rows->pdata[1], GTK_TYPE_DROP_DOWN, NULL);

    gtk_drop_down_set_selected (GTK_DROP_DOWN (kind), CONVOLVE_LAYER_CONV2D);
    iterate ();
    text = convolve_model_editor_dup_spec_text (editor);
    g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),conv2d(32,3,same,relu),flatten,dense(10,softmax)");
    g_clear_pointer (&text, g_free);
  }

  /* ... and a spin button edits its argument. */
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = get_rows (editor);
  {
    GtkWidget *spin = find_widget (rows->pdata[3], GTK_TYPE_SPIN_BUTTON, NULL);

    gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 12);
    text = convolve_model_editor_dup_spec_text (editor);
    g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),conv2d(32,3,same,relu),flatten,dense(12,softmax)");
    g_clear_pointer (&text, g_free);
  }

  /* Moving beyond either end does nothing. */
  convolve_model_editor_move_layer (editor, 0, -1);
  convolve_model_editor_move_layer (editor, 3, 5);
  convolve_model_editor_remove_layer (editor, 9);
  iterate ();
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),conv2d(32,3,same,relu),flatten,dense(12,softmax)");
  close_editor (editor);
}

/* The Add Layer menu's targets, the spec's words of its items. */
static gboolean
menu_has_target (GMenuModel *menu,
                 const char *target)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);
      g_autoptr(GVariant) value = NULL;

      if (section != NULL && menu_has_target (section, target))
        return TRUE;
      value = g_menu_model_get_item_attribute_value (menu, i, G_MENU_ATTRIBUTE_TARGET,
                                                     G_VARIANT_TYPE_STRING);
      if (value != NULL && g_strcmp0 (g_variant_get_string (value, NULL), target) == 0)
        return TRUE;
    }
  return FALSE;
}

/* GlobalAveragePooling2D from the Add Layer menu and the kind dropdown:
 * refused after Flatten with the reason, a flat (None, C) output before the
 * Dense layer otherwise. */
static void
test_editor_globalavgpool (void)
{
  ConvolveModelEditor *editor = open_editor ("conv2d(8,3,same,relu),flatten,dense(10,softmax)", 10);
  GtkWidget *add_button = find_widget (GTK_WIDGET (editor), GTK_TYPE_MENU_BUTTON, NULL);
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *text = NULL;
  const char *problem;
  int bad_layer = -1;
  GtkWidget *kind;
  GListModel *kinds;

  g_assert_nonnull (add_button);
  g_assert_true (menu_has_target (gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (add_button)),
                                  "globalavgpool"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.add-layer", "s", "globalavgpool"));
  iterate ();
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),flatten,globalavgpool,dense(10,softmax)");
  g_clear_pointer (&text, g_free);
  g_assert_false (convolve_model_editor_is_valid (editor));
  problem = convolve_model_editor_get_problem (editor, &bad_layer);
  g_assert_cmpint (bad_layer, ==, 2);
  g_assert_nonnull (strstr (problem, "image input"));

  /* Without the Flatten it fits, and the Dense reads its C features. */
  convolve_model_editor_remove_layer (editor, 1);
  iterate ();
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),globalavgpool,dense(10,softmax)");
  g_clear_pointer (&text, g_free);
  g_assert_true (convolve_model_editor_is_valid (editor));
  g_assert_nonnull (strstr (summary_text (editor), "global_average_pooling2d (GlobalAveragePooling2D)"));
  g_assert_nonnull (strstr (summary_text (editor), "(None, 8)"));

  /* Its row's kind dropdown shows it, at the kind's index. */
  rows = get_rows (editor);
  kind = find_widget (rows->pdata[1], GTK_TYPE_DROP_DOWN, NULL);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (kind)), ==, CONVOLVE_LAYER_GLOBAL_AVG_POOL);
  kinds = gtk_drop_down_get_model (GTK_DROP_DOWN (kind));
  g_assert_cmpuint (g_list_model_get_n_items (kinds), ==, CONVOLVE_N_LAYER_KINDS);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (kinds), CONVOLVE_LAYER_GLOBAL_AVG_POOL),
                   ==, "GlobalAveragePooling2D");

  /* ... and picking it on another row makes that row one. */
  g_clear_pointer (&rows, g_ptr_array_unref);
  convolve_model_editor_add_layer (editor, CONVOLVE_LAYER_FLATTEN);
  rows = get_rows (editor);
  kind = find_widget (rows->pdata[2], GTK_TYPE_DROP_DOWN, NULL);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (kind), CONVOLVE_LAYER_GLOBAL_AVG_POOL);
  iterate ();
  text = convolve_model_editor_dup_spec_text (editor);
  g_assert_cmpstr (text, ==, "conv2d(8,3,same,relu),globalavgpool,globalavgpool,dense(10,softmax)");
  g_assert_false (convolve_model_editor_is_valid (editor));
  close_editor (editor);
}

static void
apply_cb (ConvolveModelEditor *editor,
          const char          *text,
          char               **applied)
{
  g_free (*applied);
  *applied = g_strdup (text);
}

/* Layers that do not fit: the reason on the row at fault and above the
 * summary, and "Use Model" refused. */
static void
test_editor_invalid (void)
{
  const struct {
    const char *spec;
    int         bad_layer;
    const char *reason;
  } cases[] = {
    { "conv2d(8,3),dense(16,relu),flatten,dense(10,softmax)", 1, "put flatten before it" },
    { "maxpool(4),maxpool(4),maxpool(4),flatten,dense(10,softmax)", 2, "larger than its input" },
    { "conv2d(8,3),flatten", 1, "last layer" },
    /* the dataset has 10 classes */
    { "flatten,dense(4,softmax)", 1, "10 classes" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ConvolveModelEditor *editor = open_editor (cases[i].spec, 10);
      g_autoptr(GPtrArray) rows = get_rows (editor);
      g_autofree char *applied = NULL;
      const char *problem;
      int bad_layer = -2;
      GtkWidget *error_label;

      g_signal_connect (editor, "apply", G_CALLBACK (apply_cb), &applied);
      g_assert_false (convolve_model_editor_is_valid (editor));
      problem = convolve_model_editor_get_problem (editor, &bad_layer);
      g_assert_nonnull (problem);
      g_assert_nonnull (strstr (problem, cases[i].reason));
      g_assert_cmpint (bad_layer, ==, cases[i].bad_layer);

      /* The row at fault says why; the others say nothing. */
      for (guint r = 0; r < rows->len; r++)
        {
          error_label = find_widget (rows->pdata[r], GTK_TYPE_LABEL, "error");
          g_assert_nonnull (error_label);
          g_assert_cmpint (gtk_widget_get_visible (error_label), ==, (int) r == cases[i].bad_layer);
          g_assert_cmpint (gtk_widget_has_css_class (rows->pdata[r], "model-editor-bad-layer"), ==,
                           (int) r == cases[i].bad_layer);
        }
      error_label = find_widget (rows->pdata[cases[i].bad_layer], GTK_TYPE_LABEL, "error");
      g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (error_label)), ==, problem);

      /* Refused: no apply, the window stays. */
      gtk_widget_activate_action (GTK_WIDGET (editor), "editor.use", NULL);
      iterate ();
      g_assert_null (applied);
      g_assert_true (gtk_widget_get_visible (GTK_WIDGET (editor)));
      close_editor (editor);
    }
}

/* Typing in the text: what parses replaces the rows; what does not shows
 * its error below the text and is refused, the rows as they were. */
static void
test_editor_text (void)
{
  ConvolveModelEditor *editor = open_editor (tutorial_text, 10);
  GtkWidget *entry = find_widget (GTK_WIDGET (editor), GTK_TYPE_ENTRY, NULL);
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *applied = NULL;
  g_autoptr(GError) error = NULL;

  g_signal_connect (editor, "apply", G_CALLBACK (apply_cb), &applied);

  gtk_editable_set_text (GTK_EDITABLE (entry), "conv2d(8,3,same,relu),flatten,dense(10");
  iterate ();
  g_assert_false (convolve_model_editor_is_valid (editor));
  g_assert_nonnull (strstr (convolve_model_editor_get_problem (editor, NULL), "parentheses"));
  g_assert_cmpint (convolve_model_editor_get_n_layers (editor), ==, 7);

  gtk_editable_set_text (GTK_EDITABLE (entry), " Conv2D(8, 3, same, relu), flatten, dense(10, softmax) ");
  iterate ();
  g_assert_true (convolve_model_editor_is_valid (editor));
  rows = get_rows (editor);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpint (convolve_model_editor_get_n_layers (editor), ==, 3);

  g_assert_false (convolve_model_editor_set_spec_text (editor, "conv3d(1)", &error));
  g_assert_error (error, CONVOLVE_ENGINE_ERROR, CONVOLVE_ENGINE_ERROR_INVALID_ARGUMENT);
  g_assert_false (convolve_model_editor_is_valid (editor));
  g_assert_true (convolve_model_editor_set_spec_text (editor, "flatten,dense(10,softmax)", NULL));
  g_assert_true (convolve_model_editor_is_valid (editor));

  /* Accepted: the layers' text, in the spec's own spelling, and closed. */
  g_object_ref (editor);
  gtk_widget_activate_action (GTK_WIDGET (editor), "editor.use", NULL);
  iterate ();
  g_assert_cmpstr (applied, ==, "flatten,dense(10,softmax)");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (editor)));
  g_object_unref (editor);
  close_editor (editor);
}

/* ---- in the window ------------------------------------------------------- */

static char *tmp_dir;

static gboolean
iterate_until (gboolean (*done) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 4 * TIMEOUT_US;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      if (!done (data))
        g_usleep (1000);
    }
  return TRUE;
}

static gboolean
workspace_shown (gpointer data)
{
  ConvolveWindow *self = data;

  return convolve_session_get_train (convolve_window_get_session (self)) != NULL &&
         g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "workspace") == 0;
}

typedef struct {
  ConvolveWindow *window;
  const char     *preset;     /* the model's preset, or NULL for ... */
  const char     *spec_text;  /* ... these layers */
} ModelWait;

static gboolean
model_is (gpointer data)
{
  ModelWait *wait = data;
  ConvolveModel *model = convolve_session_get_model (convolve_window_get_session (wait->window));
  const ConvolveModelSpec *spec;
  g_autofree char *text = NULL;

  if (model == NULL)
    return FALSE;
  spec = convolve_model_get_spec (model);
  if (wait->preset != NULL)
    {
      const ConvolveModelPreset *preset = convolve_model_preset_match (spec);

      return preset != NULL && g_strcmp0 (preset->name, wait->preset) == 0;
    }
  text = convolve_model_spec_to_string (spec);
  return g_strcmp0 (text, wait->spec_text) == 0;
}

static ConvolveModelEditor *
find_editor (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* transfer none */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (CONVOLVE_IS_MODEL_EDITOR (window))
        return CONVOLVE_MODEL_EDITOR (window);
    }
  return NULL;
}

static gboolean
editor_shown (gpointer data)
{
  return find_editor () != NULL;
}

static gboolean
editor_gone (gpointer data)
{
  return find_editor () == NULL;
}

/* Choosing a preset makes a model of it (and new models follow); Edit
 * Layers opens the editor on the model's layers, and its layers become the
 * model's. */
static void
test_panel_presets_and_editor (void)
{
  g_autofree char *dir = test_cifar_folder_new (tmp_dir, "presets", 40, 10);
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *setting = NULL;
  ConvolveWindow *self;
  GtkWidget *preset_row, *edit_row = NULL;
  ConvolveModelEditor *editor;
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  ModelWait wait = { 0 };
  const char *custom = "conv2d(4,3,same,relu),maxpool(2),flatten,dense(10,softmax)";

  g_settings_set_string (settings, "model-spec", "");
  g_settings_set_string (settings, "last-dataset-path", dir);
  self = g_object_ref (convolve_window_new (NULL));
  gtk_window_present (GTK_WINDOW (self));
  g_assert_true (iterate_until (workspace_shown, self));
  wait.window = self;

  preset_row = find_widget (GTK_WIDGET (self->training_panel), ADW_TYPE_COMBO_ROW, NULL);
  g_assert_nonnull (preset_row);
  wait.preset = "tutorial";
  g_assert_true (model_is (&wait));
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (preset_row)), ==, 0);

  adw_combo_row_set_selected (ADW_COMBO_ROW (preset_row), 1);
  wait.preset = "better";
  g_assert_true (iterate_until (model_is, &wait));
  setting = g_settings_get_string (settings, "model-spec");
  g_assert_true (g_str_has_prefix (setting, "conv2d(32,3,same,linear),batchnorm(0.9),relu,maxpool(2),conv2d(64"));
  g_clear_pointer (&setting, g_free);

  adw_combo_row_set_selected (ADW_COMBO_ROW (preset_row), 0);
  wait.preset = "tutorial";
  g_assert_true (iterate_until (model_is, &wait));
  setting = g_settings_get_string (settings, "model-spec");
  g_assert_cmpstr (setting, ==, "");
  g_clear_pointer (&setting, g_free);

  /* Edit Layers: the editor, on the model's layers and the dataset's shape. */
  collect_widgets (GTK_WIDGET (self->training_panel), ADW_TYPE_ACTION_ROW, rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (rows->pdata[i]), "_Edit Layers…") == 0)
      edit_row = rows->pdata[i];
  g_assert_nonnull (edit_row);
  g_signal_emit_by_name (edit_row, "activated");
  g_assert_true (iterate_until (editor_shown, NULL));
  editor = find_editor ();
  {
    g_autofree char *text = convolve_model_editor_dup_spec_text (editor);

    g_assert_cmpstr (text, ==, tutorial_text);
  }

  /* Layers that do not fit are refused: the model stays. */
  g_assert_true (convolve_model_editor_set_spec_text (editor, "dense(10,softmax)", NULL));
  gtk_widget_activate_action (GTK_WIDGET (editor), "editor.use", NULL);
  iterate ();
  g_assert_true (find_editor () == editor);
  g_assert_true (model_is (&wait));

  /* Those that do become the model, and the row says "Custom". */
  g_assert_true (convolve_model_editor_set_spec_text (editor, custom, NULL));
  gtk_widget_activate_action (GTK_WIDGET (editor), "editor.use", NULL);
  g_assert_true (iterate_until (editor_gone, NULL));
  wait.preset = NULL;
  wait.spec_text = custom;
  g_assert_true (iterate_until (model_is, &wait));
  setting = g_settings_get_string (settings, "model-spec");
  g_assert_cmpstr (setting, ==, custom);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (preset_row)), ==, 2);

  gtk_window_destroy (GTK_WINDOW (self));
  g_assert_finalize_object (self);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* Datasets are discovered under the home and data folders: keep them
   * empty so only the generated one appears. */
  tmp_dir = g_dir_make_tmp ("convolve-test-model-editor-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("HOME", tmp_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/model-editor/round-trip", test_editor_round_trip);
  g_test_add_func ("/app/model-editor/edit", test_editor_edit);
  g_test_add_func ("/app/model-editor/globalavgpool", test_editor_globalavgpool);
  g_test_add_func ("/app/model-editor/invalid", test_editor_invalid);
  g_test_add_func ("/app/model-editor/text", test_editor_text);
  g_test_add_func ("/app/model-editor/panel", test_panel_presets_and_editor);

  status = g_test_run ();
  test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
