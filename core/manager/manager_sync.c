/* SPDX-License-Identifier: MIT */
/* manager_sync.c - the server's Lock, RLock, Semaphore, Condition, Event,
 * Barrier and Queue. Waiters queue in FIFO order on their object; whoever
 * changes an object "kicks" it, granting what can now be granted.
 *
 * A lock's owner is a client (the token its connections share) and a
 * thread id, as the local lock's owner is a thread: only the owner
 * releases. When a client's last connection goes while it holds a lock,
 * the lock is freed and its next acquirer gets MPROC_EOWNERDEAD. */
#include <stdlib.h>
#include <string.h>

#include "manager/manager_srv.h"

static void enqueue(sobj *o, waiter *w)
{
    w->obj = o;
    w->next = NULL;
    if (o->tail)
        o->tail->next = w;
    else
        o->head = w;
    o->tail = w;
}

static waiter *park(mgr_server *S, sobj *o, sconn *c, int op, double timeout)
{
    waiter *w = mproc__srv_wait(o, c, op, timeout);
    if (!w)
        mproc__srv_status(S, c, MPROC_ENOMEM);
    return w;
}

/* ------------------------------------------------------------ locks */

static int owns(const sobj *l, const sconn *c, uint64_t tid)
{
    return l->u.lock.held && l->u.lock.tid == tid && memcmp(l->u.lock.token, c->token, MGR_TOKEN_LEN) == 0;
}

static int grant(sobj *l, const sconn *c, uint64_t tid, int64_t count)
{
    l->u.lock.held = 1;
    memcpy(l->u.lock.token, c->token, MGR_TOKEN_LEN);
    l->u.lock.tid = tid;
    l->u.lock.count = count;
    int st = l->u.lock.owner_dead ? MPROC_EOWNERDEAD : 0;
    l->u.lock.owner_dead = 0;
    return st;
}

static void lock_kick(mgr_server *S, sobj *l)
{
    while (!l->u.lock.held && l->head) {
        waiter *w = l->head;
        if (w->conn->gone) { /* dying: do not hand it the lock */
            mproc__srv_drop_waiter(w);
            continue;
        }
        int st = grant(l, w->conn, w->tid, w->n);
        if (w->op == OP_COND_WAIT && st == 0)
            st = w->result;
        mproc__srv_finish(S, w, st);
    }
}

static void lock_acquire(mgr_server *S, sconn *c, sobj *l, double timeout, uint64_t tid)
{
    if (!l->u.lock.held) {
        mproc__srv_status(S, c, grant(l, c, tid, 1));
    } else if (l->type == MT_RLOCK && owns(l, c, tid)) {
        l->u.lock.count++;
        mproc__srv_status(S, c, 0);
    } else if (timeout == 0) {
        mproc__srv_status(S, c, MPROC_ETIMEDOUT);
    } else if (timeout < 0 && owns(l, c, tid)) {
        mproc__srv_status(S, c, MPROC_ESTATE); /* would wait forever, as a local Lock says */
    } else {
        waiter *w = park(S, l, c, OP_ACQUIRE, timeout);
        if (w) {
            w->tid = tid;
            w->n = 1;
        }
    }
}

static void lock_release(mgr_server *S, sconn *c, sobj *l, uint64_t tid)
{
    if (!owns(l, c, tid)) {
        mproc__srv_status(S, c, MPROC_ESTATE);
        return;
    }
    if (--l->u.lock.count == 0)
        l->u.lock.held = 0;
    mproc__srv_status(S, c, 0);
    lock_kick(S, l);
}

void mproc__srv_client_gone(mgr_server *S, const unsigned char token[MGR_TOKEN_LEN])
{
    for (size_t i = 0; i < S->objs.cap; i++) {
        sobj *l = S->objs.keys[i] ? (sobj *)(uintptr_t)S->objs.vals[i] : NULL;
        if (!l)
            continue;
        if ((l->type == MT_LOCK || l->type == MT_RLOCK) && l->u.lock.held &&
            memcmp(l->u.lock.token, token, MGR_TOKEN_LEN) == 0) {
            l->u.lock.held = 0;
            l->u.lock.count = 0;
            l->u.lock.owner_dead = 1;
            lock_kick(S, l);
        }
    }
}

/* ------------------------------------------------------------ condition */

static sobj *cond_lock(mgr_server *S, const sobj *cv)
{
    return mproc__srv_obj(S, cv->u.cond.lock, (1u << MT_LOCK) | (1u << MT_RLOCK));
}

static void cond_wait(mgr_server *S, sconn *c, sobj *cv, double timeout, uint64_t tid)
{
    sobj *l = cond_lock(S, cv);
    if (!owns(l, c, tid)) {
        mproc__srv_status(S, c, MPROC_ESTATE);
        return;
    }
    waiter *w = park(S, cv, c, OP_COND_WAIT, timeout);
    if (!w)
        return;
    w->tid = tid;
    w->n = l->u.lock.count; /* given back in full on wake-up */
    l->u.lock.held = 0;
    l->u.lock.count = 0;
    lock_kick(S, l);
}

/* A condition waiter now waits for the lock, then gets result. */
static void cond_wake(mgr_server *S, waiter *w, int result)
{
    sobj *l = cond_lock(S, w->obj);
    mproc__srv_unlink(w);
    w->phase = 1;
    w->result = result;
    w->deadline = -1;
    enqueue(l, w);
    lock_kick(S, l);
}

static void cond_notify(mgr_server *S, sconn *c, sobj *cv, int64_t n, uint64_t tid)
{
    if (!owns(cond_lock(S, cv), c, tid)) {
        mproc__srv_status(S, c, MPROC_ESTATE);
        return;
    }
    while (cv->head && n-- != 0)
        cond_wake(S, cv->head, 0);
    mproc__srv_status(S, c, 0);
}

/* ------------------------------------------------------------ semaphore */

static void sem_kick(mgr_server *S, sobj *s)
{
    while (s->u.sem.value > 0 && s->head) {
        waiter *w = s->head;
        if (!w->conn->gone)
            s->u.sem.value--;
        mproc__srv_finish(S, w, 0);
    }
}

static void sem_op(mgr_server *S, sconn *c, sobj *s, int op, double timeout)
{
    if (op == OP_SEM_VALUE) {
        mproc__srv_int(S, c, s->u.sem.value);
    } else if (op == OP_RELEASE) {
        if ((s->u.sem.max >= 0 && s->u.sem.value >= s->u.sem.max) || s->u.sem.value >= BE_SEM_VALUE_MAX) {
            mproc__srv_status(S, c, MPROC_ESTATE);
            return;
        }
        s->u.sem.value++;
        mproc__srv_status(S, c, 0);
        sem_kick(S, s);
    } else if (s->u.sem.value > 0) {
        s->u.sem.value--;
        mproc__srv_status(S, c, 0);
    } else if (timeout == 0) {
        mproc__srv_status(S, c, MPROC_ETIMEDOUT);
    } else {
        park(S, s, c, OP_ACQUIRE, timeout);
    }
}

/* ------------------------------------------------------------ event */

static void event_op(mgr_server *S, sconn *c, sobj *e, int op, double timeout)
{
    switch (op) {
    case OP_EV_SET:
        e->u.ev.flag = 1;
        while (e->head)
            mproc__srv_finish(S, e->head, 0);
        break;
    case OP_EV_CLEAR:
        e->u.ev.flag = 0;
        break;
    case OP_EV_IS_SET:
        mproc__srv_int(S, c, e->u.ev.flag);
        return;
    default: /* OP_EV_WAIT */
        if (!e->u.ev.flag && timeout != 0)
            park(S, e, c, op, timeout);
        else
            mproc__srv_status(S, c, e->u.ev.flag ? 0 : MPROC_ETIMEDOUT);
        return;
    }
    mproc__srv_status(S, c, 0);
}

/* ------------------------------------------------------------ barrier */

static void barrier_break(mgr_server *S, sobj *b, int broken)
{
    b->u.bar.broken = broken;
    b->u.bar.count = 0;
    while (b->head)
        mproc__srv_finish(S, b->head, MPROC_EBROKEN);
}

static void barrier_op(mgr_server *S, sconn *c, sobj *b, int op, double timeout)
{
    switch (op) {
    case OP_B_WAIT: {
        if (b->u.bar.broken) {
            mproc__srv_status(S, c, MPROC_EBROKEN);
            return;
        }
        int64_t index = b->u.bar.count++;
        if (b->u.bar.count < b->u.bar.parties) {
            waiter *w = park(S, b, c, op, timeout < 0 ? b->u.bar.timeout : timeout);
            if (w)
                w->n = index;
            else
                b->u.bar.count--;
            return;
        }
        while (b->head) { /* the last one in releases the others */
            waiter *w = b->head;
            mproc__srv_int(S, w->conn, w->n);
            mproc__srv_drop_waiter(w);
        }
        b->u.bar.count = 0;
        b->u.bar.gen++;
        mproc__srv_int(S, c, index);
        return;
    }
    case OP_B_RESET:
        barrier_break(S, b, 0);
        break;
    case OP_B_ABORT:
        barrier_break(S, b, 1);
        break;
    case OP_B_BROKEN:
        mproc__srv_int(S, c, b->u.bar.broken);
        return;
    case OP_B_N_WAITING:
        mproc__srv_int(S, c, b->u.bar.count);
        return;
    default: /* OP_B_PARTIES */
        mproc__srv_int(S, c, b->u.bar.parties);
        return;
    }
    mproc__srv_status(S, c, 0);
}

/* ------------------------------------------------------------ queue */

/* Room in the ring for `more` messages beyond those in it. */
static int q_grow(sobj *q, size_t more)
{
    if (q->u.q.n + more <= q->u.q.cap)
        return 0;
    size_t cap = q->u.q.cap ? q->u.q.cap : 16;
    while (cap < q->u.q.n + more)
        cap *= 2;
    blob *r = malloc(cap * sizeof *r);
    if (!r)
        return MPROC_ENOMEM;
    for (size_t i = 0; i < q->u.q.n; i++)
        r[i] = q->u.q.ring[(q->u.q.head + i) % q->u.q.cap];
    free(q->u.q.ring);
    q->u.q.ring = r;
    q->u.q.head = 0;
    q->u.q.cap = cap;
    return 0;
}

static int q_push(sobj *q, blob b)
{
    if (q_grow(q, 1))
        return MPROC_ENOMEM;
    q->u.q.ring[(q->u.q.head + q->u.q.n++) % q->u.q.cap] = b;
    if (q->u.q.kind == MPROC_QUEUE_JOINABLE)
        q->u.q.unfinished++;
    return 0;
}

static int q_full(const sobj *q) { return q->u.q.maxsize && q->u.q.n >= q->u.q.maxsize; }

/* Room for k more messages (maxsize). */
static int q_room(const sobj *q, size_t k) { return !q->u.q.maxsize || q->u.q.n + k <= q->u.q.maxsize; }

/* A batch of put_many kept whole until it goes in: [u32 k][u32 len]... then
 * the bytes. Waiting putters of a batch hold it as their item. */
static int batch_pack(const msgpack_object *items, uint32_t k, blob *out)
{
    size_t total = 4 + 4 * (size_t)k;
    for (uint32_t i = 0; i < k; i++) {
        if (items[i].type != MSGPACK_OBJECT_BIN)
            return MPROC_EINVAL;
        total += items[i].via.bin.size;
    }
    unsigned char *p = malloc(total);
    if (!p)
        return MPROC_ENOMEM;
    memcpy(p, &k, 4);
    size_t off = 4 + 4 * (size_t)k;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t l = items[i].via.bin.size;
        memcpy(p + 4 + 4 * (size_t)i, &l, 4);
        memcpy(p + off, items[i].via.bin.ptr, l);
        off += l;
    }
    *out = (blob){p, total};
    return 0;
}

static uint32_t batch_count(const blob *b)
{
    uint32_t k;
    memcpy(&k, b->p, 4);
    return k;
}

/* Puts every message of a batch, or none (no memory). */
static int q_push_batch(sobj *q, const blob *b)
{
    const unsigned char *p = b->p;
    uint32_t k = batch_count(b);
    blob *items = calloc(k ? k : 1, sizeof *items);
    int rc = items ? q_grow(q, k) : MPROC_ENOMEM; /* then q_push cannot fail */
    size_t off = 4 + 4 * (size_t)k;
    for (uint32_t i = 0; i < k && rc == 0; i++) {
        uint32_t l;
        memcpy(&l, p + 4 + 4 * (size_t)i, 4);
        if (!(items[i].p = malloc(l ? l : 1)))
            rc = MPROC_ENOMEM;
        else
            memcpy(items[i].p, p + off, l);
        items[i].n = l;
        off += l;
    }
    for (uint32_t i = 0; i < k && items; i++) {
        if (rc == 0)
            q_push(q, items[i]);
        else
            free(items[i].p);
    }
    free(items);
    return rc;
}

static void q_reply_get(mgr_server *S, sconn *c, sobj *q)
{
    blob b = q->u.q.ring[q->u.q.head];
    q->u.q.head = (q->u.q.head + 1) % q->u.q.cap;
    q->u.q.n--;
    msgpack_pack_bin_with_body(mproc__srv_begin(S, 0), b.p, b.n);
    mproc__srv_send(S, c);
    if (c->gone) { /* the getter died: the item goes back to the front, not lost */
        q->u.q.head = (q->u.q.head + q->u.q.cap - 1) % q->u.q.cap;
        q->u.q.ring[q->u.q.head] = b;
        q->u.q.n++;
        return;
    }
    mproc__blob_free(&b);
}

/* get_many: up to max messages of at most max_bytes in all, as an array;
 * [MPROC_EMSGSIZE, its length] when the first is longer. They leave the
 * queue only once the reply went out (a getter that died takes none). */
static void q_reply_get_many(mgr_server *S, sconn *c, sobj *q, size_t max, size_t max_bytes)
{
    size_t k = 0, total = 0;
    while (k < max && k < q->u.q.n) {
        const blob *b = &q->u.q.ring[(q->u.q.head + k) % q->u.q.cap];
        if (b->n > max_bytes - total)
            break;
        total += b->n;
        k++;
    }
    if (k == 0) {
        msgpack_pack_uint64(mproc__srv_begin(S, MPROC_EMSGSIZE), q->u.q.ring[q->u.q.head].n);
        mproc__srv_send(S, c);
        return;
    }
    msgpack_packer *pk = mproc__srv_begin(S, 0);
    msgpack_pack_array(pk, (uint32_t)k);
    for (size_t i = 0; i < k; i++) {
        const blob *b = &q->u.q.ring[(q->u.q.head + i) % q->u.q.cap];
        msgpack_pack_bin_with_body(pk, b->p, b->n);
    }
    mproc__srv_send(S, c);
    if (c->gone)
        return;
    for (size_t i = 0; i < k; i++) {
        mproc__blob_free(&q->u.q.ring[q->u.q.head]);
        q->u.q.head = (q->u.q.head + 1) % q->u.q.cap;
        q->u.q.n--;
    }
}

/* Serves waiting getters, putters and joiners while it can. */
static void q_kick(mgr_server *S, sobj *q)
{
    for (waiter *w = q->head; w;) {
        waiter *next = w->next;
        if (w->op == OP_Q_GET && q->u.q.n > 0) {
            if (!w->conn->gone)
                q_reply_get(S, w->conn, q);
            mproc__srv_drop_waiter(w);
            next = q->head;
        } else if (w->op == OP_Q_PUT && !q_full(q) && q_push(q, w->item) == 0) {
            w->item.p = NULL;
            mproc__srv_finish(S, w, 0);
            next = q->head;
        } else if (w->op == OP_Q_GET_MANY && q->u.q.n > 0) {
            if (!w->conn->gone)
                q_reply_get_many(S, w->conn, q, w->max_items, w->max_bytes);
            mproc__srv_drop_waiter(w);
            next = q->head;
        } else if (w->op == OP_Q_PUT_MANY && q_room(q, batch_count(&w->item))) {
            mproc__srv_finish(S, w, q_push_batch(q, &w->item));
            next = q->head;
        } else if (w->op == OP_Q_JOIN && q->u.q.unfinished == 0) {
            mproc__srv_finish(S, w, 0);
            next = q->head;
        }
        w = next;
    }
}

static void queue_op(mgr_server *S, sconn *c, sobj *q, int op, const msgpack_object *a, uint32_t n)
{
    double timeout = 0;
    int joinable = q->u.q.kind == MPROC_QUEUE_JOINABLE, rc = 0;
    switch (op) {
    case OP_Q_PUT:
        if (n < 2 || a[0].type != MSGPACK_OBJECT_BIN || mproc__srv_arg_timeout(a, n, 1, &timeout)) {
            rc = MPROC_EINVAL;
        } else if (q_full(q) && timeout == 0) {
            rc = MPROC_EFULL;
        } else {
            blob b = {malloc(a[0].via.bin.size ? a[0].via.bin.size : 1), a[0].via.bin.size};
            if (!b.p)
                rc = MPROC_ENOMEM;
            else
                memcpy(b.p, a[0].via.bin.ptr, b.n);
            if (rc == 0 && q_full(q)) {
                waiter *w = park(S, q, c, op, timeout);
                if (w)
                    w->item = b;
                else
                    mproc__blob_free(&b);
                return;
            }
            if (rc == 0 && (rc = q_push(q, b)) != 0)
                mproc__blob_free(&b);
        }
        break;
    case OP_Q_GET:
        if ((rc = mproc__srv_arg_timeout(a, n, 0, &timeout)) != 0)
            break;
        if (q->u.q.n > 0) {
            q_reply_get(S, c, q);
            q_kick(S, q);
            return;
        }
        if (timeout != 0)
            park(S, q, c, op, timeout);
        else
            mproc__srv_status(S, c, MPROC_EEMPTY);
        return;
    case OP_Q_PUT_MANY: { /* [[bin...], timeout]: all or none */
        blob b = {NULL, 0};
        if (n < 2 || a[0].type != MSGPACK_OBJECT_ARRAY || a[0].via.array.size == 0 ||
            mproc__srv_arg_timeout(a, n, 1, &timeout)) {
            rc = MPROC_EINVAL;
        } else if (q->u.q.maxsize && a[0].via.array.size > q->u.q.maxsize) {
            rc = MPROC_EMSGSIZE; /* could never fit */
        } else if (!q_room(q, a[0].via.array.size) && timeout == 0) {
            rc = MPROC_EFULL;
        } else if ((rc = batch_pack(a[0].via.array.ptr, a[0].via.array.size, &b)) == 0) {
            if (!q_room(q, a[0].via.array.size)) {
                waiter *w = park(S, q, c, op, timeout);
                if (w)
                    w->item = b;
                else
                    mproc__blob_free(&b);
                return;
            }
            rc = q_push_batch(q, &b);
            mproc__blob_free(&b);
        }
        break;
    }
    case OP_Q_GET_MANY: { /* [max messages, max bytes, timeout] */
        int64_t max = 0, max_bytes = 0;
        if (mproc__srv_arg_int(a, n, 0, &max) || max < 1 || mproc__srv_arg_int(a, n, 1, &max_bytes) ||
            max_bytes < 0 || (rc = mproc__srv_arg_timeout(a, n, 2, &timeout)) != 0) {
            rc = MPROC_EINVAL;
            break;
        }
        if (q->u.q.n > 0) {
            q_reply_get_many(S, c, q, (size_t)max, (size_t)max_bytes);
            q_kick(S, q);
            return;
        }
        waiter *w = timeout != 0 ? park(S, q, c, op, timeout) : NULL;
        if (w) {
            w->max_items = (size_t)max;
            w->max_bytes = (size_t)max_bytes;
        } else if (timeout == 0) {
            mproc__srv_status(S, c, MPROC_EEMPTY);
        }
        return;
    }
    case OP_Q_QSIZE:
        mproc__srv_int(S, c, (int64_t)q->u.q.n);
        return;
    case OP_Q_EMPTY:
        mproc__srv_int(S, c, q->u.q.n == 0);
        return;
    case OP_Q_FULL:
        mproc__srv_int(S, c, q_full(q));
        return;
    case OP_Q_TASK_DONE:
        rc = !joinable ? MPROC_EINVAL : q->u.q.unfinished == 0 ? MPROC_ESTATE : 0;
        if (rc == 0)
            q->u.q.unfinished--;
        break;
    default: /* OP_Q_JOIN */
        if (!joinable || mproc__srv_arg_timeout(a, n, 0, &timeout)) {
            rc = MPROC_EINVAL;
        } else if (q->u.q.unfinished && timeout != 0) {
            park(S, q, c, op, timeout);
            return;
        } else {
            rc = q->u.q.unfinished ? MPROC_ETIMEDOUT : 0;
        }
    }
    mproc__srv_status(S, c, rc);
    if (rc == 0)
        q_kick(S, q);
}

/* ------------------------------------------------------------ dispatch */

int mproc__srv_create_sync(sobj *o, const msgpack_object *a, uint32_t n, mgr_server *S)
{
    int64_t x = 0, y = 0;
    double t = -1;
    switch (o->type) {
    case MT_LOCK:
    case MT_RLOCK:
    case MT_EVENT:
        return 0;
    case MT_SEM: /* value, bounded */
        if (mproc__srv_arg_int(a, n, 1, &x) || mproc__srv_arg_int(a, n, 2, &y) || x < 0 || x > BE_SEM_VALUE_MAX)
            return MPROC_EINVAL;
        o->u.sem.value = x;
        o->u.sem.max = y ? x : -1;
        return 0;
    case MT_COND: /* lock id */
        if (mproc__srv_arg_int(a, n, 1, &x) || !mproc__srv_obj(S, (uint64_t)x, (1u << MT_LOCK) | (1u << MT_RLOCK)))
            return MPROC_EINVAL;
        o->u.cond.lock = (uint64_t)x;
        mproc__srv_ref(cond_lock(S, o)); /* the lock lives as long as its condition */
        return 0;
    case MT_BARRIER: /* parties, default timeout */
        if (mproc__srv_arg_int(a, n, 1, &x) || x <= 0 || x > INT32_MAX || mproc__srv_arg_timeout(a, n, 2, &t))
            return MPROC_EINVAL;
        o->u.bar.parties = x;
        o->u.bar.timeout = t;
        return 0;
    case MT_QUEUE: /* kind, maxsize */
        if (mproc__srv_arg_int(a, n, 1, &x) || mproc__srv_arg_int(a, n, 2, &y) || x < 0 || x > MPROC_QUEUE_JOINABLE || y < 0 ||
            (x == MPROC_QUEUE_SIMPLE && y))
            return MPROC_EINVAL;
        o->u.q.kind = (int)x;
        o->u.q.maxsize = (size_t)y;
        return 0;
    default:
        return MPROC_EINVAL;
    }
}

void mproc__srv_destroy_sync(mgr_server *S, sobj *o)
{
    if (o->type == MT_COND && !S->closing) { /* at teardown the lock may be gone already */
        sobj *l = cond_lock(S, o);
        if (l)
            mproc__srv_unref(S, l);
    } else if (o->type == MT_QUEUE) {
        for (size_t i = 0; i < o->u.q.n; i++)
            mproc__blob_free(&o->u.q.ring[(o->u.q.head + i) % o->u.q.cap]);
        free(o->u.q.ring);
    }
}

int mproc__srv_handle_sync(mgr_server *S, sconn *c, int op, sobj *o, const msgpack_object *a, uint32_t n)
{
    double timeout = 0;
    int64_t tid = 0, k = 0;
    /* [timeout, tid] for acquire and wait, [tid] for release, [n, tid] for notify */
    int takes_timeout = op == OP_ACQUIRE || op == OP_COND_WAIT || op == OP_EV_WAIT || op == OP_B_WAIT;
    if (takes_timeout && mproc__srv_arg_timeout(a, n, 0, &timeout))
        return MPROC_EINVAL;
    if ((op == OP_ACQUIRE || op == OP_COND_WAIT || op == OP_COND_NOTIFY) && mproc__srv_arg_int(a, n, 1, &tid))
        return MPROC_EINVAL;
    if (op == OP_RELEASE && o->type != MT_SEM && mproc__srv_arg_int(a, n, 0, &tid))
        return MPROC_EINVAL;
    if (o->type == MT_COND && (op == OP_ACQUIRE || op == OP_RELEASE))
        o = cond_lock(S, o);
    switch (o->type) {
    case MT_LOCK:
    case MT_RLOCK:
        if (op == OP_IS_RLOCK)
            mproc__srv_int(S, c, o->type == MT_RLOCK);
        else if (op == OP_ACQUIRE)
            lock_acquire(S, c, o, timeout, (uint64_t)tid);
        else
            lock_release(S, c, o, (uint64_t)tid);
        return 0;
    case MT_COND:
        if (op == OP_COND_WAIT)
            cond_wait(S, c, o, timeout, (uint64_t)tid);
        else if (mproc__srv_arg_int(a, n, 0, &k) == 0)
            cond_notify(S, c, o, k, (uint64_t)tid);
        else
            return MPROC_EINVAL;
        return 0;
    case MT_SEM:
        sem_op(S, c, o, op, timeout);
        return 0;
    case MT_EVENT:
        event_op(S, c, o, op, timeout);
        return 0;
    case MT_BARRIER:
        barrier_op(S, c, o, op, timeout);
        return 0;
    case MT_QUEUE:
        queue_op(S, c, o, op, a, n);
        return 0;
    default:
        return MPROC_EINVAL;
    }
}

void mproc__srv_timeout(mgr_server *S, waiter *w)
{
    switch (w->op) {
    case OP_COND_WAIT:
        cond_wake(S, w, MPROC_ETIMEDOUT);
        break;
    case OP_B_WAIT: { /* a timeout breaks the barrier for everyone (Python) */
        sobj *b = w->obj;
        mproc__srv_finish(S, w, MPROC_EBROKEN);
        barrier_break(S, b, 1);
        break;
    }
    case OP_Q_GET:
    case OP_Q_GET_MANY:
        mproc__srv_finish(S, w, MPROC_EEMPTY);
        break;
    case OP_Q_PUT:
    case OP_Q_PUT_MANY:
        mproc__srv_finish(S, w, MPROC_EFULL);
        break;
    default:
        mproc__srv_finish(S, w, MPROC_ETIMEDOUT);
    }
}
