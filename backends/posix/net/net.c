/* SPDX-License-Identifier: MIT */
/* net.c - listeners and client connections for tcp and unix addresses,
 * with APR sockets: name resolution, bind, listen, accept and connect
 * with timeouts. A connected socket leaves APR as a plain descriptor (a
 * close-on-exec duplicate, in blocking mode; the APR socket and its pool
 * go), so that it is a stream like any other and can be handed to
 * children. */
#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_portable.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "posix.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct be_listener {
    apr_pool_t *pool; /* owns the listening socket */
    apr_socket_t *sock;
    int fd;
    char unix_path[SUN_PATH_MAX]; /* "" unless a unix socket */
    long creator;                 /* only it removes the socket file */
    struct be_listener *next;     /* open_listeners */
};

static int apr_fail(apr_status_t rv)
{
    if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EINPROGRESS(rv))
        return MPROC_ETIMEDOUT;
    if (rv == APR_ENOMEM)
        return MPROC_ENOMEM;
    mproc__core_set_os_error((int)APR_TO_OS_ERROR(rv)); /* errno, or an APR resolver code */
    return MPROC_ESYS;
}

/* An absolute socket path that fits a sockaddr_un (APR wants one). */
static int unix_path(const char *name, char *out)
{
    if (!*name)
        return MPROC_EINVAL;
    int n;
    if (name[0] == '/') {
        n = snprintf(out, SUN_PATH_MAX, "%s", name);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return mproc__px_sys_error(errno);
        n = snprintf(out, SUN_PATH_MAX, "%s/%s", cwd, name);
    }
    return n > 0 && (size_t)n < SUN_PATH_MAX ? 0 : MPROC_EINVAL;
}

/* The socket addresses to try for addr. Host names resolve to IPv4 first,
 * as Python's AF_INET listener and client do; IPv6 when that is all. */
static int resolve(const be_addr *a, apr_pool_t *pool, apr_sockaddr_t **sa, char *path)
{
    apr_status_t rv;
    if (a->family == BE_ADDR_TCP) {
        if (a->port > 65535)
            return MPROC_EINVAL;
        const char *host = a->name[0] ? a->name : NULL; /* "" = every interface */
        rv = apr_sockaddr_info_get(sa, host, APR_INET, (apr_port_t)a->port, 0, pool);
        if (rv != APR_SUCCESS)
            rv = apr_sockaddr_info_get(sa, host, APR_UNSPEC, (apr_port_t)a->port, 0, pool);
        return rv == APR_SUCCESS ? 0 : apr_fail(rv);
    }
    if (a->family == BE_ADDR_UNIX) {
        int rc = unix_path(a->name, path);
        if (rc)
            return rc;
        rv = apr_sockaddr_info_get(sa, path, APR_UNIX, 0, 0, pool);
        return rv == APR_SUCCESS ? 0 : apr_fail(rv);
    }
    return MPROC_EINVAL; /* named pipes are Windows only (Python: ValueError) */
}

static int protocol_of(const apr_sockaddr_t *sa) { return sa->family == APR_UNIX ? 0 : APR_PROTO_TCP; }

/* A blocking, close-on-exec duplicate of an APR socket's descriptor. */
static int take_socket(apr_socket_t *s, be_stream **out)
{
    apr_os_sock_t fd;
    if (apr_os_sock_get(&fd, s) != APR_SUCCESS)
        return MPROC_EINVAL;
    apr_socket_opt_set(s, APR_TCP_NODELAY, 1); /* fails harmlessly on unix sockets */
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0)
        return mproc__px_sys_error(errno);
    int fl = fcntl(d, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        fcntl(d, F_SETFL, fl & ~O_NONBLOCK);
    int rc = mproc__px_stream_wrap(d, out);
    if (rc)
        close(d);
    return rc;
}

static int pool_new(apr_pool_t **pool) { return mproc__px_apr_pool(pool); }

/* Open listeners, so that the socket files of those a program never closed
 * go at its end (mproc__be_shutdown), as Python's Finalize removes them. */
static be_listener *open_listeners;
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;

static void open_add(be_listener *l)
{
    pthread_mutex_lock(&open_mu);
    l->next = open_listeners;
    open_listeners = l;
    pthread_mutex_unlock(&open_mu);
}

static void open_del(be_listener *l)
{
    pthread_mutex_lock(&open_mu);
    for (be_listener **pp = &open_listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    pthread_mutex_unlock(&open_mu);
}

static void fill_bound(be_listener *l, const be_addr *addr, be_addr *bound)
{
    memset(bound, 0, sizeof *bound);
    bound->family = addr->family;
    if (addr->family == BE_ADDR_UNIX) {
        snprintf(bound->name, sizeof bound->name, "%s", l->unix_path);
        return;
    }
    apr_sockaddr_t *local;
    if (apr_socket_addr_get(&local, APR_LOCAL, l->sock) == APR_SUCCESS) {
        apr_sockaddr_ip_getbuf(bound->name, sizeof bound->name, local);
        bound->port = local->port;
    }
}

/* At close, or at exit for a listener never closed. Only the process that
 * bound the socket removes its file. */
static void remove_socket_file(be_listener *l)
{
    if (l->unix_path[0] && l->creator == mproc__be_getpid()) {
        unlink(l->unix_path);
        mproc__px_track(PX_TRK_FILE, l->unix_path, 0);
        l->unix_path[0] = '\0';
    }
}

void mproc__px_net_unlink_all(void)
{
    pthread_mutex_lock(&open_mu);
    for (be_listener *l = open_listeners; l; l = l->next)
        remove_socket_file(l);
    pthread_mutex_unlock(&open_mu);
}

void mproc__px_net_release_all(void)
{
    pthread_mutex_lock(&open_mu);
    for (be_listener *l = open_listeners; l; l = l->next) {
        apr_pool_destroy(l->pool); /* a later close only frees l */
        l->pool = NULL;
    }
    open_listeners = NULL;
    pthread_mutex_unlock(&open_mu);
}

static void apr_use_listener_close(be_listener *l);

static int apr_use_listener_open(const be_addr *addr, int backlog, be_listener **out, be_addr *bound)
{
    be_listener *l = calloc(1, sizeof *l);
    if (!l)
        return MPROC_ENOMEM;
    int rc = pool_new(&l->pool);
    if (rc) {
        free(l);
        return rc;
    }
    apr_sockaddr_t *sa = NULL;
    char path[SUN_PATH_MAX] = "";
    apr_status_t rv = APR_SUCCESS;
    if ((rc = resolve(addr, l->pool, &sa, path)) == 0)
        rv = apr_socket_create(&l->sock, sa->family, SOCK_STREAM, protocol_of(sa), l->pool);
    if (rc == 0 && rv == APR_SUCCESS && sa->family != APR_UNIX)
        rv = apr_socket_opt_set(l->sock, APR_SO_REUSEADDR, 1);
    if (rc == 0 && rv == APR_SUCCESS && (rv = apr_socket_bind(l->sock, sa)) == APR_SUCCESS &&
        sa->family == APR_UNIX) {
        strcpy(l->unix_path, path);
        l->creator = mproc__be_getpid();
        mproc__px_track(PX_TRK_FILE, path, 1); /* the tracker removes it if we are killed */
    }
    if (rc == 0 && rv == APR_SUCCESS)
        rv = apr_socket_listen(l->sock, backlog);
    /* Non-blocking: accept polls first, and a client that went away
     * between poll and accept must not block us. */
    if (rc == 0 && rv == APR_SUCCESS)
        rv = apr_socket_timeout_set(l->sock, 0);
    if (rc == 0 && rv == APR_SUCCESS)
        rv = apr_os_sock_get(&l->fd, l->sock);
    if (rc == 0 && rv != APR_SUCCESS)
        rc = apr_fail(rv);
    if (rc) {
        apr_use_listener_close(l);
        return rc;
    }
    fill_bound(l, addr, bound);
    open_add(l);
    *out = l;
    return 0;
}

/* One accept of a connection that poll announced (one use of APR's pools).
 * 1: taken or failed (*rc); 0: gone before we took it, poll again. */
static int accept_one(be_listener *l, be_stream **out, int *rc)
{
    if ((*rc = mproc__px_apr_enter()) != 0)
        return 1;
    apr_pool_t *pool;
    if ((*rc = pool_new(&pool)) != 0) {
        mproc__px_apr_leave();
        return 1;
    }
    apr_socket_t *c;
    apr_status_t rv = apr_socket_accept(&c, l->sock, pool);
    if (rv == APR_SUCCESS)
        *rc = take_socket(c, out);
    apr_pool_destroy(pool); /* closes APR's descriptor; ours is a duplicate */
    mproc__px_apr_leave();
    /* Taken by another thread, or the client gave up already. */
    if (APR_STATUS_IS_EAGAIN(rv) || APR_STATUS_IS_EINTR(rv) || APR_STATUS_IS_ECONNABORTED(rv))
        return 0;
    if (rv != APR_SUCCESS)
        *rc = apr_fail(rv);
    return 1;
}

/* Waits outside APR, so that a thread blocked here does not hold up APR's
 * teardown at exit. */
int mproc__be_listener_accept(be_listener *l, double timeout, be_stream **out)
{
    double deadline = mproc__core_deadline(timeout);
    int rc;
    for (;;) {
        int r = mproc__px_poll_in(l->fd, mproc__core_remaining(deadline));
        if (r <= 0)
            return r < 0 ? r : MPROC_ETIMEDOUT;
        if (accept_one(l, out, &rc))
            return rc;
    }
}

static void apr_use_listener_close(be_listener *l)
{
    if (!l)
        return;
    open_del(l);
    remove_socket_file(l);
    apr_pool_destroy(l->pool); /* closes the socket */
    free(l);
}

/* One attempt on one address. */
static apr_status_t connect_one(apr_sockaddr_t *sa, double deadline, apr_pool_t *pool, be_stream **out,
                                int *rc)
{
    apr_socket_t *s;
    apr_status_t rv = apr_socket_create(&s, sa->family, SOCK_STREAM, protocol_of(sa), pool);
    if (rv != APR_SUCCESS)
        return rv;
    double rem = mproc__core_remaining(deadline);
    rv = apr_socket_timeout_set(s, (apr_interval_time_t)mproc__core_timeout_units(rem, 1000000, INT64_MAX));
    if (rv == APR_SUCCESS)
        rv = apr_socket_connect(s, sa);
    if (rv == APR_SUCCESS)
        rv = apr_socket_timeout_set(s, -1);
    if (rv == APR_SUCCESS)
        *rc = take_socket(s, out);
    apr_socket_close(s);
    return rv;
}

static int apr_use_connect(const be_addr *addr, double timeout, be_stream **out)
{
    double deadline = mproc__core_deadline(timeout);
    apr_pool_t *pool;
    int rc = pool_new(&pool);
    if (rc)
        return rc;
    apr_sockaddr_t *sa = NULL;
    char path[SUN_PATH_MAX];
    if ((rc = resolve(addr, pool, &sa, path)) != 0) {
        apr_pool_destroy(pool);
        return rc;
    }
    apr_status_t rv = APR_EGENERAL;
    for (apr_sockaddr_t *a = sa; a; a = a->next) {
        /* A unix listener with a full backlog refuses non-blocking
         * connects with EAGAIN: try again until the deadline. */
        while ((rv = connect_one(a, deadline, pool, out, &rc)) != APR_SUCCESS && APR_STATUS_IS_EAGAIN(rv) &&
               mproc__core_remaining(deadline) != 0)
            mproc__be_sleep(0.001);
        if (rv == APR_SUCCESS || APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv))
            break;
    }
    apr_pool_destroy(pool);
    if (rv == APR_SUCCESS)
        return rc;
    return APR_STATUS_IS_EAGAIN(rv) ? MPROC_ETIMEDOUT : apr_fail(rv);
}

/* Each call is one use of APR's pools (aprlife.c). */

int mproc__be_listener_open(const be_addr *addr, int backlog, be_listener **out, be_addr *bound)
{
    int rc = mproc__px_apr_enter();
    if (rc == 0) {
        rc = apr_use_listener_open(addr, backlog, out, bound);
        mproc__px_apr_leave();
    }
    return rc;
}

void mproc__be_listener_close(be_listener *l)
{
    if (mproc__px_apr_enter() == 0) {
        apr_use_listener_close(l);
        mproc__px_apr_leave();
    } else {
        free(l); /* APR's teardown closed it already */
    }
}

int mproc__be_connect(const be_addr *addr, double timeout, be_stream **out)
{
    int rc = mproc__px_apr_enter();
    if (rc == 0) {
        rc = apr_use_connect(addr, timeout, out);
        mproc__px_apr_leave();
    }
    return rc;
}
