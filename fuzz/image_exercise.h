/*
 * image_exercise.h -- the "hostile image" exercise shared by `wodanc fuzz
 * IMAGE` (AFL entry point) and the libFuzzer harness fuzz/fuzz_image.c.
 * Public API only (wodan.h), so it links against libwodan.
 *
 * wf_image_run(data, len) copies the image into a RAM device and:
 *   1. wodan_check (relaxed magic CRC) and wodan_open (relaxed magic CRC,
 *      magic CRC writes); a refused image ends the run (return 0).  Without
 *      FAST_SCAN/ROLLBACK, check clean <=> open succeeds;
 *   2. iterates everything (keys strictly ascending), cross-checks lookups
 *      and two sub-ranges against that snapshot (the model);
 *   3. inserts/overwrites/deletes a few keys, flushes, compares, closes,
 *      reopens, compares, simulates a power cut (insert, abandon, reopen:
 *      the flushed state), and finally runs wodan_check: clean, and
 *      live_keys equals the model.
 * Any disagreement prints "wodan fuzz: MISMATCH: ..." on stderr and calls
 * abort(), so fuzzers record a crash.  Exception: on an image whose root
 * generations are out of circular log order, a reopen that finds another
 * root stops the run quietly (known limitation of the root search,
 * fuzz/README.md) unless WODAN_FUZZ_STRICT_ROOTS is set.
 *
 * Byte 500 of the input (in the superblock's reserved area, ignored by
 * mount) selects open options, so the fuzzer explores them and an input
 * replays identically everywhere:
 *   bit 0 FAST_SCAN   bit 1 ROLLBACK   bit 2 tiny clean cache
 *   bit 3 NO_AUTOFLUSH + tiny dirty budget   bit 4 max_fanout 3
 */
#ifndef WODAN_FUZZ_IMAGE_EXERCISE_H
#define WODAN_FUZZ_IMAGE_EXERCISE_H

#include <stddef.h>
#include <stdint.h>

/* Largest image wf_image_run accepts (bytes); larger inputs return -1. */
#define WF_IMAGE_MAX (64u << 20)

/* Offset of the option byte (see above). */
#define WF_OPTION_BYTE 500u

/* Run the exercise.  Returns 1 when the image was opened and fully
 * exercised, 0 when it was refused (or a run stopped early on an error the
 * contract allows, e.g. a damaged leaf under FAST_SCAN), -1 when the input
 * is too large or the RAM device could not be made.  verbose: one line of
 * outcome on stderr.  Aborts on a mismatch. */
int wf_image_run(const uint8_t *data, size_t len, int verbose);

#endif
