/* resource-test-util.h: what a hostile input costs, for the tests that
 * feed one. Each such test runs its loads in a subprocess of its own
 * (g_test_trap_subprocess), so the process's peak resident size before
 * and after a load tells how much memory the load took at its worst.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <sys/resource.h>

/* AddressSanitizer pads and quarantines every allocation and slows
 * everything down: the bounds grow by this factor there (still far below
 * what the hostile inputs took before they were bounded). */
#if defined(__SANITIZE_ADDRESS__)
#define RESOURCE_TEST_SANITIZER_FACTOR 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RESOURCE_TEST_SANITIZER_FACTOR 4
#endif
#endif
#ifndef RESOURCE_TEST_SANITIZER_FACTOR
#define RESOURCE_TEST_SANITIZER_FACTOR 1
#endif

/* The largest resident size this process has had, in KiB. */
#define RESOURCE_TEST_TIME_SLACK 10

static inline gint64
resource_test_peak_rss_kib (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return usage.ru_maxrss;
}

typedef struct {
  gint64 start_us;
  gint64 start_peak_kib;
} ResourceProbe;

static inline ResourceProbe
resource_probe_begin (void)
{
  ResourceProbe probe = { g_get_monotonic_time (), resource_test_peak_rss_kib () };

  return probe;
}

/* Asserts that since begin, at most max_ms passed and the peak resident
 * size grew by at most max_mib (both times RESOURCE_TEST_SANITIZER_FACTOR);
 * says what was measured either way. */
static inline void
resource_probe_check (const ResourceProbe *probe,
                      const char          *what,
                      gint64               max_ms,
                      gint64               max_mib)
{
  gint64 ms = (g_get_monotonic_time () - probe->start_us) / 1000;
  gint64 grown_kib = resource_test_peak_rss_kib () - probe->start_peak_kib;

  g_test_message ("%s: %" G_GINT64_FORMAT " ms, peak RSS grew by %" G_GINT64_FORMAT " KiB",
                  what, ms, grown_kib);
  /* Time only guards against a hang or a quadratic blow-up: a loaded
   * machine (CI runs builds and fuzzers side by side) is easily 10x slow.
   * The speed itself is a benchmark's business; memory is checked tightly. */
  g_assert_cmpint (ms, <, max_ms * RESOURCE_TEST_TIME_SLACK * RESOURCE_TEST_SANITIZER_FACTOR);
  g_assert_cmpint (grown_kib, <, max_mib * 1024 * RESOURCE_TEST_SANITIZER_FACTOR);
}
