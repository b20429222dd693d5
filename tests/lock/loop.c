/*
 * lock/loop.c -- two writers on a loop device (root with a working losetup;
 * otherwise a visible SKIP line)
 */
#include "lock.h"

/* ------------------------------------------------------- loop device */

void test_loop_two_writers(void **st)
{
	(void)st;
	char why[600] = "", dev[64] = "";
	const char *img = tpath("loop.img");
	if (geteuid() != 0) {
		printf("SKIP: two writers on a loop device: needs root\n");
		skip();
	}
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	close(fd);
	char cmd[1200], line[256] = "";
	snprintf(cmd, sizeof cmd, "losetup -f --show '%s' 2>&1", img);
	FILE *pp = popen(cmd, "r");
	if (!pp || !fgets(line, sizeof line, pp))
		line[0] = 0;
	int rc = pp ? pclose(pp) : -1;
	line[strcspn(line, "\n")] = 0;
	if (rc != 0 || strncmp(line, "/dev/loop", 9)) {
		snprintf(why, sizeof why, "losetup failed: %s",
			 line[0] ? line : "cannot run losetup");
		printf("SKIP: two writers on a loop device: %s\n", why);
		unlink(img);
		skip();
	}
	snprintf(dev, sizeof dev, "%s", line);
	printf("# attached %s to %s\n", img, dev);
	struct wodan_backend *be;
	int r = wodan_backend_direct_open(dev, 0, 0, &be);
	if (r == 0) {
		r = wodan_mkfs(be, &(struct wodan_mkfs_params){
				       .block_size_bytes = BS,
				       .key_size_bytes = KS }, NULL);
		wodan_backend_close(be);
	}
	if (r == 0) {
		struct holder h = { .direct = 1 };
		pid_t p = hold(&h, dev, 0);
		char pid[32];
		snprintf(pid, sizeof pid, "pid %d", (int)p);
		/* O_EXCL refuses the second writable open of the device; the
		 * library tells a wodan writer apart: WODAN_E_LOCKED */
		r = wodan_backend_direct_open(dev, 0, 0, &be);
		const char *msg = wodan_last_error()->message;
		printf("# second writer on %s: %d: %s\n", dev, r, msg);
		int ok = r == WODAN_E_LOCKED && strstr(msg, dev) &&
			 strstr(msg, pid);
		if (r == 0) {
			wodan_t *w = NULL;
			r = wodan_open(be, NULL, &w);
			printf("# ... wodan_open: %d: %s\n", r,
			       wodan_last_error()->message);
			ok = r == WODAN_E_LOCKED &&
			     strstr(wodan_last_error()->message, dev);
			wodan_abandon(w);
			wodan_backend_close(be);
		}
		/* a reader opens beside it */
		int rr = wodan_backend_direct_open(dev, WODAN_BACKEND_RDONLY, 0,
						   &be);
		if (rr == 0) {
			wodan_t *w = NULL;
			rr = wodan_open(be, &(struct wodan_open_opts){
						.flags = WODAN_OPEN_READONLY },
					&w);
			wodan_abandon(w);
			wodan_backend_close(be);
		}
		unhold(&h, p);
		/* the first is gone: the second writer opens */
		r = wodan_backend_direct_open(dev, 0, 0, &be);
		if (r == 0) {
			wodan_t *w = NULL;
			r = wodan_open(be, NULL, &w);
			if (r == 0)
				r = wodan_close(w);
			wodan_backend_close(be);
		}
		snprintf(cmd, sizeof cmd, "losetup -d %s", dev);
		int d = system(cmd);
		printf("# detached %s: %s\n", dev, d ? "FAILED" : "ok");
		unlink(img);
		assert_true(ok);
		assert_int_equal(rr, 0);
		assert_int_equal(r, 0);
		return;
	}
	snprintf(cmd, sizeof cmd, "losetup -d %s", dev);
	if (system(cmd))
		printf("# detach of %s failed\n", dev);
	unlink(img);
	assert_int_equal(r, 0);
}
