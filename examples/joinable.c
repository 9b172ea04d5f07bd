/* SPDX-License-Identifier: MIT */
/* joinable.c - JoinableQueue: consumers mark tasks done, the producer joins
 * (seed 002: "JoinableQueue(maxsize=0) ... adds join and task_done").
 *
 *   def consumer(tasks, results):
 *       while True:
 *           x = tasks.get()
 *           if x is None:               # the stop signal
 *               tasks.task_done()
 *               break
 *           results.put(x * x)
 *           tasks.task_done()
 *
 *   tasks = mp.JoinableQueue(); results = mp.Queue()
 *   workers = [mp.Process(target=consumer, args=(tasks, results)) for _ in range(2)]
 *   for w in workers: w.start()
 *   for x in range(10): tasks.put(x)
 *   for w in workers: tasks.put(None)
 *   tasks.join()                        # every task_done() has been called
 *   print(sum(results.get() for _ in range(10)))
 *
 * Messages are bytes: a task is an int64, the stop signal an empty message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

#define WORKERS 2
#define TASKS 10

static int consumer(const mproc_args *args)
{
    mproc_queue *tasks = mproc_args_obj(args, 0);
    mproc_queue *results = mproc_args_obj(args, 1);
    for (;;) {
        void *buf;
        size_t len;
        if (mproc_queue_get(tasks, &buf, &len, MPROC_FOREVER) != 0)
            return 1;
        int64_t x = 0;
        if (len == sizeof x)
            memcpy(&x, buf, sizeof x);
        mproc_free(buf);
        if (len == 0) {                       /* None: stop */
            mproc_queue_task_done(tasks);
            return 0;
        }
        x *= x;
        mproc_queue_put(results, &x, sizeof x, MPROC_FOREVER);
        mproc_queue_task_done(tasks);         /* tasks.task_done() */
    }
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_queue *tasks = mproc_joinablequeue_new(0, &err);  /* JoinableQueue() */
    mproc_queue *results = mproc_queue_new(0, &err);        /* Queue() */
    if (!tasks || !results) {
        fprintf(stderr, "joinable: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, tasks);
    mproc_args_add_obj(args, results);
    mproc_process *w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = mproc_process_new(consumer, args, NULL, &err);
        if (!w[i] || (err = mproc_process_start(w[i])) != 0) {
            fprintf(stderr, "joinable: %s\n", mproc_strerror(err));
            return 1;
        }
    }
    mproc_args_free(args);
    for (int64_t x = 0; x < TASKS; x++)
        mproc_queue_put(tasks, &x, sizeof x, MPROC_FOREVER);  /* tasks.put(x) */
    for (int i = 0; i < WORKERS; i++)
        mproc_queue_put(tasks, NULL, 0, MPROC_FOREVER);       /* tasks.put(None) */
    err = mproc_queue_join(tasks, 60.0);                      /* tasks.join() */
    printf("tasks.join(): %s\n", err == 0 ? "every task done" : mproc_strerror(err));

    int64_t sum = 0;
    for (int i = 0; i < TASKS; i++) {
        void *buf;
        size_t len;
        int64_t y = 0;
        if (mproc_queue_get(results, &buf, &len, 10.0) != 0)
            break;
        if (len == sizeof y)
            memcpy(&y, buf, sizeof y);
        mproc_free(buf);
        sum += y;
    }
    printf("sum of squares: %" PRId64 "\n", sum);
    for (int i = 0; i < WORKERS; i++) {
        mproc_process_join(w[i], MPROC_FOREVER);
        mproc_process_free(w[i]);
    }
    mproc_queue_free(tasks);
    mproc_queue_free(results);
    return 0;
}
