/* cmd_bench.c -- wodanc bench (placeholder until implemented). */
#include <stdio.h>
#include "cli.h"

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "wodanc bench: not implemented yet\n");
	return 16;
}
