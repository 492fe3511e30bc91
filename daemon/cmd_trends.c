/* cmd_trends.c - placeholder until issue 4 lands: the commands exist but say they are not built. */
#include <stdio.h>
#include "cli.h"
int cmd_trends(int argc, char **argv)
{
	fprintf(stderr, "leakmon trends: not available in this build yet\n");
	return LM_EXIT_FAILURE;
}
