/*
 * cmd-services.c: "milepost services", the service catalog with each
 * service's current deployment state per environment, read from GET
 * /v1/services (MILEPOST_URL, MILEPOST_TOKEN as the bearer token).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_services_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_services_entry = {
	.name = "services",
	.usage = "[--tenant T] [--json]",
	.summary = "list the services and their state per environment",
	.help =
	    "options:\n"
	    "  --tenant T  only the services of tenant T\n"
	    "  --json      print the reply of GET /v1/services as JSON\n"
	    "\nWithout --json, one line per service and environment:\n"
	    "  SERVICE  ENVIRONMENT  STATE  SINCE  [upstream impaired: …]\n"
	    "(a service with no deployment yet prints \"-\" as its "
	    "environment).\n"
	    "\nexit status: 0 printed; 2 a usage error or a refusal; 3 the "
	    "receiver did not\n"
	    "answer, or answered 5xx.\n",
	.exec = cmd_services_exec,
};

static const char *
cmd_services_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return ("");
	return (json_object_get_string(v));
}

static void
cmd_services_table(json_object *o)
{
	json_object	*arr, *s, *envs, *imp, *u;
	size_t		 i, j, n, printed;

	if (!json_object_object_get_ex(o, "services", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(arr, i);
		printed = 0;
		if (json_object_object_get_ex(s, "environments", &envs)) {
			json_object_object_foreach(envs, env, e) {
				imp = NULL;
				printf("%s\t%s\t%s\t%s", cmd_services_str(s,
				    "service"), env, cmd_services_str(e,
				    "state"), cmd_services_str(e, "since"));
				if (json_object_object_get_ex(e,
				    "upstream_impaired", &imp) &&
				    json_object_is_type(imp, json_type_array) &&
				    json_object_array_length(imp) > 0) {
					printf("\tupstream impaired:");
					for (j = 0; j < json_object_array_length(
					    imp); j++) {
						u = json_object_array_get_idx(imp,
						    j);
						printf(" %s",
						    json_object_get_string(u));
					}
				} else if (json_object_get_boolean(imp))
					printf("\tupstream impaired");
				printf("\n");
				printed++;
			}
		}
		if (printed == 0)
			printf("%s\t-\n", cmd_services_str(s, "service"));
	}
}

static int
cmd_services_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tenant",	required_argument,	NULL,	't' },
		{ "json",	no_argument,		NULL,	'j' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	const char	*tenant = NULL;
	json_object	*o = NULL;
	struct buf	 path;
	char		*e;
	int		 ch, rc, json = 0;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tenant = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (argc != optind)
		return (cmd_usage_error(ce, "unexpected argument %s",
		    argv[optind]));
	buf_init(&path);
	buf_adds(&path, "/v1/services");
	if (tenant != NULL && (e = client_escape(tenant)) != NULL) {
		buf_printf(&path, "?tenant=%s", e);
		free(e);
	}
	if ((rc = cmd_claim_fetch("services", buf_cstr(&path), &o)) ==
	    CMD_EXIT_OK) {
		if (json)
			cmd_claim_print(o);
		else
			cmd_services_table(o);
	}
	json_object_put(o);
	buf_free(&path);
	return (rc);
}
