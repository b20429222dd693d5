/*
 * regress_main.c -- plain driver for a libFuzzer harness, so `make check`
 * replays the seed corpus and every saved finding through the same code
 * path, with gcc, in the plain and in the sanitizer build (no libFuzzer).
 *
 *   fuzz/regress_NAME [FILE|DIR]...
 *
 * Without arguments it replays $top_srcdir/fuzz/corpus/NAME (must exist
 * and be non-empty) and $top_srcdir/fuzz/regress/NAME (may be missing).
 * Each input is named on stdout before it runs, so a crash log names the
 * culprit.  FUZZ_NAME is set per program by fuzz/local.mk.
 *
 * Before each input the stack below the caller is painted with 0xff bytes:
 * a read of an uninitialised stack variable then sees "large garbage", as
 * it did when the fuzzer crashed, instead of whatever zeros happen to be
 * there (see fuzz/image_exercise.c, which also paints before each library
 * entry point).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must be defined (fuzz/local.mk)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long runs;

/* Fill 256 KiB of stack below the caller with 0xff (see above). */
static void __attribute__((noinline)) paint_stack(void)
{
	uint8_t pad[256 * 1024];

	memset(pad, 0xff, sizeof pad);
	__asm__ volatile("" : : "r"(pad) : "memory");
}

/* Run one file.  Returns 0 or -1 (unreadable). */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			if (!buf) {
				fclose(f);
				return -1;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	printf("run %s (%zu bytes)\n", path, len);
	fflush(stdout);
	/* exact-size copy: ASan then sees reads past the input */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	paint_stack();
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	runs++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run a file, or every regular file of a directory (sorted, no dot
 * files).  missing_ok: a missing directory is not an error. */
static int run_path(const char *path, int missing_ok)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (stat(path, &st)) {
		if (missing_ok)
			return 0;
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d) {
		perror(path);
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				abort();
		}
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		names[n] = malloc(l);
		if (!names[n])
			abort();
		snprintf(names[n++], l, "%s/%s", path, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (!stat(names[i], &st) && S_ISREG(st.st_mode) &&
		    run_file(names[i]))
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (run_path(argv[i], 0))
				rc = 1;
	} else {
		const char *top = getenv("top_srcdir");
		char p[4096];
		unsigned long before;

		if (!top)
			top = ".";
		snprintf(p, sizeof p, "%s/fuzz/corpus/%s", top, FUZZ_NAME);
		if (run_path(p, 0))
			rc = 1;
		if (runs == 0) {
			fprintf(stderr, "%s: empty seed corpus\n", p);
			rc = 1;
		}
		before = runs;
		snprintf(p, sizeof p, "%s/fuzz/regress/%s", top, FUZZ_NAME);
		if (run_path(p, 1))
			rc = 1;
		printf("%s: %lu regression inputs\n", FUZZ_NAME, runs - before);
	}
	printf("fuzz regress %s: %lu inputs replayed, %s\n", FUZZ_NAME, runs,
	       rc ? "FAILED" : "ok");
	return rc;
}
