/*  broker_supervisor.c - child processes started, watched and stopped (see the .h).

    Between fork and exec the child calls only async-signal-safe functions (the parent
    may run ZeroMQ threads).  Whether exec worked is told by a close-on-exec pipe: the
    parent reads nothing if it did, the child's errno if it did not.  Signals go to the
    child's process group (its pid), so that what a child starts goes down with it.
*/
#include "broker/broker_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char *name;          //  For messages
    char **argv;         //  Owned, NULL-terminated; argv[0] is the program
    char *log;           //  File for stdout and stderr, or NULL
    pid_t pid;           //  Running process, 0 if none
    int64_t started;     //  Monotonic msecs of the last start
    int64_t restart_at;  //  Monotonic msecs of the next start, 0 if none is due
    int64_t backoff;     //  Delay before the next restart, msecs
    size_t restarts;     //  Restarts so far
    bool given_up;       //  Not to be started again
} s_child_t;

struct _broker_supervisor_t {
    zlistx_t *children;   //  s_child_t, owned, in the order added
    int64_t backoff_min;  //  First restart delay, msecs
    int64_t backoff_max;  //  Longest restart delay, msecs
    bool stopping;        //  Exits are expected now
};

//  --------------------------------------------------------------------------
static void
s_child_destroy (void **item)
{
    s_child_t *child = (s_child_t *) *item;
    if (!child)
        return;
    for (char **arg = child->argv; *arg; arg++)
        free (*arg);
    free (child->argv);
    zstr_free (&child->log);
    zstr_free (&child->name);
    free (child);
    *item = NULL;
}

//  --------------------------------------------------------------------------
broker_supervisor_t *
broker_supervisor_new (void)
{
    broker_supervisor_t *self = (broker_supervisor_t *) zmalloc (sizeof (broker_supervisor_t));
    self->children = zlistx_new ();
    assert (self->children);
    zlistx_set_destructor (self->children, s_child_destroy);
    self->backoff_min = BROKER_SUPERVISOR_BACKOFF_MIN_MSECS;
    self->backoff_max = BROKER_SUPERVISOR_BACKOFF_MAX_MSECS;
    return self;
}

//  --------------------------------------------------------------------------
void
broker_supervisor_destroy (broker_supervisor_t **self_p)
{
    assert (self_p);
    broker_supervisor_t *self = *self_p;
    if (!self)
        return;
    broker_supervisor_stop (self, BROKER_SUPERVISOR_STOP_MSECS);
    zlistx_destroy (&self->children);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
void
broker_supervisor_set_backoff (broker_supervisor_t *self, int64_t min_msecs, int64_t max_msecs)
{
    assert (self);
    assert (min_msecs > 0 && max_msecs >= min_msecs);
    self->backoff_min = min_msecs;
    self->backoff_max = max_msecs;
}

//  --------------------------------------------------------------------------
static s_child_t *
s_child_find (broker_supervisor_t *self, const char *name)
{
    for (s_child_t *child = (s_child_t *) zlistx_first (self->children); child;
         child = (s_child_t *) zlistx_next (self->children))
        if (streq (child->name, name))
            return child;
    return NULL;
}

//  --------------------------------------------------------------------------
void
broker_supervisor_add (broker_supervisor_t *self, const char *name, const char *const argv[],
                       const char *log)
{
    assert (self);
    assert (name);
    assert (argv && argv[0]);
    assert (!s_child_find (self, name));
    s_child_t *child = (s_child_t *) zmalloc (sizeof (s_child_t));
    child->name = strdup (name);
    size_t count = 0;
    while (argv[count])
        count++;
    child->argv = (char **) zmalloc ((count + 1) * sizeof (char *));
    for (size_t index = 0; index < count; index++)
        child->argv[index] = strdup (argv[index]);
    child->log = log ? strdup (log) : NULL;
    child->restart_at = 1;  //  Due at once
    zlistx_add_end (self->children, child);
}

//  --------------------------------------------------------------------------
//  The child's side of the fork: only async-signal-safe calls, then exec.

static void
s_child_exec (s_child_t *child, pid_t parent, int log_fd, int report_fd)
{
    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    if (getppid () != parent)
        _exit (127);  //  The parent died before prctl
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    int null_fd = open ("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2 (null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
        dup2 (log_fd, STDOUT_FILENO);
        dup2 (log_fd, STDERR_FILENO);
    }
    execv (child->argv[0], child->argv);
    int error = errno;
    ssize_t written = write (report_fd, &error, sizeof error);
    (void) written;
    _exit (127);
}

//  --------------------------------------------------------------------------
//  Start one child.  0 ok, -1 if it could not be started (logged).

static int
s_child_start (s_child_t *child)
{
    int log_fd = -1, report[2] = {-1, -1};
    if (child->log) {
        log_fd = open (child->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            zsys_error ("supervisor: %s: cannot open log %s: %s", child->name, child->log,
                        strerror (errno));
            return -1;
        }
    }
    int rc = pipe2 (report, O_CLOEXEC);
    assert (rc == 0);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0)
        s_child_exec (child, parent, log_fd, report[1]);
    close (report[1]);
    if (log_fd >= 0)
        close (log_fd);
    if (pid < 0) {
        zsys_error ("supervisor: %s: fork failed: %s", child->name, strerror (errno));
        close (report[0]);
        return -1;
    }
    setpgid (pid, pid);  //  Also here, so that it holds before the first kill
    int error = 0;
    ssize_t size;
    while ((size = read (report[0], &error, sizeof error)) < 0 && errno == EINTR)
        ;
    close (report[0]);
    if (size > 0) {
        waitpid (pid, NULL, 0);
        zsys_error ("supervisor: %s: cannot run %s: %s", child->name, child->argv[0],
                    strerror (error));
        return -1;
    }
    child->pid = pid;
    child->started = zclock_mono ();
    child->restart_at = 0;
    return 0;
}

//  --------------------------------------------------------------------------
int
broker_supervisor_start (broker_supervisor_t *self)
{
    assert (self);
    int rc = 0;
    for (s_child_t *child = (s_child_t *) zlistx_first (self->children); child;
         child = (s_child_t *) zlistx_next (self->children)) {
        if (child->pid || child->given_up)
            continue;
        if (s_child_start (child)) {
            child->given_up = true;
            rc = -1;
        }
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  A child exited with status: log it and decide about a restart.

static void
s_child_exited (broker_supervisor_t *self, s_child_t *child, int status, int64_t now)
{
    char how[64];
    if (WIFSIGNALED (status))
        snprintf (how, sizeof how, "was killed by signal %d (%s)", WTERMSIG (status),
                  strsignal (WTERMSIG (status)));
    else
        snprintf (how, sizeof how, "exited with status %d", WEXITSTATUS (status));
    pid_t pid = child->pid;
    child->pid = 0;
    if (self->stopping)
        return;
    const char *log = child->log ? child->log : "stderr";
    if (WIFEXITED (status) && WEXITSTATUS (status) == BROKER_SUPERVISOR_USAGE_EXIT) {
        child->given_up = true;
        zsys_error ("supervisor: %s (pid %d) %s: it rejected its arguments, not restarting "
                    "it (see %s)",
                    child->name, (int) pid, how, log);
        return;
    }
    if (now - child->started >= BROKER_SUPERVISOR_STABLE_MSECS || child->backoff == 0)
        child->backoff = self->backoff_min;
    else
        child->backoff = MIN (child->backoff * 2, self->backoff_max);
    child->restart_at = now + child->backoff;
    zsys_error ("supervisor: %s (pid %d) %s; restarting it in %.1f s (see %s)", child->name,
                (int) pid, how, (double) child->backoff / 1000, log);
}

//  --------------------------------------------------------------------------
size_t
broker_supervisor_check (broker_supervisor_t *self)
{
    assert (self);
    int64_t now = zclock_mono ();
    size_t running = 0;
    for (s_child_t *child = (s_child_t *) zlistx_first (self->children); child;
         child = (s_child_t *) zlistx_next (self->children)) {
        int status;
        if (child->pid && waitpid (child->pid, &status, WNOHANG) == child->pid)
            s_child_exited (self, child, status, now);
        if (!child->pid && !child->given_up && !self->stopping && child->restart_at &&
            now >= child->restart_at) {
            child->restarts++;
            if (s_child_start (child) == 0)
                zsys_info ("supervisor: %s restarted (pid %d)", child->name, (int) child->pid);
            else
                child->given_up = true;
        }
        running += child->pid != 0;
    }
    return running;
}

//  --------------------------------------------------------------------------
//  Signal a child's process group (the child itself if the group is gone).

static void
s_child_signal (s_child_t *child, int signal_number)
{
    if (kill (-child->pid, signal_number))
        kill (child->pid, signal_number);
}

//  --------------------------------------------------------------------------
void
broker_supervisor_stop (broker_supervisor_t *self, int64_t timeout_msecs)
{
    assert (self);
    self->stopping = true;
    for (s_child_t *child = (s_child_t *) zlistx_last (self->children); child;
         child = (s_child_t *) zlistx_prev (self->children))
        if (child->pid)
            s_child_signal (child, SIGTERM);
    int64_t deadline = zclock_mono () + timeout_msecs;
    while (broker_supervisor_check (self) > 0 && zclock_mono () < deadline)
        zclock_sleep (20);
    for (s_child_t *child = (s_child_t *) zlistx_first (self->children); child;
         child = (s_child_t *) zlistx_next (self->children)) {
        if (!child->pid)
            continue;
        zsys_warning ("supervisor: %s (pid %d) ignored SIGTERM for %" PRId64
                      " msecs: sending SIGKILL",
                      child->name, (int) child->pid, timeout_msecs);
        s_child_signal (child, SIGKILL);
        waitpid (child->pid, NULL, 0);
        child->pid = 0;
    }
}

//  --------------------------------------------------------------------------
int
broker_supervisor_pid (broker_supervisor_t *self, const char *name)
{
    assert (self);
    assert (name);
    s_child_t *child = s_child_find (self, name);
    return child ? (int) child->pid : 0;
}

//  --------------------------------------------------------------------------
size_t
broker_supervisor_restarts (broker_supervisor_t *self, const char *name)
{
    assert (self);
    assert (name);
    s_child_t *child = s_child_find (self, name);
    return child ? child->restarts : 0;
}

//  --------------------------------------------------------------------------
void
broker_supervisor_test (bool verbose)
{
    printf (" * broker_supervisor: ");
    char dir_template[] = "/tmp/broker_supervisor_test.XXXXXX";
    char *dir = mkdtemp (dir_template);
    assert (dir);
    char *log = zsys_sprintf ("%s/echo.log", dir);
    zsys_set_logstream (verbose ? stderr : NULL);  //  The exits below are logged on purpose

    broker_supervisor_t *supervisor = broker_supervisor_new ();
    broker_supervisor_set_backoff (supervisor, 50, 100);
    const char *sleeper[] = {"/bin/sleep", "30", NULL};
    const char *quitter[] = {"/bin/sh", "-c", "exit 1", NULL};
    const char *usage[] = {"/bin/sh", "-c", "exit 2", NULL};
    const char *echo[] = {"/bin/sh", "-c", "echo out; echo err >&2; exec sleep 30", NULL};
    const char *stubborn[] = {"/bin/sh", "-c", "trap '' TERM; sleep 30; sleep 30", NULL};
    broker_supervisor_add (supervisor, "sleeper", sleeper, NULL);
    broker_supervisor_add (supervisor, "quitter", quitter, NULL);
    broker_supervisor_add (supervisor, "usage", usage, NULL);
    broker_supervisor_add (supervisor, "echo", echo, log);
    broker_supervisor_add (supervisor, "stubborn", stubborn, NULL);
    assert (broker_supervisor_start (supervisor) == 0);
    assert (broker_supervisor_pid (supervisor, "sleeper") > 0);
    assert (broker_supervisor_pid (supervisor, "nobody") == 0);

    //  The quitter is restarted with backoff (50, 100, 100...), usage is given up
    int64_t deadline = zclock_mono () + 5000;
    while (broker_supervisor_restarts (supervisor, "quitter") < 3 && zclock_mono () < deadline) {
        broker_supervisor_check (supervisor);
        zclock_sleep (10);
    }
    assert (broker_supervisor_restarts (supervisor, "quitter") >= 3);
    assert (broker_supervisor_restarts (supervisor, "usage") == 0);
    assert (broker_supervisor_pid (supervisor, "usage") == 0);
    assert (broker_supervisor_check (supervisor) >= 3);

    //  The log file gets stdout and stderr
    deadline = zclock_mono () + 5000;
    char *text = NULL;
    while (zclock_mono () < deadline) {
        zstr_free (&text);
        zfile_t *file = zfile_new (NULL, log);
        zchunk_t *chunk = file && zfile_input (file) == 0 ? zfile_read (file, 100, 0) : NULL;
        text = chunk ? zchunk_strdup (chunk) : NULL;
        zchunk_destroy (&chunk);
        zfile_destroy (&file);
        if (text && streq (text, "out\nerr\n"))
            break;
        zclock_sleep (10);
    }
    assert (text && streq (text, "out\nerr\n"));
    zstr_free (&text);

    //  Stop: the stubborn one (and its sleep) gets SIGKILL after the timeout
    int64_t start = zclock_mono ();
    broker_supervisor_stop (supervisor, 300);
    assert (zclock_mono () - start < 3000);
    assert (broker_supervisor_pid (supervisor, "stubborn") == 0);
    assert (broker_supervisor_pid (supervisor, "sleeper") == 0);
    assert (broker_supervisor_check (supervisor) == 0);
    broker_supervisor_destroy (&supervisor);

    //  A program that cannot run is refused at start
    supervisor = broker_supervisor_new ();
    const char *missing[] = {"/nonexistent/portevo-x", NULL};
    broker_supervisor_add (supervisor, "missing", missing, NULL);
    assert (broker_supervisor_start (supervisor) == -1);
    assert (broker_supervisor_check (supervisor) == 0);
    broker_supervisor_destroy (&supervisor);
    broker_supervisor_destroy (&supervisor);
    zsys_set_logstream (stderr);

    zsys_file_delete (log);
    zstr_free (&log);
    zsys_dir_delete ("%s", dir);
    printf ("OK\n");
}
