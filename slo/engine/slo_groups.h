#ifndef SLO_GROUPS_H
#define SLO_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * The coarse layer of a rolling RatioTimeslices window too long for one bucket per period
 * (specs/slo.md §10.2): a ring of groups of k consecutive periods (k <= SLO_GROUPS_MAX_K), each
 * holding what RatioTimeslices needs of its periods once they can no longer change: the sum of
 * their floored ratios (floor(good * 10^18 / total), at most k * 10^18 < 2^64), the periods
 * counted and how many of those ratios did not terminate. 10 bytes per group, so 30 days of
 * 1-minute periods in 5-minute groups take 86,410 bytes.
 *
 * Periods are put in time order (slo_eval.c folds each period as it leaves the fine ring of
 * periods); the group of a period put after another group was filled starts from zero. The ring
 * holds the newest |cap| groups: the group of the last put and the cap - 1 before it.
 */

#define SLO_GROUPS_MAX_K 16u

struct slo_groups;

/*
 * Creates a ring of groups of |group_ms| (a multiple of the period, at most SLO_GROUPS_MAX_K
 * periods: the caller's rule) holding |span_ms| / |group_ms| + 1 groups.
 * Returns 0 and a new object in |*out| (freed with slo_groups_free()), or AG_EINVAL (a group
 * of 0, a span not a multiple of it) or AG_ENOMEM.
 */
AG_NODISCARD int slo_groups_new(uint64_t group_ms, uint64_t span_ms, struct slo_groups **out);

/* Frees |g|; NULL is a no-op. */
void slo_groups_free(struct slo_groups *g);

/* The bytes |g| holds (object and slots): what the engine accounts. */
size_t slo_groups_bytes(const struct slo_groups *g);

/* The bytes slo_groups_new() would hold for these arguments (0 for invalid ones). */
size_t slo_groups_bytes_for(uint64_t group_ms, uint64_t span_ms);

/*
 * Adds |n| counted periods whose floored ratios sum to |sum|, |inexact| of them not
 * terminating, to the group holding |t_ms| (a period's start, not before the group of the last
 * put: the caller's order). A group not seen before starts from zero. The caller keeps each
 * group within k periods, so the sums cannot overflow.
 */
void slo_groups_put(struct slo_groups *g, int64_t t_ms, uint64_t sum, uint32_t n, uint32_t inexact);

/*
 * The group starting at |start_ms| (a multiple of the group width) if the ring still holds it:
 * it is the last put's group or one of the cap - 1 before it, and a put reached it (a group
 * skipped by the puts reads as empty). Returns false otherwise.
 */
bool slo_groups_get(const struct slo_groups *g, int64_t start_ms, uint64_t *sum, uint32_t *n,
                    uint32_t *inexact);

/* The start of the last put's group, or -1 before the first put. */
int64_t slo_groups_last(const struct slo_groups *g);

/* The group width (ms). */
uint64_t slo_groups_width(const struct slo_groups *g);

/* ---- checkpoints (internal to slo/engine: slo_eval_state.c) --------------------------------- */

struct slo_wr;
struct slo_rd;

/* Appends the ring: width, cap, last, then every slot (sum, then n and inexact in one u64). */
void slo_groups_save(const struct slo_groups *g, struct slo_wr *w);

/*
 * Reads what slo_groups_save() wrote for a ring of the same width and cap into |g|, checking
 * every slot (n <= |max_n|, inexact <= n, sum <= n * 10^18) and that |last| is a group start.
 * Returns 0 or AG_EPROTO (|g| may be partly overwritten: load into a fresh ring).
 */
AG_NODISCARD int slo_groups_load(struct slo_groups *g, struct slo_rd *r, uint32_t max_n);

#endif /* SLO_GROUPS_H */
