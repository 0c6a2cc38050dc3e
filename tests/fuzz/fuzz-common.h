/* fuzz-common.h: what the libFuzzer harnesses share.
 *
 * Each fuzz-<target>.c defines LLVMFuzzerTestOneInput() and nothing else
 * global, so the same file links into a libFuzzer binary (clang,
 * -Dfuzzing=enabled) and into the replay driver of the normal test suite
 * (replay.c, any compiler), where the entry point is renamed by a macro.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The replay driver compiles every harness into one program, each with its
 * entry point renamed (-DCONVOLVE_FUZZ_ENTRY=convolve_fuzz_<target>). */
#ifndef CONVOLVE_FUZZ_ENTRY
#define CONVOLVE_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int CONVOLVE_FUZZ_ENTRY (const uint8_t *data, size_t size);

/* Once per process: warnings and criticals abort (input must never reach
 * the terminal as a GLib warning), GIO loads no modules, the locale is C. */
void convolve_fuzz_init (void);

/* A private folder for this process, removed at exit. */
const char *convolve_fuzz_temp_dir (void);

/* Writes data to dir/name (creating dir); aborts on failure, which is the
 * harness's fault, never the input's. Returns the path. */
char *convolve_fuzz_write_file (const char   *dir,
                                const char   *name,
                                const uint8_t *data,
                                size_t        size);

/* Deletes everything inside dir (not dir itself), never following links. */
void convolve_fuzz_clear_dir (const char *dir);

/* Splits data at each CONVOLVE_FUZZ_SEPARATOR into at most max_parts
 * parts (the last takes the rest); returns how many. A part may be
 * empty. Lets one input hold several files. */
#define CONVOLVE_FUZZ_SEPARATOR "\n--convolve-fuzz-next-file--\n"
guint convolve_fuzz_split (const uint8_t  *data,
                           size_t          size,
                           guint           max_parts,
                           const uint8_t **parts,
                           size_t         *sizes);

G_END_DECLS
