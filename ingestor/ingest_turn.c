/*  ingest_turn.c - a turnstile for threads taking numbered turns (see ingest_turn.h).
 */
#include "ingestor/ingest_turn.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

struct _ingest_turn_t {
    pthread_mutex_t mutex;  //  Guards current
    uint32_t current;       //  The turn being taken, or to take next
};

//  --------------------------------------------------------------------------
ingest_turn_t *
ingest_turn_new (void)
{
    ingest_turn_t *self = (ingest_turn_t *) calloc (1, sizeof (ingest_turn_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->mutex, NULL);
    return self;
}

//  --------------------------------------------------------------------------
void
ingest_turn_destroy (ingest_turn_t **self_p)
{
    assert (self_p);
    ingest_turn_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
ingest_turn_reset (ingest_turn_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    self->current = 0;
    pthread_mutex_unlock (&self->mutex);
}

//  --------------------------------------------------------------------------
bool
ingest_turn_try (ingest_turn_t *self, uint32_t turn)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    bool current = self->current == turn;
    pthread_mutex_unlock (&self->mutex);
    return current;
}

//  --------------------------------------------------------------------------
void
ingest_turn_pass (ingest_turn_t *self, uint32_t turn)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    assert (self->current == turn);  //  Passing a turn one does not have is a bug
    self->current = turn + 1;
    pthread_mutex_unlock (&self->mutex);
}

//  --------------------------------------------------------------------------
//  Selftest: three threads own turns 0..TEST_TURNS-1 by number modulo 3 and try each
//  until it is current (yielding meanwhile), each turn appending its number to a log that
//  no lock guards but the turnstile; one turn is left by its thread and taken by the
//  main thread, as the reader takes a failed block's.

#define TEST_TURNS 3000
#define TEST_LEFT 1234

typedef struct {
    ingest_turn_t *turn;  //  Shared turnstile
    uint32_t first;       //  The thread's first turn
    uint32_t *log;        //  Turns in the order they were taken
    uint32_t *logged;     //  Entries used in log
} s_test_thread_t;

static void
s_test_take (s_test_thread_t *thread, uint32_t turn)
{
    while (!ingest_turn_try (thread->turn, turn))
        sched_yield ();
    thread->log[(*thread->logged)++] = turn;
    ingest_turn_pass (thread->turn, turn);
}

static void *
s_test_thread (void *arg)
{
    s_test_thread_t *thread = (s_test_thread_t *) arg;
    for (uint32_t turn = thread->first; turn < TEST_TURNS; turn += 3)
        if (turn != TEST_LEFT)
            s_test_take (thread, turn);
    return NULL;
}

void
ingest_turn_test (bool verbose)
{
    (void) verbose;
    printf (" * ingest_turn: ");
    ingest_turn_t *turn = ingest_turn_new ();
    assert (turn);
    uint32_t *log = (uint32_t *) calloc (TEST_TURNS, sizeof (uint32_t));
    assert (log);
    uint32_t logged = 0;
    pthread_t threads[3];
    s_test_thread_t args[4];
    for (uint32_t index = 0; index < 3; index++) {
        args[index] = (s_test_thread_t){turn, index, log, &logged};
        assert (pthread_create (&threads[index], NULL, s_test_thread, &args[index]) == 0);
    }
    args[3] = (s_test_thread_t){turn, TEST_LEFT, log, &logged};
    s_test_take (&args[3], TEST_LEFT);
    for (uint32_t index = 0; index < 3; index++)
        pthread_join (threads[index], NULL);
    assert (logged == TEST_TURNS);
    for (uint32_t index = 0; index < logged; index++)
        assert (log[index] == index);
    //  Reset: turn 0 again, and only it is current
    ingest_turn_reset (turn);
    assert (ingest_turn_try (turn, 0) && !ingest_turn_try (turn, 1));
    ingest_turn_pass (turn, 0);
    assert (!ingest_turn_try (turn, 0) && ingest_turn_try (turn, 1));
    free (log);
    ingest_turn_destroy (&turn);
    ingest_turn_destroy (&turn);
    printf ("OK\n");
}
