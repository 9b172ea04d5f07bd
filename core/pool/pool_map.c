/* SPDX-License-Identifier: MIT */
/* pool_map.c - map, starmap and apply, synchronous and asynchronous. */
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"
#include "shmem/shmem.h"
#include "base/object.h"
#include "pool/pool.h"

/* Checks common to every submission. */
static int pool_usable(const mproc_pool *p, const void *fn)
{
    if (!p || !fn)
        return MPROC_EINVAL;
    if (p->creator_pid != mproc__be_getpid())
        return MPROC_ESTATE;
    return 0;
}

/* Frees an unsent task and its ref on the async (lock held). The task
 * first: it may live inside the async. */
static void task_drop(pool_task *t)
{
    mproc_async *a = t->async;
    mproc__pool_task_free(t);
    mproc__pool_async_release(a);
}

/* Queues every task, or none (lock not held; tasks hold async refs). */
static int submit_all(mproc_pool *p, pool_task **tasks, size_t n)
{
    mproc__core_pool_lock();
    int rc = p->state != POOL_RUNNING ? MPROC_ESTATE : 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = mproc__pool_submit(p, tasks[i]);
    if (rc) /* mproc__pool_submit refuses the first one or none */
        for (size_t i = 0; i < n; i++)
            task_drop(tasks[i]);
    mproc__core_pool_unlock();
    return rc;
}

static mproc_async *give_up(mproc_async *a, pool_task **tasks, size_t n, int rc, int *err)
{
    mproc__core_pool_lock();
    for (size_t i = 0; i < n; i++)
        if (tasks[i])
            task_drop(tasks[i]);
    if (a)
        mproc__pool_async_release(a);
    mproc__core_pool_unlock();
    free(tasks);
    if (err)
        *err = rc;
    return NULL;
}

/* Queues the n tasks made for a (rc: how making them went) and hands a
 * out, or undoes everything. */
static mproc_async *submit_or_give_up(mproc_pool *p, mproc_async *a, pool_task **tasks, size_t n, int rc, int *err)
{
    if (rc)
        return give_up(a, tasks, n, rc, err);
    if ((rc = submit_all(p, tasks, n)) != 0) /* it freed the tasks */
        return give_up(a, tasks, 0, rc, err);
    free(tasks);
    if (err)
        *err = 0;
    return a;
}

/* An async with nothing to do: ready at once, callbacks run here. */
static mproc_async *empty_async(int kind, const mproc_async_opts *opts, int *err)
{
    int rc = 0;
    mproc_async *a = mproc__pool_async_new(kind, 1, opts, &rc);
    if (!a) {
        if (err)
            *err = rc;
        return NULL;
    }
    mproc__core_pool_lock();
    a->refs++;
    a->ntasks = 1;
    mproc__core_pool_unlock();
    mproc__pool_async_task_done(a, 0, 0, 0, 0, NULL, 0);
    if (err)
        *err = 0;
    return a;
}

static size_t auto_chunksize(size_t n, int workers)
{
    size_t per = 4 * (size_t)workers;
    size_t c = (n + per - 1) / per;
    return c ? c : 1;
}

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

mproc_async *mproc_pool_map_async(mproc_pool *p, mproc_map_fn fn, const void *in, size_t n, size_t in_size,
                                  void *out, size_t out_size, size_t chunksize,
                                  const mproc_async_opts *opts, int *err)
{
    int rc = pool_usable(p, (const void *)fn);
    if (!rc && (!in_size || !out_size || (n && (!in || !out))))
        rc = MPROC_EINVAL;
    if (!rc && (n > SIZE_MAX / 2 / in_size || n > SIZE_MAX / 2 / out_size))
        rc = MPROC_ENOMEM;
    if (rc) {
        if (err)
            *err = rc;
        return NULL;
    }
    if (n == 0) {
        mproc__core_pool_lock();
        rc = p->state != POOL_RUNNING ? MPROC_ESTATE : 0;
        mproc__core_pool_unlock();
        if (rc) {
            if (err)
                *err = rc;
            return NULL;
        }
        return empty_async(A_MAP, opts, err);
    }
    if (!chunksize)
        chunksize = auto_chunksize(n, p->nworkers);
    if (chunksize > n)
        chunksize = n; /* one chunk; (n + chunksize - 1) would wrap near SIZE_MAX */
    size_t nchunks = n / chunksize + (n % chunksize != 0);
    size_t in_total = n * in_size, out_off = ALIGN64(in_total);
    pool_task **tasks = calloc(nchunks, sizeof *tasks);
    mproc_async *a = tasks ? mproc__pool_async_new(A_MAP, nchunks, opts, &rc) : NULL;
    if (!a)
        return give_up(NULL, tasks, 0, tasks ? rc : MPROC_ENOMEM, err);
    /* The data path: buffers in the caller's own mproc_shm segments are
     * used in place (workers attach them by name); other memory is copied
     * once into an anonymous segment of the pool's, worked on there, and
     * the output copied back once. */
    char seg[PW_SEG_MAX] = {0}, seg_out[PW_SEG_MAX] = {0}; /* sent whole: no stray bytes */
    size_t in_base, out_base;
    if (mproc__core_shm_locate(in, in_total, seg, &in_base) != 0 || mproc__core_shm_locate(out, n * out_size, seg_out, &out_base) != 0) {
        mproc__core_pool_lock();
        a->seg = mproc__pool_seg_take(out_off + n * out_size, &rc);
        mproc__core_pool_unlock();
        if (!a->seg)
            return give_up(a, tasks, 0, rc, err);
        memcpy(mproc__be_shm_addr(a->seg->map), in, in_total);
        a->out = out;
        a->out_total = n * out_size;
        a->out_off = out_off;
        memset(seg, 0, sizeof seg); /* "": the pool segment, handed over, not named */
        memset(seg_out, 0, sizeof seg_out);
        in_base = 0;
        out_base = out_off;
    }
    mproc__core_pool_lock();
    for (size_t c = 0; c < nchunks && !rc; c++) {
        pool_task *t = tasks[c] = mproc__pool_task_new(p, PT_CHUNK_SHM, (be_fnptr)fn, a, c, &rc);
        if (!t)
            break;
        size_t start = c * chunksize, count = n - start < chunksize ? n - start : chunksize;
        t->w.start = start;
        t->w.count = count;
        t->w.in_size = in_size;
        t->w.out_size = out_size;
        t->w.in_off = in_base + start * in_size;
        t->w.out_off = out_base + start * out_size;
        memcpy(t->w.seg, seg, PW_SEG_MAX);
        memcpy(t->w.seg_out, seg_out, PW_SEG_MAX);
        t->w.seg_id = a->seg ? a->seg->id : 0; /* its slot: when it is sent */
        t->one_at_a_time = 1;
    }
    mproc__core_pool_unlock();
    return submit_or_give_up(p, a, tasks, nchunks, rc, err);
}

/* Waits for a synchronous call's async and records its failure. */
static int finish_sync(mproc_async *a, void **out, size_t *len)
{
    int rc = mproc_async_get(a, -1, out, len);
    if (rc == MPROC_ETASK || rc == MPROC_EWORKERLOST) {
        mproc__core_pool_lock();
        mproc__pool_set_failure(rc, a->fail_index, a->fail_code);
        mproc__core_pool_unlock();
    }
    return rc;
}

int mproc_pool_map(mproc_pool *p, mproc_map_fn fn, const void *in, size_t n, size_t in_size, void *out,
                   size_t out_size, size_t chunksize)
{
    int rc;
    mproc_async *a = mproc_pool_map_async(p, fn, in, n, in_size, out, out_size, chunksize, NULL, &rc);
    if (!a)
        return rc;
    rc = finish_sync(a, NULL, NULL);
    mproc_async_free(a); /* after MPROC_EINTR: its chunks are dropped, out is left alone */
    return rc;
}

/* Objects living in this process's shared memory or descriptors cannot
 * reach a worker that is already running (Python: "should only be shared
 * between processes through inheritance"): they go in initargs. */
static int args_sendable(const mproc_args *a)
{
    for (size_t i = 0; i < mproc_args_count(a); i++) {
        if (mproc_args_type(a, i) != MPROC_ARG_OBJ)
            continue;
        core_kind k = core_obj_kind(mproc_args_obj(a, i));
        if (k >= K_PROCESS && k <= K_QUEUE)
            return MPROC_EINVAL;
    }
    return 0;
}

/* apply tasks for each args (starmap) or one (apply). */
static mproc_async *submit_applies(mproc_pool *p, int kind, mproc_apply_fn fn, const mproc_args *const *args,
                                   size_t n, const mproc_async_opts *opts, int *err)
{
    int rc = pool_usable(p, (const void *)fn);
    if (!rc && n && !args)
        rc = MPROC_EINVAL;
    if (rc) {
        if (err)
            *err = rc;
        return NULL;
    }
    if (n == 0)
        return empty_async(kind, opts, err);
    pool_task **tasks = calloc(n, sizeof *tasks);
    mproc_async *a = tasks ? mproc__pool_async_new(kind, n, opts, &rc) : NULL;
    if (!a)
        return give_up(NULL, tasks, 0, tasks ? rc : MPROC_ENOMEM, err);
    for (size_t i = 0; i < n && !rc; i++) {
        void *buf = NULL;
        size_t len = 0;
        if ((rc = args_sendable(args[i])) || (rc = mproc_args_encode(args[i], &buf, &len)))
            break;
        mproc__core_pool_lock();
        pool_task *t = tasks[i] = mproc__pool_task_new(p, PT_APPLY, (be_fnptr)fn, a, i, &rc);
        mproc__core_pool_unlock();
        if (!t) {
            free(buf);
            break;
        }
        if (len <= sizeof t->inl) { /* small args: no allocation crosses threads */
            memcpy(t->inl, buf, len);
            free(buf);
            buf = t->inl;
        }
        t->data = buf;
        t->w.datalen = len;
        t->w.start = i;
    }
    return submit_or_give_up(p, a, tasks, n, rc, err);
}

mproc_async *mproc_pool_apply_async(mproc_pool *p, mproc_apply_fn fn, const mproc_args *args,
                                    const mproc_async_opts *opts, int *err)
{
    return submit_applies(p, A_APPLY, fn, &args, 1, opts, err);
}

mproc_async *mproc_pool_starmap_async(mproc_pool *p, mproc_apply_fn fn, const mproc_args *const *args, size_t n,
                                      const mproc_async_opts *opts, int *err)
{
    return submit_applies(p, A_STARMAP, fn, args, n, opts, err);
}

int mproc_pool_apply(mproc_pool *p, mproc_apply_fn fn, const mproc_args *args, void **out, size_t *len)
{
    int rc;
    mproc_async *a = mproc_pool_apply_async(p, fn, args, NULL, &rc);
    if (!a)
        return rc;
    rc = finish_sync(a, out, len);
    mproc_async_free(a);
    return rc;
}

int mproc_pool_starmap(mproc_pool *p, mproc_apply_fn fn, const mproc_args *const *args, size_t n, void **outs,
                       size_t *lens)
{
    if (n && (!outs || !lens))
        return MPROC_EINVAL;
    int rc;
    mproc_async *a = mproc_pool_starmap_async(p, fn, args, n, NULL, &rc);
    if (!a)
        return rc;
    rc = finish_sync(a, NULL, NULL);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = mproc_async_item(a, i, &outs[i], &lens[i])) != 0)
            while (i--)
                mproc_free(outs[i]);
    }
    mproc_async_free(a);
    return rc;
}
