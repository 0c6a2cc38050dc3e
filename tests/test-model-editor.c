/* test-model-editor.c: the model editor shows the layers of a spec text
 * and gives the same text back, follows edits from its buttons, rows and
 * text entry, shows why layers that do not fit cannot be used, and hands
 * back only layers that can.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <adwaita.h>
#include <string.h>

#include "convolve-engine.h"
#include "convolve-model-editor.h"

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

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/model-editor/round-trip", test_editor_round_trip);
  g_test_add_func ("/app/model-editor/edit", test_editor_edit);
  g_test_add_func ("/app/model-editor/invalid", test_editor_invalid);
  g_test_add_func ("/app/model-editor/text", test_editor_text);

  return g_test_run ();
}
