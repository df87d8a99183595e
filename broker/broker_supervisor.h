/*  broker_supervisor.h - child processes that `portevo up` starts, watches and stops.

    Each child is a program with its arguments and a log file that gets its stdout and
    stderr.  Children run in their own process group (a Ctrl-C in the terminal reaches
    only `portevo up`, which then stops them in order) and get SIGTERM if `portevo up`
    dies (PR_SET_PDEATHSIG).  A child that exits on its own is logged and restarted
    after a backoff that doubles from min to max, and starts again from min once a run
    lasted BROKER_SUPERVISOR_STABLE_MSECS; a child that exits with status 2 rejected
    its arguments and is not restarted (that would not help).  Stopping sends SIGTERM to
    every child (last added first), waits, and sends SIGKILL to those still running.

    Not thread-safe (fork, waitpid): one supervisor per process, in the main thread.
*/
#ifndef BROKER_SUPERVISOR_H_INCLUDED
#define BROKER_SUPERVISOR_H_INCLUDED

#include <czmq.h>

#define BROKER_SUPERVISOR_BACKOFF_MIN_MSECS 1000   //  First restart delay
#define BROKER_SUPERVISOR_BACKOFF_MAX_MSECS 30000  //  Longest restart delay
#define BROKER_SUPERVISOR_STABLE_MSECS 30000       //  A run this long resets the backoff
#define BROKER_SUPERVISOR_STOP_MSECS 5000          //  SIGTERM to SIGKILL
#define BROKER_SUPERVISOR_USAGE_EXIT 2             //  Exit status meaning "bad arguments"

typedef struct _broker_supervisor_t broker_supervisor_t;

//  Create with no children.
broker_supervisor_t *broker_supervisor_new (void);

//  Destroy, stopping the children still running; NULL-safe, nulls *self_p.
void broker_supervisor_destroy (broker_supervisor_t **self_p);

//  Restart delays (tests use short ones).
void broker_supervisor_set_backoff (broker_supervisor_t *self, int64_t min_msecs,
                                    int64_t max_msecs);

//  Add a child, not started yet: name (for messages), argv (NULL-terminated, argv[0] the
//  program's path; copied), log (a file its stdout and stderr are appended to, or NULL
//  to share ours).  Names are unique.
void broker_supervisor_add (broker_supervisor_t *self, const char *name, const char *const argv[],
                            const char *log);

//  Start every child not running yet.  0 ok; -1 if one could not be started (logged:
//  the log file or the program could not be opened), the others are started anyway.
int broker_supervisor_start (broker_supervisor_t *self);

//  Reap children that exited (logging each), and restart those whose delay passed.
//  Call it often (every 100 msecs or so).  Returns the number of children running.
size_t broker_supervisor_check (broker_supervisor_t *self);

//  Stop every child: SIGTERM (last added first), then SIGKILL after timeout_msecs for
//  those still running.  Children are not restarted afterwards.
void broker_supervisor_stop (broker_supervisor_t *self, int64_t timeout_msecs);

//  The pid of a running child, 0 if it is not running or unknown.
int broker_supervisor_pid (broker_supervisor_t *self, const char *name);

//  How many times a child was restarted.
size_t broker_supervisor_restarts (broker_supervisor_t *self, const char *name);

//  Selftest
void broker_supervisor_test (bool verbose);

#endif
