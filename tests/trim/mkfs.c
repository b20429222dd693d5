/*
 * trim/mkfs.c -- mkfs with params.discard: one discard of blocks 1..lsize-1
 * before any write; no discard op or EOPNOTSUPP is fine, another error
 * fails
 */
#include "trim.h"

/* ------------------------------------------------------------ mkfs tests */

void test_mkfs_discard(void **state)
{
	(void)state;
	const uint64_t dev_blocks = 70, lsize = 64;
	struct memdev *d = rd_new(dev_blocks * BS);
	uint8_t *buf = malloc(BS);

	/* logical size below the device: one discard of 1..lsize-1, first */
	rd_fill(d, 0xa5);
	d->recording = 1;
	mkfs_on(d, lsize, 1);
	assert_int_equal(d->discard_calls, 1);
	assert_true(d->nlog > 1);
	assert_int_equal(d->log[0].kind, MD_DISCARD);
	assert_int_equal(d->log[0].off, BS);
	assert_int_equal(d->log[0].len, (lsize - 1) * BS);
	for (size_t i = 1; i < d->nlog; i++)
		assert_int_not_equal(d->log[i].kind, MD_DISCARD);
	for (uint64_t L = lsize; L < dev_blocks; L++) {
		memcpy(buf, d->mem + L * BS, BS);
		assert_int_equal(buf[0], 0xa5); /* not ours: untouched */
		assert_int_equal(buf[BS - 1], 0xa5);
	}
	expect_clean(&d->be, 1, "mkfs discard");
	memdev_clear_log(d);

	/* the whole device */
	d->discard_calls = 0;
	mkfs_on(d, 0, 1);
	assert_int_equal(d->discard_calls, 1);
	assert_int_equal(d->log[0].kind, MD_DISCARD);
	assert_int_equal(d->log[0].off, BS);
	assert_int_equal(d->log[0].len, (dev_blocks - 1) * BS);
	memdev_clear_log(d);

	/* no discard asked: none issued */
	d->discard_calls = 0;
	mkfs_on(d, lsize, 0);
	assert_int_equal(d->discard_calls, 0);
	memdev_clear_log(d);

	/* EOPNOTSUPP: not an error */
	d->discard_err = -EOPNOTSUPP;
	mkfs_on(d, lsize, 1);
	expect_clean(&d->be, 1, "mkfs discard EOPNOTSUPP");
	memdev_clear_log(d);

	/* a backend without discard: not an error */
	d->discard_err = 0;
	int (*discard)(struct wodan_backend *, uint64_t, uint64_t) =
		d->be.discard;
	d->be.discard = NULL;
	mkfs_on(d, lsize, 1);
	expect_clean(&d->be, 1, "mkfs without discard op");
	d->be.discard = discard;
	memdev_clear_log(d);

	/* another discard error fails mkfs before anything is written */
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS, .discard = 1 };
	d->discard_err = -EIO;
	assert_int_equal(wodan_mkfs(&d->be, &p, NULL), WODAN_E_IO_DISCARD);
	assert_int_equal(d->nlog, 0);
	d->discard_err = 0;

	free(buf);
	rd_free(d);
}
