#ifndef FAKE_CREDS_H
#define FAKE_CREDS_H

/*
 * A stand-in for the credentials chain (ex_aws_creds.h) in the client's tests: static test
 * credentials whose session token changes after each invalidation, a switch that makes the next
 * get fail, synchronous or asynchronous callbacks, and a scripted IMDS region.
 */

#include <stdbool.h>
#include <event2/event.h>

#include "ex_aws_creds.h"

#define FAKE_AKID        "AKIDEXAMPLE"
#define FAKE_SECRET      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define FAKE_MAX_PENDING 256

struct fake_get {
    ex_aws_creds_fn *fn;
    void *arg;
};

struct ex_aws_creds {
    struct event_base *base;
    struct event *flush; /* delivers pending gets when async */
    bool async;
    int fail_next; /* nonzero: the next get fails with it */
    int fail_more; /* how many gets after that one fail the same way */
    int gets, invalidations, cancels;
    int generation; /* the session token is "token-<generation>" */
    char token[32];
    char region[32];         /* ex_aws_creds_region() */
    const char *imds_region; /* answer of ex_aws_creds_imds_region(), NULL = fail */
    int imds_asks;
    struct fake_get pending[FAKE_MAX_PENDING];
    size_t n_pending;
    ex_aws_region_fn *region_fn;
    void *region_arg;
    struct event *region_ev;
};

struct ex_aws_creds *fake_creds_new(struct event_base *base);
/* Delivers a pending IMDS region answer with AG_EAGAIN, drops pending gets, frees. */
void fake_creds_free(struct ex_aws_creds *c);

#endif /* FAKE_CREDS_H */
