/* SPDX-License-Identifier: MIT */
/* event.c - the traffic light of seed 002: cars wait on an Event that a
 * daemonic light process sets.
 *
 *   def car(e, car_id):
 *       print(f'car {car_id} is coming ')
 *       if not e.is_set():
 *           print(f'car {car_id} is waiting')
 *           e.wait()
 *       if e.is_set():
 *           print(f'car {car_id} pass the cross road')
 *
 *   def traffic_light(e):
 *       while True:
 *           ...
 *           print('<<<<<<<<<<<<<<< red to green >>>>>>>>>>>>>>>>>>>')
 *           e.set()
 *
 *   event = multiprocessing.Event()
 *   event.clear()                             # red
 *   cars = [multiprocessing.Process(target=car, args=(event, car_id)) for car_id in range(3)]
 *   lights = multiprocessing.Process(target=traffic_light, args=(event,))
 *   lights.daemon = True                      # ends with the program
 *   lights.start()
 *   for each in cars: each.start()
 *   for each in cars: each.join()
 *
 * The seed's light switches on a timer, so its output depends on timing.
 * Here the light turns green once every car is waiting (each car signals
 * a Semaphore after queueing), which makes the output checkable. A Lock
 * keeps each car's two lines together.
 */
#include <stdio.h>

#include <mproc.h>

#define CARS 3

static int car(const mproc_args *args)
{
    mproc_event *e = mproc_args_obj(args, 0);
    int id = (int)mproc_args_int(args, 1);
    mproc_lock *print_lock = mproc_args_obj(args, 2);
    mproc_sem *queued = mproc_args_obj(args, 3);
    mproc_lock_acquire(print_lock, MPROC_FOREVER);
    printf("car %d is coming\n", id);
    int waiting = !mproc_event_is_set(e);
    if (waiting)
        printf("car %d is waiting\n", id);
    fflush(stdout);
    mproc_lock_release(print_lock);
    mproc_sem_release(queued);                 /* tell the light */
    if (waiting)
        mproc_event_wait(e, MPROC_FOREVER);    /* e.wait() */
    if (mproc_event_is_set(e) == 1) {
        mproc_lock_acquire(print_lock, MPROC_FOREVER);
        printf("car %d pass the cross road\n", id);
        fflush(stdout);
        mproc_lock_release(print_lock);
    }
    return 0;
}

static int traffic_light(const mproc_args *args)
{
    mproc_event *e = mproc_args_obj(args, 0);
    mproc_sem *queued = mproc_args_obj(args, 1);
    for (int i = 0; i < CARS; i++)
        mproc_sem_acquire(queued, MPROC_FOREVER);
    printf("<<<<<<<<<<<<<<< red to green >>>>>>>>>>>>>>>>>>>\n");
    fflush(stdout);
    mproc_event_set(e);                        /* e.set() */
    /* stays green; a daemon, it ends with the main process */
    mproc_event *never = mproc_event_new(NULL);
    mproc_event_wait(never, MPROC_FOREVER);
    return 0;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_event *event = mproc_event_new(&err);     /* Event(), clear: red */
    mproc_lock *print_lock = mproc_lock_new(&err);
    mproc_sem *queued = mproc_sem_new(0, 0, &err);
    if (!event || !print_lock || !queued) {
        fprintf(stderr, "event: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_args *la = mproc_args_new();
    mproc_args_add_obj(la, event);
    mproc_args_add_obj(la, queued);
    mproc_process_opts daemon = MPROC_PROCESS_OPTS_INIT;
    daemon.daemon = 1;                               /* lights.daemon = True */
    mproc_process *lights = mproc_process_new(traffic_light, la, &daemon, &err);
    mproc_args_free(la);
    if (!lights || mproc_process_start(lights) != 0)
        return 1;

    mproc_process *cars[CARS];
    for (int id = 0; id < CARS; id++) {
        mproc_args *a = mproc_args_new();
        mproc_args_add_obj(a, event);
        mproc_args_add_int(a, id);
        mproc_args_add_obj(a, print_lock);
        mproc_args_add_obj(a, queued);
        cars[id] = mproc_process_new(car, a, NULL, &err);
        mproc_args_free(a);
        if (!cars[id] || mproc_process_start(cars[id]) != 0)
            return 1;
    }
    for (int id = 0; id < CARS; id++) {
        mproc_process_join(cars[id], MPROC_FOREVER);
        mproc_process_free(cars[id]);
    }
    printf("all cars passed; the daemonic light ends with main\n");
    mproc_process_free(lights);  /* detached; terminated at exit as a daemon */
    mproc_event_free(event);
    mproc_lock_free(print_lock);
    mproc_sem_free(queued);
    return 0;
}
