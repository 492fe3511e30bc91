/* cmd_drill.c - placeholder until issue 3 lands: the commands exist but say they are not built. */
#include <stdio.h>
#include "cli.h"
int cmd_list(int argc, char **argv)
{
	fprintf(stderr, "leakmon list: not available in this build yet\n");
	return LM_EXIT_FAILURE;
}
int cmd_show(int argc, char **argv)
{
	fprintf(stderr, "leakmon show: not available in this build yet\n");
	return LM_EXIT_FAILURE;
}
int cmd_roots(int argc, char **argv)
{
	fprintf(stderr, "leakmon roots: not available in this build yet\n");
	return LM_EXIT_FAILURE;
}
int cmd_leaks(int argc, char **argv)
{
	fprintf(stderr, "leakmon leaks: not available in this build yet\n");
	return LM_EXIT_FAILURE;
}
