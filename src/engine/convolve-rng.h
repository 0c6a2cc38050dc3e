/* convolve-rng.h: an explicit, seeded random number generator
 * (xoshiro256**, seeded through splitmix64). No global state: whoever
 * needs randomness is handed a ConvolveRng.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  uint64_t s[4];
} ConvolveRng;

void     convolve_rng_init        (ConvolveRng *rng, uint64_t seed);
uint64_t convolve_rng_next_u64    (ConvolveRng *rng);
/* uniform in [0, 1) with 24 random bits */
float    convolve_rng_uniform     (ConvolveRng *rng);
/* uniform in [0, bound), unbiased; bound > 0 */
uint32_t convolve_rng_below       (ConvolveRng *rng, uint32_t bound);
/* Fisher-Yates shuffle of n indices */
void     convolve_rng_shuffle_u32 (ConvolveRng *rng, uint32_t *items, size_t n);
/* state as 64 hex characters and back (for checkpoints) */
char    *convolve_rng_to_string   (const ConvolveRng *rng);
gboolean convolve_rng_from_string (ConvolveRng *rng, const char *text);

G_END_DECLS
