/* The configuration file's schema: every module that has sections in it
 * registers them here, so `mamori status`, `mamori run` and
 * `mamori monitor check` all accept the same mamori.conf. */
#include "cli/cli.h"
#include "conf/conf.h"
#include "monitor/monitor.h"
#include "policy/policy.h"

int
cli_conf_schema(struct conf_schema *s)
{
	int r;

	if ((r = policy_register(s)) != 0)
		return r;
	return mon_conf_register(s);
}
