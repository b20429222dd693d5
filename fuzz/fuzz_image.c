/*
 * fuzz_image.c -- libFuzzer harness for mount + check of a whole image:
 * the input is an image, exercised by fuzz/image_exercise.c exactly as
 * `wodanc fuzz IMAGE` does (RAM copy, relaxed magic CRC; wodan_check and
 * wodan_open must agree; iterate, lookups, changes, flush, reopen, power
 * cut, final check against a model).  Byte 500 selects open options (see
 * image_exercise.h).  Seeds are small images whose CRCs were replaced by
 * the magic trailer (fuzz/make-corpus.sh), so mutations reach the node
 * parsers and the tree code instead of stopping at CRC32C.
 *
 * Inputs over 1 MiB are ignored (keeps executions fast; `wodanc fuzz`
 * takes up to 64 MiB).
 */
#include <stddef.h>
#include <stdint.h>
#include "image_exercise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	wf_image_run(data, size, 0);
	return 0;
}
