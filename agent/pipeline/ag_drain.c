/* SPDX-License-Identifier: Apache-2.0 */
/* Running the loop until an exporter has nothing left, within a deadline. */
#include "ag_drain.h"

#include <sys/time.h>

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

int ag_drain(struct event_base *base, uint64_t timeout_ms, ag_drain_busy_fn *busy,
             ag_drain_kick_fn *kick, void *arg)
{
    kick(arg);
    if (!busy(arg)) {
        return 0;
    }
    bool expired = false;
    struct event *t = evtimer_new(base, on_deadline, &expired);
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000 * 1000)};
    if (t == NULL || evtimer_add(t, &tv) != 0) {
        if (t != NULL) {
            event_free(t);
        }
        return AG_ETIMEDOUT;
    }
    int rc = 0;
    while (busy(arg) && !expired) {
        kick(arg);
        if (event_base_loop(base, EVLOOP_ONCE) != 0) {
            rc = AG_EIO;
            break;
        }
    }
    event_free(t);
    return rc != 0 ? rc : busy(arg) ? AG_ETIMEDOUT : 0;
}
