/* test-cifar-folder.h: a small CIFAR-10 binary folder for tests that load
 * datasets the way users do (the window, the session), and the removal of
 * the temporary folders tests make.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The CIFAR-10 class names, NULL-terminated. */
extern const char *test_cifar_class_names[];

/* Writes data_batch_1.bin (n_train images), test_batch.bin (n_test) and
 * batches.meta.txt into parent/name (created) and returns that folder.
 * Image i has label i % 10; each class has its own band of brightness on
 * a noisy background, so a model can learn something. */
char *test_cifar_folder_new (const char *parent,
                             const char *name,
                             guint       n_train,
                             guint       n_test);

/* Deletes path and everything below it, never following a link (a link
 * is removed, not what it points to). Missing paths are fine. */
void test_remove_tree (const char *path);

G_END_DECLS
