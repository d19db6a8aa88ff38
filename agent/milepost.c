/*
 * milepost.c: main() of the agent and command-line client.  It reads the
 * global flags and hands the command line to cmd_exec(); nothing else, so
 * that everything the commands do can be linked into tests.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL,	'h' },
		{ "verbose",	no_argument,	NULL,	'v' },
		{ "version",	no_argument,	NULL,	'V' },
		{ NULL,		0,		NULL,	0 }
	};
	int	ch, verbose = 0, rc;

	log_init("milepost", 0);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+hvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cmd_usage(stdout);
			return (CMD_EXIT_OK);
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("milepost %s\n", PACKAGE_VERSION);
			return (CMD_EXIT_OK);
		default:
			if (optopt != 0)
				log_warnx("unknown option: -%c", optopt);
			else
				log_warnx("unknown option: %s",
				    argv[optind - 1]);
			cmd_usage(stderr);
			return (CMD_EXIT_USAGE);
		}
	}
	log_setverbose(verbose);
	if (optind >= argc) {
		cmd_usage(stderr);
		return (CMD_EXIT_USAGE);
	}
	rc = cmd_exec(argc - optind, argv + optind);
	client_cleanup();
	if (fflush(stdout) == EOF && rc == CMD_EXIT_OK)
		rc = CMD_EXIT_FAIL;
	return (rc);
}
