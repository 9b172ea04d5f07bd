/* condrec.c - CPython's multiprocessing Condition (synchronize.py) over
 * three semaphores: sleepers announce themselves on `sleeping`, notify
 * hands out `wait` tokens and waits on `woken` until each one has woken.
 * Unlike CPython, notify does not wait forever for a woken sleeper that
 * died: it gives up after NOTIFY_ACK_TIMEOUT. */
#include "spin.h"
#include "sync.h"

#define NOTIFY_ACK_TIMEOUT 10.0

int condrec_init(condrec *c)
{
    int rc = be_sem_init(&c->sleeping, 0);
    if (!rc && (rc = be_sem_init(&c->woken, 0)))
        be_sem_destroy(&c->sleeping);
    if (!rc && (rc = be_sem_init(&c->wait, 0))) {
        be_sem_destroy(&c->sleeping);
        be_sem_destroy(&c->woken);
    }
    return rc;
}

void condrec_destroy(condrec *c)
{
    be_sem_destroy(&c->sleeping);
    be_sem_destroy(&c->woken);
    be_sem_destroy(&c->wait);
}

/* Condition waits spin briefly first (spin.h); one spinner for the
 * process: the records live in shared memory. */
static core_spinner cond_spin;

int condrec_wait(condrec *c, lockrec *l, double timeout)
{
    if (!lockrec_is_mine(l))
        return MPROC_ESTATE; /* must acquire() condition before using wait() */
    /* Counted as a sleeper before the lock goes, as in CPython: a notify
     * that comes in between must see us, or its wake-up is lost. */
    be_sem_post(&c->sleeping);
    uint32_t levels = lockrec_release_all(l);
    int rc = core_wait_sem(&cond_spin, &c->wait, timeout);
    be_sem_post(&c->woken);
    int rc2 = lockrec_restore(l, levels);
    return rc ? rc : (rc2 == MPROC_EOWNERDEAD ? rc2 : 0);
}

int condrec_notify(condrec *c, lockrec *l, int n)
{
    if (!lockrec_is_mine(l))
        return MPROC_ESTATE; /* lock is not owned */
    /* Account for sleepers that timed out since the last notify. */
    while (be_sem_wait(&c->woken, 0) == 0)
        be_sem_wait(&c->sleeping, 0);
    int sleepers = 0;
    while ((n < 0 || sleepers < n) && be_sem_wait(&c->sleeping, 0) == 0) {
        be_sem_post(&c->wait);
        sleepers++;
    }
    if (sleepers) {
        double deadline = core_deadline(NOTIFY_ACK_TIMEOUT);
        for (int i = 0; i < sleepers; i++)
            if (be_sem_wait(&c->woken, core_remaining(deadline)) != 0)
                break;
        /* Tokens nobody took (their sleeper timed out meanwhile). */
        while (be_sem_wait(&c->wait, 0) == 0)
            ;
    }
    return 0;
}

double core_deadline(double timeout) { return timeout < 0 ? -1.0 : be_monotonic() + timeout; }

double core_remaining(double deadline)
{
    if (deadline < 0)
        return -1.0;
    double r = deadline - be_monotonic();
    return r > 0 ? r : 0.0;
}

int lockcond_init(lockrec *l, condrec *c)
{
    int rc = lockrec_init(l, 0);
    if (!rc && (rc = condrec_init(c)))
        lockrec_destroy(l);
    return rc;
}

void lockcond_destroy(lockrec *l, condrec *c)
{
    condrec_destroy(c);
    lockrec_destroy(l);
}
