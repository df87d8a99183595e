/*  ingest_turn.h - a turnstile: threads take numbered turns, strictly in number order.

    The reader's loader threads decode blocks in parallel, but the flows they hand to a
    sink (ingest_reader_set_sink) must reach it in file order, one block at a time: block
    n's loader feeds the sink if turn n is current, and passes the turn on; if it is not
    (block n - 1 is not through yet), nobody waits: the reader's thread takes the turn
    when it collects block n, by which time every block before it has passed.  So what
    the sink owns (e.g. the others table) belongs to one thread at a time and moves from
    one to the next through the turnstile, which gives every turn what the turns before
    it wrote (a mutex).
*/
#ifndef INGEST_TURN_H_INCLUDED
#define INGEST_TURN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct _ingest_turn_t ingest_turn_t;

//  A turnstile whose current turn is 0.  NULL if out of memory.
ingest_turn_t *ingest_turn_new (void);

//  Destroy it (no thread may wait on it).  NULL-safe, nulls *self_p.
void ingest_turn_destroy (ingest_turn_t **self_p);

//  Make 0 the current turn again (no thread may wait on it).
void ingest_turn_reset (ingest_turn_t *self);

//  True if turn is the current turn: the caller has it until it passes it.  Only the
//  one party that owns turn may ask (so a true answer cannot go stale).
bool ingest_turn_try (ingest_turn_t *self, uint32_t turn);

//  End turn, which the caller has: turn + 1 becomes current.
void ingest_turn_pass (ingest_turn_t *self, uint32_t turn);

//  Selftest
void ingest_turn_test (bool verbose);

#endif
