/* convolve-history.c: an append-only record readable without locks.
 *
 * Points live in chunks that are allocated once and never move; the chunk
 * directory is allocated whole when the history is made. The writer fills a
 * point, then publishes the new length with an atomic store; a reader loads
 * the length atomically and reads any point below it. GLib's atomics are
 * sequentially consistent, which orders the point's stores before the
 * length's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "convolve-history.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STEP_CHUNK_BITS  14
#define STEP_DIR_SIZE    (1u << 12)
#define EPOCH_CHUNK_BITS 10
#define EPOCH_DIR_SIZE   (1u << 10)

typedef struct {
  gsize     element_size;
  guint     chunk_bits;
  guint     dir_size;
  gpointer *chunks;
  int       length;      /* atomic */
} ChunkedArray;

struct _ConvolveHistory {
  gatomicrefcount ref_count;
  ChunkedArray    steps;
  ChunkedArray    epochs;
};

G_DEFINE_BOXED_TYPE (ConvolveHistory, convolve_history,
                     convolve_history_ref, convolve_history_unref)

static void
chunked_array_init (ChunkedArray *array,
                    gsize         element_size,
                    guint         chunk_bits,
                    guint         dir_size)
{
  array->element_size = element_size;
  array->chunk_bits = chunk_bits;
  array->dir_size = dir_size;
  array->chunks = g_new0 (gpointer, dir_size);
  array->length = 0;
}

static void
chunked_array_clear (ChunkedArray *array)
{
  for (guint i = 0; i < array->dir_size; i++)
    g_free (array->chunks[i]);
  g_clear_pointer (&array->chunks, g_free);
}

static guint
chunked_array_get_length (const ChunkedArray *array)
{
  return (guint) g_atomic_int_get (&array->length);
}

static gconstpointer
chunked_array_get (const ChunkedArray *array,
                   guint               index)
{
  guint chunk = index >> array->chunk_bits;
  guint offset = index & ((1u << array->chunk_bits) - 1);

  return (const char *) array->chunks[chunk] + offset * array->element_size;
}

static gboolean
chunked_array_append (ChunkedArray  *array,
                      gconstpointer  element)
{
  guint length = chunked_array_get_length (array);
  guint chunk = length >> array->chunk_bits;
  guint offset = length & ((1u << array->chunk_bits) - 1);

  if (chunk >= array->dir_size)
    return FALSE;
  if (array->chunks[chunk] == NULL)
    array->chunks[chunk] = g_malloc (array->element_size << array->chunk_bits);
  memcpy ((char *) array->chunks[chunk] + offset * array->element_size,
          element, array->element_size);
  g_atomic_int_set (&array->length, (int) length + 1);
  return TRUE;
}

ConvolveHistory *
convolve_history_new (void)
{
  ConvolveHistory *history = g_new0 (ConvolveHistory, 1);

  g_atomic_ref_count_init (&history->ref_count);
  chunked_array_init (&history->steps, sizeof (ConvolveHistoryStep),
                      STEP_CHUNK_BITS, STEP_DIR_SIZE);
  chunked_array_init (&history->epochs, sizeof (ConvolveHistoryEpoch),
                      EPOCH_CHUNK_BITS, EPOCH_DIR_SIZE);
  return history;
}

ConvolveHistory *
convolve_history_ref (ConvolveHistory *history)
{
  g_return_val_if_fail (history != NULL, NULL);

  g_atomic_ref_count_inc (&history->ref_count);
  return history;
}

void
convolve_history_unref (ConvolveHistory *history)
{
  g_return_if_fail (history != NULL);

  if (g_atomic_ref_count_dec (&history->ref_count))
    {
      chunked_array_clear (&history->steps);
      chunked_array_clear (&history->epochs);
      g_free (history);
    }
}

guint
convolve_history_get_n_steps (const ConvolveHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);

  return chunked_array_get_length (&history->steps);
}

const ConvolveHistoryStep *
convolve_history_get_step (const ConvolveHistory *history,
                           guint                  index)
{
  g_return_val_if_fail (history != NULL, NULL);
  g_return_val_if_fail (index < chunked_array_get_length (&history->steps), NULL);

  return chunked_array_get (&history->steps, index);
}

guint
convolve_history_get_n_epochs (const ConvolveHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);

  return chunked_array_get_length (&history->epochs);
}

const ConvolveHistoryEpoch *
convolve_history_get_epoch (const ConvolveHistory *history,
                            guint                  index)
{
  g_return_val_if_fail (history != NULL, NULL);
  g_return_val_if_fail (index < chunked_array_get_length (&history->epochs), NULL);

  return chunked_array_get (&history->epochs, index);
}

gboolean
convolve_history_append_step (ConvolveHistory           *history,
                              const ConvolveHistoryStep *step)
{
  g_return_val_if_fail (history != NULL, FALSE);
  g_return_val_if_fail (step != NULL, FALSE);

  return chunked_array_append (&history->steps, step);
}

gboolean
convolve_history_append_epoch (ConvolveHistory            *history,
                               const ConvolveHistoryEpoch *epoch)
{
  g_return_val_if_fail (history != NULL, FALSE);
  g_return_val_if_fail (epoch != NULL, FALSE);

  return chunked_array_append (&history->epochs, epoch);
}

/* The shortest of %.15g, %.16g, %.17g that reads back to the same double,
 * with '.' whatever the locale; "nan"/"inf"/"-inf" for the rest (or null
 * for JSON, which has no such numbers). */
static void
append_double (GString  *out,
               double    value,
               gboolean  json)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (value))
    {
      g_string_append (out, json ? "null" : "nan");
      return;
    }
  if (isinf (value))
    {
      g_string_append (out, json ? "null" : (value > 0 ? "inf" : "-inf"));
      return;
    }
  for (int precision = 15; precision <= 17; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      if (precision == 17 || g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  g_string_append (out, buffer);
}

static const char steps_header[] = "global_step,epoch,step,loss,accuracy";
static const char epochs_header[] = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,augmented";

char *
convolve_history_steps_to_csv (const ConvolveHistory *history)
{
  GString *out;
  guint n;

  g_return_val_if_fail (history != NULL, NULL);

  n = convolve_history_get_n_steps (history);
  out = g_string_sized_new (64 + (gsize) n * 48);
  g_string_append_printf (out, "%s\n", steps_header);
  for (guint i = 0; i < n; i++)
    {
      const ConvolveHistoryStep *s = chunked_array_get (&history->steps, i);

      g_string_append_printf (out, "%" G_GINT64_FORMAT ",%d,%d,", s->global_step, s->epoch, s->step);
      append_double (out, s->loss, FALSE);
      g_string_append_c (out, ',');
      append_double (out, s->accuracy, FALSE);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

char *
convolve_history_epochs_to_csv (const ConvolveHistory *history)
{
  GString *out;
  guint n;

  g_return_val_if_fail (history != NULL, NULL);

  n = convolve_history_get_n_epochs (history);
  out = g_string_new (NULL);
  g_string_append_printf (out, "%s\n", epochs_header);
  for (guint i = 0; i < n; i++)
    {
      const ConvolveHistoryEpoch *e = chunked_array_get (&history->epochs, i);

      g_string_append_printf (out, "%d,", e->epoch);
      append_double (out, e->loss, FALSE);
      g_string_append_c (out, ',');
      append_double (out, e->accuracy, FALSE);
      g_string_append_c (out, ',');
      append_double (out, e->val_loss, FALSE);
      g_string_append_c (out, ',');
      append_double (out, e->val_accuracy, FALSE);
      g_string_append_c (out, ',');
      append_double (out, e->seconds, FALSE);
      g_string_append_printf (out, ",%d\n", e->augmented ? 1 : 0);
    }
  return g_string_free (out, FALSE);
}

static void
append_epoch_json (GString                    *out,
                   const ConvolveHistoryEpoch *e)
{
  g_string_append_printf (out, "{\"epoch\": %d, \"loss\": ", e->epoch);
  append_double (out, e->loss, TRUE);
  g_string_append (out, ", \"accuracy\": ");
  append_double (out, e->accuracy, TRUE);
  g_string_append (out, ", \"val_loss\": ");
  append_double (out, e->val_loss, TRUE);
  g_string_append (out, ", \"val_accuracy\": ");
  append_double (out, e->val_accuracy, TRUE);
  g_string_append (out, ", \"seconds\": ");
  append_double (out, e->seconds, TRUE);
  g_string_append_printf (out, ", \"augmented\": %s}", e->augmented ? "true" : "false");
}

char *
convolve_history_epoch_to_json (const ConvolveHistoryEpoch *epoch)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (epoch != NULL, NULL);

  append_epoch_json (out, epoch);
  return g_string_free (out, FALSE);
}

char *
convolve_history_to_json (const ConvolveHistory *history)
{
  GString *out;
  guint n_epochs, n_steps;

  g_return_val_if_fail (history != NULL, NULL);

  n_epochs = convolve_history_get_n_epochs (history);
  n_steps = convolve_history_get_n_steps (history);
  out = g_string_sized_new (64 + (gsize) n_steps * 96);
  g_string_append (out, "{\n  \"epochs\": [");
  for (guint i = 0; i < n_epochs; i++)
    {
      g_string_append (out, i == 0 ? "\n    " : ",\n    ");
      append_epoch_json (out, chunked_array_get (&history->epochs, i));
    }
  g_string_append (out, n_epochs > 0 ? "\n  ],\n  \"steps\": [" : "],\n  \"steps\": [");
  for (guint i = 0; i < n_steps; i++)
    {
      const ConvolveHistoryStep *s = chunked_array_get (&history->steps, i);

      g_string_append (out, i == 0 ? "\n    " : ",\n    ");
      g_string_append_printf (out, "{\"global_step\": %" G_GINT64_FORMAT ", \"epoch\": %d, \"step\": %d, \"loss\": ",
                              s->global_step, s->epoch, s->step);
      append_double (out, s->loss, TRUE);
      g_string_append (out, ", \"accuracy\": ");
      append_double (out, s->accuracy, TRUE);
      g_string_append_c (out, '}');
    }
  g_string_append (out, n_steps > 0 ? "\n  ]\n}\n" : "]\n}\n");
  return g_string_free (out, FALSE);
}

static gboolean
save_text (const char  *text,
           const char  *path,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0666, &local_error))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, local_error->domain, local_error->code,
                   _("Could not save the training history to “%s”: %s"),
                   display, local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
convolve_history_save_steps_csv (const ConvolveHistory  *history,
                                 const char             *path,
                                 GError                **error)
{
  g_autofree char *text = convolve_history_steps_to_csv (history);

  return save_text (text, path, error);
}

gboolean
convolve_history_save_epochs_csv (const ConvolveHistory  *history,
                                  const char             *path,
                                  GError                **error)
{
  g_autofree char *text = convolve_history_epochs_to_csv (history);

  return save_text (text, path, error);
}

gboolean
convolve_history_save_json (const ConvolveHistory  *history,
                            const char             *path,
                            GError                **error)
{
  g_autofree char *text = convolve_history_to_json (history);

  return save_text (text, path, error);
}

static gboolean
parse_double (const char *text,
              double     *value)
{
  char *end = NULL;

  if (g_ascii_strcasecmp (text, "nan") == 0)
    {
      *value = NAN;
      return TRUE;
    }
  if (g_ascii_strcasecmp (text, "inf") == 0 || g_ascii_strcasecmp (text, "-inf") == 0)
    {
      *value = text[0] == '-' ? -INFINITY : INFINITY;
      return TRUE;
    }
  if (*text == '\0')
    return FALSE;
  *value = g_ascii_strtod (text, &end);
  return end != NULL && *end == '\0';
}

static gboolean
parse_int64 (const char *text,
             gint64      min,
             gint64      max,
             gint64     *value)
{
  char *end = NULL;

  if (*text == '\0' || g_ascii_isspace (*text))
    return FALSE;
  *value = g_ascii_strtoll (text, &end, 10);
  return end != NULL && *end == '\0' && *value >= min && *value <= max;
}

static gboolean
parse_table (ConvolveHistory  *history,
             const char       *csv,
             gboolean          steps,
             GError          **error)
{
  g_auto(GStrv) lines = g_strsplit (csv, "\n", -1);
  const char *header = steps ? steps_header : epochs_header;
  guint n_fields = steps ? 5 : 7;

  if (lines[0] == NULL || strcmp (g_strchomp (lines[0]), header) != 0)
    {
      g_set_error_literal (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY,
                           steps ? _("The step history does not start with the expected header")
                                 : _("The epoch history does not start with the expected header"));
      return FALSE;
    }

  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      gboolean ok;

      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], ",", -1);
      ok = g_strv_length (fields) == n_fields;

      if (ok && steps)
        {
          ConvolveHistoryStep s = { 0 };
          gint64 epoch = 0, step = 0;

          ok = parse_int64 (fields[0], 1, G_MAXINT64, &s.global_step) &&
               parse_int64 (fields[1], 1, G_MAXINT, &epoch) &&
               parse_int64 (fields[2], 1, G_MAXINT, &step) &&
               parse_double (fields[3], &s.loss) &&
               parse_double (fields[4], &s.accuracy);
          s.epoch = (int) epoch;
          s.step = (int) step;
          ok = ok && convolve_history_append_step (history, &s);
        }
      else if (ok)
        {
          ConvolveHistoryEpoch e = { 0 };
          gint64 epoch = 0, augmented = 0;

          ok = parse_int64 (fields[0], 1, G_MAXINT, &epoch) &&
               parse_double (fields[1], &e.loss) &&
               parse_double (fields[2], &e.accuracy) &&
               parse_double (fields[3], &e.val_loss) &&
               parse_double (fields[4], &e.val_accuracy) &&
               parse_double (fields[5], &e.seconds) &&
               parse_int64 (fields[6], 0, 1, &augmented);
          e.epoch = (int) epoch;
          e.augmented = augmented != 0;
          ok = ok && convolve_history_append_epoch (history, &e);
        }

      if (!ok)
        {
          if (steps)
            g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY,
                         _("Line %u of the step history is damaged"), i + 1);
          else
            g_set_error (error, CONVOLVE_TRAIN_ERROR, CONVOLVE_TRAIN_ERROR_HISTORY,
                         _("Line %u of the epoch history is damaged"), i + 1);
          return FALSE;
        }
    }
  return TRUE;
}

ConvolveHistory *
convolve_history_new_from_csv (const char  *steps_csv,
                               const char  *epochs_csv,
                               GError     **error)
{
  g_autoptr(ConvolveHistory) history = convolve_history_new ();

  if (steps_csv != NULL && !parse_table (history, steps_csv, TRUE, error))
    return NULL;
  if (epochs_csv != NULL && !parse_table (history, epochs_csv, FALSE, error))
    return NULL;
  return g_steal_pointer (&history);
}
