/*
 * main.c -- wodanc, the wodan multitool: global options and command
 * dispatch.  Each command lives in cmd_*.c and parses its own options.
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"

/* One command: name, entry point (NULL = not available yet), summary. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "mkfs", cmd_mkfs, "format a device or file as an empty wodan image" },
	{ "info", cmd_info, "show geometry, generation, usage and flags" },
	{ "get", cmd_get, "print the value of a key" },
	{ "put", cmd_put, "store a value under a key (durably)" },
	{ "del", cmd_del, "delete a key (durably)" },
	{ "ls", cmd_ls, "list keys (or a key range) with value sizes" },
	{ "restore", cmd_restore, "load a CBOR dump into an image" },
	{ "dump", cmd_dump, "write the keys of an image as a CBOR dump" },
	{ "check", cmd_check, "verify an image (fsck): every node, every rule" },
	{ "trim", cmd_trim, "discard unused blocks (like fstrim)" },
	{ "bench", cmd_bench, "measure throughput, latency and amplification" },
	{ "fuzz", cmd_fuzz, "fuzzing entry points (image and operation loops)" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* The global --help text on `f`. */
static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: wodanc [--version] [--help] [--plugin FILE.so]... "
		"COMMAND [ARGS]\n"
		"\n"
		"wodanc manages wodan images: copy-on-write B-epsilon trees of\n"
		"fixed-size keys on a block device or a file (Wodan layout v1).\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"DEVICE is [BACKEND:]PATH:\n"
		"  file:PATH      a regular file (through the page cache)\n"
		"  direct:PATH    a block device or file with O_DIRECT (no page\n"
		"                 cache; I/O in units of the logical sector)\n"
		"  ram:SIZE       a throw-away RAM device (e.g. ram:64M)\n"
		"  NAME:PATH      the backend of plugin NAME\n"
		"  PATH           a block device selects direct, anything else\n"
		"                 file\n"
		"(a path that looks like NAME:... is written ./NAME:...).\n"
		"\n"
		"Options:\n"
		"  --plugin FILE.so  load a backend plugin (may repeat)\n"
		"  --version, --help\n"
		"Plugins named in a DEVICE are also looked up as NAME.so or\n"
		"libwodan-NAME.so in the directories of $WODAN_PLUGIN_PATH\n"
		"(colon-separated).\n"
		"\n"
		"Run 'wodanc COMMAND --help' for the options of a command.\n"
		"\n"
		"Examples:\n"
		"  wodanc mkfs img --size 64M --key-size 20\n"
		"  wodanc restore img -i backup.cbor\n"
		"  wodanc dump img -o backup.cbor\n"
		"  wodanc put img --key-text greeting hello\n"
		"  wodanc get img 00112233445566778899aabbccddeeff00112233\n"
		"  wodanc ls img --prefix 0011 --json\n"
		"  wodanc info img\n"
		"  wodanc check img --json\n"
		"  wodanc trim -v img\n"
		"  wodanc mkfs direct:/dev/sdb --block-size 256K\n"
		"  wodanc --plugin ./mydev.so check mydev:/some/where\n"
		"\n"
		"Exit status (the same for every command):\n"
		"   0  done (check: the image is clean)\n"
		"   1  the operation failed (refused, a key not found, out of\n"
		"      space, a malformed dump, a fuzz divergence, ...)\n"
		"   4  problems found: the image is damaged (bad CRC, broken\n"
		"      tree rule, truncated image)\n"
		"   8  operational error: could not run (no such device, holds no\n"
		"      wodan image, I/O error, device locked, out of memory,\n"
		"      cannot write the output)\n"
		"  16  usage error (bad command line)\n");
}

/* Run a command that is not available yet. */
static int not_yet(const char *name)
{
	fprintf(stderr,
		"wodanc %s: coming in a later release (not available in "
		"wodanc %s)\n", name, WODAN_VERSION_STRING);
	return CLI_EXIT_USAGE;
}

/* Find a command by name, or NULL. */
static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

#define MAX_PLUGIN_OPTS 64

/* Load the --plugin objects once the command is known: 0, or
 * CLI_EXIT_OPERATIONAL for a plugin that cannot be loaded. */
static int load_plugins(const char *const *so, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (wodan_plugin_load(so[i]) == 0)
			continue;
		/* the message names the plugin: "plugin PATH: ..." */
		fprintf(stderr, "wodanc: --plugin: %s\n",
			wodan_last_error()->message);
		return CLI_EXIT_OPERATIONAL;
	}
	return 0;
}

/* Entry point: global options, then COMMAND [ARGS]. */
int main(int argc, char **argv)
{
	const struct command *c;
	const char *plugins[MAX_PLUGIN_OPTS];
	int n_plugins = 0, rc;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("wodanc %s (libwodan %s; Wodan layout v1, dump "
			       "format v1)\n", WODAN_VERSION_STRING,
			       wodan_version());
			return CLI_EXIT_OK;
		}
		if (!strcmp(argv[i], "--plugin") ||
		    !strncmp(argv[i], "--plugin=", 9)) {
			const char *so = argv[i] + 8;
			if (!*so && ++i >= argc) {
				fprintf(stderr, "wodanc: option '--plugin' "
					"requires an argument\n");
				return CLI_EXIT_USAGE;
			}
			so = *so ? so + 1 : argv[i];
			if (n_plugins == MAX_PLUGIN_OPTS) {
				fprintf(stderr, "wodanc: too many --plugin "
					"options (at most %d)\n",
					MAX_PLUGIN_OPTS);
				return CLI_EXIT_USAGE;
			}
			plugins[n_plugins++] = so;
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		fprintf(stderr, "wodanc: unrecognized option '%s'\n"
			"Try 'wodanc --help' for more information.\n", argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (i >= argc) {
		fprintf(stderr, "wodanc: missing COMMAND\n");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* "wodanc help [COMMAND]" is the same as "--help" */
	if (!strcmp(argv[i], "help")) {
		char help[] = "--help";
		char *sub[3];
		if (i + 1 >= argc) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		c = find_command(argv[i + 1]);
		if (!c) {
			fprintf(stderr, "wodanc: unknown command '%s'\n",
				argv[i + 1]);
			return CLI_EXIT_USAGE;
		}
		if (!c->fn)
			return not_yet(c->name);
		sub[0] = argv[i + 1];
		sub[1] = help;
		sub[2] = NULL;
		return c->fn(2, sub);
	}
	c = find_command(argv[i]);
	if (!c) {
		fprintf(stderr, "wodanc: unknown command '%s'\n"
			"Try 'wodanc --help' for the list of commands.\n",
			argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (!c->fn)
		return not_yet(c->name);
	rc = load_plugins(plugins, n_plugins);
	if (rc)
		return rc;
	return c->fn(argc - i, argv + i);
}
