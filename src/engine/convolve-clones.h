/* convolve-clones.h: CONVOLVE_CLONES before a function that is one plain,
 * restrict-qualified loop nest builds AVX-512, AVX2 and baseline copies of
 * it and picks one when the program loads (GCC's target_clones), so the
 * vectorised loops use the widest registers the CPU has while the binary
 * still runs on any x86-64. Elsewhere it does nothing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__has_attribute)
# if __has_attribute(target_clones)
#  define CONVOLVE_CLONES __attribute__((target_clones ("avx512f", "avx2", "default")))
# endif
#endif
#ifndef CONVOLVE_CLONES
# define CONVOLVE_CLONES
#endif
