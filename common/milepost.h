/*
 * milepost.h: the umbrella header of libmilepost, for the programs
 * (agent/, receiver/) and the tests.  The library itself is layers in
 * folders, each with its own header and rule; a file of the library
 * includes its own folder's header, never this one:
 *
 *	util/util.h		leaves: log, memory, buffers, time, HMAC,
 *				Standard Webhooks, YAML, JSON, merge patch,
 *				the token bucket, payload compression
 *	record/record.h		evidence types, evidence, claim revisions
 *	store/store.h		the ledger facade (backends private to store/)
 *	derive/derive.h		claims engine, computed claims, deployments,
 *				milestones, behind one entry point
 *	outbox/outbox.h		the change feed into each sink's outbox rows
 *	access/access.h		roles, tenants, redaction, DORA metrics
 *	config/config.h		the configuration file (includes all above)
 *	plugins/source.h	the contract of an inbound source
 *	sinks/sink.h		the contract of an outbound sink
 */
#ifndef MILEPOST_H
#define MILEPOST_H

#include "util/util.h"
#include "record/record.h"
#include "store/store.h"
#include "derive/derive.h"
#include "outbox/outbox.h"
#include "access/access.h"
#include "config/config.h"
#include "plugins/source.h"
#include "sinks/sink.h"

#endif /* MILEPOST_H */
