/* wait.c - mproc_wait: Python's multiprocessing.connection.wait() over
 * connections and process sentinels, any number of them. */
#include <stdlib.h>

#include "conn.h"
#include "object.h"

/* What the backend waits on for object i; conns stay held until undone. */
static int prepare(void *obj, be_wait_item *it)
{
    switch (core_obj_kind(obj)) {
    case K_CONN:
        return core_conn_hold(obj, 1, &it->stream, NULL);
    case K_SENTINEL:
        return core_sentinel_proc(obj, &it->proc);
    default:
        return MPROC_EINVAL;
    }
}

static void undo(void **objects, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (core_obj_kind(objects[i]) == K_CONN)
            core_conn_unhold(objects[i]);
}

int mproc_wait(void **objects, size_t n, double timeout, void **ready)
{
    if ((!objects && n) || (n == 0 && timeout < 0))
        return MPROC_EINVAL;
    core_ensure_init();
    be_wait_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return MPROC_ENOMEM;
    int rc = 0;
    size_t prepared = 0;
    for (; prepared < n && rc == 0; prepared++)
        if ((rc = prepare(objects[prepared], &items[prepared])) != 0)
            break;
    if (rc == 0)
        rc = be_wait(items, n, timeout);
    undo(objects, prepared);
    if (rc >= 0) {
        int k = 0;
        for (size_t i = 0; i < n; i++)
            if (items[i].ready) {
                if (ready)
                    ready[k] = objects[i];
                k++;
            }
        rc = k;
    }
    free(items);
    return rc;
}
