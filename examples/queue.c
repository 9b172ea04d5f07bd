/* SPDX-License-Identifier: MIT */
/* queue.c - results of two processes through a Queue (seed 001).
 *
 *   def job(q):
 *       res = 0
 *       for i in range(10):
 *           res += i + i**2 + i**3
 *       q.put(res)
 *
 *   if __name__ == '__main__':
 *       q = mp.Queue()
 *       p1 = mp.Process(target=job, args=(q,))
 *       p2 = mp.Process(target=job, args=(q,))
 *       p1.start(); p2.start()
 *       p1.join(); p2.join()
 *       res1 = q.get(); res2 = q.get()
 *       print(res1 + res2)
 *
 * Queues carry bytes: the int64 result is sent as its 8 bytes. Joining the
 * producers before reading is safe in mproc (put has copied the message
 * into the queue when it returns; Python's feeder thread could deadlock
 * here with big messages).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int job(const mproc_args *args)
{
    mproc_queue *q = mproc_args_obj(args, 0);
    int64_t res = 0;
    for (int64_t i = 0; i < 10; i++)
        res += i + i * i + i * i * i;
    return mproc_queue_put(q, &res, sizeof res, MPROC_FOREVER) == 0 ? 0 : 1; /* q.put(res) */
}

static int64_t get_int(mproc_queue *q)
{
    void *buf;
    size_t len;
    int64_t v = 0;
    if (mproc_queue_get(q, &buf, &len, 10.0) == 0) { /* q.get(timeout=10) */
        if (len == sizeof v)
            memcpy(&v, buf, sizeof v);
        mproc_free(buf);
    }
    return v;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_queue *q = mproc_queue_new(0, &err); /* mp.Queue() */
    if (!q) {
        fprintf(stderr, "queue: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, q); /* args=(q,) */
    mproc_process *p1 = mproc_process_new(job, args, NULL, &err);
    mproc_process *p2 = mproc_process_new(job, args, NULL, &err);
    mproc_args_free(args);
    mproc_process_start(p1);
    mproc_process_start(p2);
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_join(p2, MPROC_FOREVER);
    int64_t res1 = get_int(q), res2 = get_int(q);
    printf("%" PRId64 "\n", res1 + res2); /* 2 * 2355 */
    mproc_process_free(p1);
    mproc_process_free(p2);
    mproc_queue_free(q);
    return 0;
}
