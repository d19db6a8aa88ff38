/* milepostd.c: main() of the receiver, and nothing else. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milepostd.h"

static __dead void
usage(void)
{
	fprintf(stderr, "usage: milepostd [-dnv] [-c file] [-u user] "
	    "[--verify-on-start]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct config	*cf;
	struct server	*srv;
	const char	*file = NULL, *user = NULL;
	char		 err[MP_ERRLEN];
	int		 ch, check = 0, verbose = 0, verify = 0, rc;
	static const struct option longopts[] = {
		{ "verify-on-start", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};

	log_init("milepostd", 0);
	while ((ch = getopt_long(argc, argv, "c:dnu:vV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'C':
			verify = 1;
			break;
		case 'c':
			file = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'd':
		case 'v':
			verbose++;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("milepostd %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_setverbose(verbose);

	cf = file ? config_load(file, err, sizeof(err)) : config_default();
	if (cf == NULL) {
		fprintf(stderr, "milepostd: %s\n", err);
		return (1);
	}
	if (user == NULL)
		user = cf->user;
	if (tls_check(cf, err, sizeof(err)) == -1) {
		fprintf(stderr, "milepostd: %s\n", err);
		config_free(cf);
		return (1);
	}
	cf->verify_on_start = verify;
	if (file != NULL)
		config_mode_warn(cf);	/* readable by others, with secrets */
	if (check) {
		fprintf(stderr, "milepostd: %s: configuration OK\n", cf->path);
		config_free(cf);
		return (0);
	}
	if (cf->nagent_keys == 0)
		log_warnx("no agent_secret configured: every POST /v1/evidence "
		    "will be refused");
	if ((srv = server_new(cf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "milepostd: %s\n", err);
		config_free(cf);
		return (1);
	}
	/* Bound, ledger open: now become user, before the loop. */
	if (user != NULL && server_drop(srv, user, err, sizeof(err)) == -1) {
		fprintf(stderr, "milepostd: %s\n", err);
		server_free(srv);
		config_free(cf);
		return (1);
	}
	rc = server_run(srv);
	server_free(srv);
	config_free(cf);
	return (rc);
}
