/* cmd_fuzz.c -- wodanc fuzz (placeholder until implemented). */
#include <stdio.h>
#include "cli.h"

int cmd_fuzz(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "wodanc fuzz: not implemented yet\n");
	return 16;
}
