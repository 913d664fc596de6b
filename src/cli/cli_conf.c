/* The configuration file's schema: every module that has sections in it. */
#include "cli/cli.h"
#include "monitor/monitor.h"

int
cli_conf_schema(struct conf_schema *s)
{
	return mon_conf_register(s);
}
