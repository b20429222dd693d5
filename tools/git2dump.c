/*
 * wodan-git2dump -- every object of a git repository as a wodan dump.
 *
 *   wodan-git2dump [REPO] [-o FILE] [--max-value N]
 *
 * Runs `git -C REPO cat-file --batch-all-objects --batch` (fork + execvp, no
 * shell) and writes one record per object (doc/DUMP.md): key = the 20-byte
 * binary SHA-1, value = type byte (1 commit, 2 tree, 3 blob, 4 tag) + raw
 * content.  git lists the objects sorted by id, so the records ascend.
 * Objects whose value (1 + size) exceeds --max-value (default 65535) are
 * counted and skipped.  A summary goes to stderr.  Exit 0 on success, 1 on
 * any failure.  FILE is written through ../wodanc/safeout.h: a new or
 * regular FILE is written as a temporary file in its directory and renamed
 * over FILE only when the dump is complete and synced, so a failure (or
 * SIGINT/SIGTERM) leaves an existing FILE byte-identical and removes only
 * the temporary file; a device or FIFO is written straight through.  On
 * stdout a failed dump is left without a trailer, so it never passes for a
 * complete dump.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wodan.h"
#include "wodan_dump.h"
#include "gitobj.h"
#include "../wodanc/safeout.h"

static const char *prog = "wodan-git2dump";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [REPO] [-o FILE] [--max-value N]\n"
		"Write every object of the git repository REPO (default .) as "
		"a wodan dump:\n"
		"key = 20-byte SHA-1, value = type byte (1 commit, 2 tree, "
		"3 blob, 4 tag) + content.\n"
		"  -o, --output FILE   write the dump to FILE (default: "
		"stdout, not a terminal);\n"
		"                      FILE is replaced only by a complete "
		"dump\n"
		"      --max-value N   skip objects whose value (1 + size) "
		"exceeds N bytes\n"
		"                      (1..%u, default %u)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		prog, GITOBJ_MAX_VALUE, GITOBJ_MAX_VALUE);
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Start `git -C repo cat-file --batch-all-objects --batch` with its stdout
 * on a pipe.  Returns the read end as a FILE (and the pid), or NULL. */
static FILE *start_git(const char *repo, pid_t *pid_out)
{
	char *argv[] = {
		"git", "-C", (char *)repo, "cat-file",
		"--batch-all-objects", "--batch", NULL,
	};
	int pfd[2];
	pid_t pid;
	FILE *fp;

	if (pipe(pfd) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		return NULL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return NULL;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			if (devnull != STDIN_FILENO)
				close(devnull);
		}
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(pfd[0]);
		close(pfd[1]);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: cannot run git: %s\n", prog,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	fp = fdopen(pfd[0], "rb");
	if (!fp) {
		fprintf(stderr, "%s: fdopen: %s\n", prog, strerror(errno));
		close(pfd[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return NULL;
	}
	*pid_out = pid;
	return fp;
}

/* Reap git; returns 0 when it exited with status 0. */
static int wait_git(pid_t pid, int kill_it)
{
	int st;

	if (kill_it)
		kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "%s: waitpid: %s\n", prog,
				strerror(errno));
			return -1;
		}
	}
	if (kill_it)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		fprintf(stderr, "%s: git cat-file failed (exit status %d)\n",
			prog, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		fprintf(stderr, "%s: git cat-file killed by signal %d\n",
			prog, WTERMSIG(st));
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "max-value", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *repo = ".", *outpath = NULL;
	uint32_t max_value = GITOBJ_MAX_VALUE;
	struct wodan_dump_header hdr;
	struct gitobj_dump_out out = { NULL, 0, 0 };
	struct gitobj_batch batch;
	struct safeout so;
	char msg[512];
	struct gitobj_entry e;
	wodan_dump_writer *wr = NULL;
	uint64_t objects = 0, written = 0, skipped = 0, value_bytes = 0;
	uint8_t prev[GITOBJ_KEY_SIZE], *val = NULL;
	int have_prev = 0, warned_order = 0, failed = 1, so_open = 0, rc, c;
	pid_t pid = -1;
	FILE *git = NULL;

	while ((c = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		case 'm':
			if (parse_u32(optarg, 1, GITOBJ_MAX_VALUE,
				      &max_value) < 0) {
				fprintf(stderr,
					"%s: --max-value: want an integer in "
					"1..%u, got \"%s\"\n", prog,
					GITOBJ_MAX_VALUE, optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s (wodan) %s\n", prog, WODAN_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc)
		repo = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog,
			argv[optind]);
		usage(stderr);
		return 1;
	}

	/* the output first: a bad path fails before git runs */
	if (!outpath || strcmp(outpath, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr,
				"%s: refusing to write a binary dump to a "
				"terminal (use -o FILE)\n", prog);
			return 1;
		}
		outpath = NULL;
		out.fp = stdout;
	} else {
		if (safeout_open(&so, outpath, msg, sizeof msg) < 0) {
			fprintf(stderr, "%s: %s\n", prog, msg);
			return 1;
		}
		so_open = 1;
		out.fp = so.f;
	}
	signal(SIGPIPE, SIG_IGN);  /* a closed output is a write error */
	safeout_catch_signals();   /* stop cleanly: FILE stays intact */

	if (gitobj_batch_init(&batch, NULL, max_value - 1) < 0 ||
	    !(val = malloc(max_value))) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}

	memset(&hdr, 0, sizeof hdr);
	hdr.version = 1;
	hdr.key_size_bytes = GITOBJ_KEY_SIZE;
	hdr.tombstones = 1;   /* values are never empty: type byte */
	rc = wodan_dump_writer_new(&hdr, gitobj_write_cb, &out, &wr);
	if (rc < 0) {
		wr = NULL;
		goto werr;
	}

	git = start_git(repo, &pid);
	if (!git)
		goto out;
	batch.in = git;

	while ((rc = gitobj_batch_next(&batch, &e)) == 1) {
		if (safeout_stop_signal) {
			fprintf(stderr, "%s: interrupted by signal %d%s\n",
				prog, (int)safeout_stop_signal, outpath ?
				"; the output file is unchanged" : "");
			fclose(git);
			git = NULL;
			wait_git(pid, 1);
			pid = -1;
			goto out;
		}
		objects++;
		if (have_prev && memcmp(prev, e.id, GITOBJ_KEY_SIZE) >= 0 &&
		    !warned_order) {
			fprintf(stderr,
				"%s: warning: git did not list the objects "
				"in ascending order (object %" PRIu64 ")\n",
				prog, objects - 1);
			warned_order = 1;
		}
		memcpy(prev, e.id, GITOBJ_KEY_SIZE);
		have_prev = 1;
		if (!e.content) {       /* 1 + size > max_value */
			skipped++;
			continue;
		}
		val[0] = (uint8_t)e.type;
		if (e.size)
			memcpy(val + 1, e.content, (size_t)e.size);
		rc = wodan_dump_writer_record(wr, e.id, GITOBJ_KEY_SIZE, val,
					      (size_t)e.size + 1);
		if (rc < 0)
			goto werr;
		written++;
		value_bytes += e.size + 1;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: git cat-file output: %s\n", prog,
			batch.err);
		fclose(git);
		git = NULL;
		wait_git(pid, 1);
		pid = -1;
		goto out;
	}
	fclose(git);
	git = NULL;
	rc = wait_git(pid, 0);
	pid = -1;
	if (rc < 0)
		goto out;       /* no trailer: the dump stays invalid */

	rc = wodan_dump_writer_finish(wr, NULL);
	wr = NULL;
	if (rc < 0)
		goto werr;
	if (outpath) {
		/* fflush, fsync, rename over FILE, fsync the directory */
		so_open = 0;
		if (safeout_commit(&so, msg, sizeof msg) < 0) {
			fprintf(stderr, "%s: %s\n", prog, msg);
			goto out;
		}
	} else if (fflush(out.fp) != 0) {
		out.write_errno = errno;
		rc = WODAN_E_IO_WRITE;
		goto werr;
	}
	failed = 0;
	fprintf(stderr,
		"%s: %" PRIu64 " objects, %" PRIu64 " written, %" PRIu64
		" skipped (too large), %" PRIu64 " value bytes, %" PRIu64
		" dump bytes\n", prog, objects, written, skipped, value_bytes,
		out.bytes);
	goto out;

werr:
	if (out.write_errno)
		fprintf(stderr, "%s: writing %s: %s\n", prog,
			outpath ? outpath : "stdout",
			strerror(out.write_errno));
	else
		gitobj_print_wodan_error(prog, "writing the dump", rc);
out:
	if (git) {
		fclose(git);
		wait_git(pid, 1);
	}
	if (wr)
		wodan_dump_writer_free(wr);
	gitobj_batch_free(&batch);
	free(val);
	if (so_open)
		safeout_abort(&so);   /* removes only our temporary file */
	return failed ? 1 : 0;
}
