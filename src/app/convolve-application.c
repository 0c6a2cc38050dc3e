/* convolve-application.c: the application object, its app-wide actions and
 * keyboard shortcuts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "convolve-application.h"
#include "convolve-preferences-window.h"
#include "convolve-window.h"

struct _ConvolveApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (ConvolveApplication, convolve_application, ADW_TYPE_APPLICATION)

/* Accelerators of every action, app-wide and per window; the shortcuts
 * window (ui/help-overlay.ui) lists the same. F10 opens the main menu by
 * itself (GtkMenuButton:primary). */
static const struct {
  const char *action;
  const char *accels[3];
} accelerators[] = {
  { "app.quit",               { "<Control>q", NULL } },
  { "app.preferences",        { "<Control>comma", NULL } },
  { "window.close",           { "<Control>w", NULL } },
  { "win.new-model",          { "<Control>n", NULL } },
  { "win.open-model",         { "<Control>o", NULL } },
  { "win.save-model",         { "<Control>s", NULL } },
  { "win.save-model-as",      { "<Control><Shift>s", NULL } },
  { "win.export-history('csv')", { "<Control>e", NULL } },
  { "win.open-dataset-folder", { "<Control><Shift>o", NULL } },
  { "win.train",              { "<Control>Return", NULL } },
  /* one key for both: only one of the two is enabled at a time */
  { "win.pause",              { "<Control>p", NULL } },
  { "win.resume",             { "<Control>p", NULL } },
  { "win.stop",               { "<Control>period", NULL } },
  { "win.evaluate",           { "<Control><Shift>Return", NULL } },
  { "win.show-view('training')",   { "<Alt>1", NULL } },
  { "win.show-view('evaluation')", { "<Alt>2", NULL } },
  { "win.show-view('runs')",       { "<Alt>3", NULL } },
  { "win.show-summary",       { "<Control>i", NULL } },
};

ConvolveApplication *
convolve_application_new (void)
{
  return g_object_new (CONVOLVE_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/convolve/Convolve",
                       NULL);
}

static void
convolve_application_activate (GApplication *app)
{
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    window = GTK_WINDOW (convolve_window_new (CONVOLVE_APPLICATION (app)));
  gtk_window_present (window);
}

static void
convolve_application_startup (GApplication *app)
{
  g_autoptr(GtkCssProvider) css = NULL;

  G_APPLICATION_CLASS (convolve_application_parent_class)->startup (app);

  /* The widgets' own style sheet; our style.css is loaded by AdwApplication. */
  css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/io/github/convolve/Convolve/convolve-widgets.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  for (gsize i = 0; i < G_N_ELEMENTS (accelerators); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app),
                                           accelerators[i].action,
                                           accelerators[i].accels);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (app));

  /* Closing each window lets it stop its trainer and save its state. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
}

/* convolve FOLDER opens a dataset, convolve MODEL.safetensors a model
 * (both: the dataset first, so the model is checked against it). */
static void
convolve_application_open (GApplication  *app,
                           GFile        **files,
                           int            n_files,
                           const char    *hint)
{
  ConvolveWindow *window;

  convolve_application_activate (app);
  window = CONVOLVE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n_files; i++)
      {
        gboolean folder = g_file_query_file_type (files[i], G_FILE_QUERY_INFO_NONE, NULL) == G_FILE_TYPE_DIRECTORY;
        g_autofree char *path = g_file_get_path (files[i]);

        if (pass == 0 && folder && path != NULL)
          convolve_window_open_dataset (window, path);
        else if (pass == 1 && !folder)
          convolve_window_open_model (window, files[i]);
      }
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  static const char *developers[] = { "The Convolve authors", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "application-name", _("Convolve"),
                        "application-icon", APP_ID,
                        "developer-name", _("The Convolve authors"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Train and inspect image classifiers: watch a small convolutional network learn CIFAR-10 or Fashion-MNIST, and ask it what it sees."),
                        "website", "https://github.com/convolve/convolve",
                        "issue-url", "https://github.com/convolve/convolve/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "copyright", "© 2026 The Convolve authors",
                        "developers", developers,
                        /* Translators: your names, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  adw_about_window_add_acknowledgement_section (ADW_ABOUT_WINDOW (about),
                                                _("Datasets"),
                                                (const char *[]) {
                                                  "CIFAR-10 (Alex Krizhevsky, 2009) https://www.cs.toronto.edu/~kriz/cifar.html",
                                                  "Fashion-MNIST (Zalando Research) https://github.com/zalandoresearch/fashion-mnist",
                                                  NULL });
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  ConvolvePreferencesWindow *preferences;

  preferences = convolve_preferences_window_new (gtk_application_get_active_window (app));
  gtk_window_present (GTK_WINDOW (preferences));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "about", about_action },
  { "preferences", preferences_action },
};

static void
convolve_application_class_init (ConvolveApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = convolve_application_activate;
  app_class->open = convolve_application_open;
  app_class->startup = convolve_application_startup;
}

static void
convolve_application_init (ConvolveApplication *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   app_actions, G_N_ELEMENTS (app_actions),
                                   self);
}
