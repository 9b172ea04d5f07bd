/* SPDX-License-Identifier: MIT */
/* shareable_list.c - ShareableList and SharedMemoryManager.
 *
 *   from multiprocessing import Process
 *   from multiprocessing.shared_memory import ShareableList
 *   from multiprocessing.managers import SharedMemoryManager
 *
 *   def change(sl):
 *       sl[0] *= 10
 *       sl[2] = False
 *       sl[4] = "HELLO"               # fits: the slot of "hello" is 8 bytes
 *
 *   def square(sl, i):
 *       sl[i] = sl[i] * sl[i]
 *
 *   if __name__ == "__main__":
 *       sl = ShareableList([1, 2.5, True, None, "hello", b"bytes"])
 *       print(sl.format)              # qdxxxxxxx?xxxxxx?x8s8s
 *       p = Process(target=change, args=(sl,)); p.start(); p.join()
 *       print(list(sl))               # [10, 2.5, False, None, 'HELLO', b'bytes']
 *       print(sl.count(2.5), sl.index(None))   # 1 3
 *       try:
 *           sl[4] = "a longer string"
 *       except ValueError:
 *           print("too long for its slot")
 *       sl.shm.close(); sl.shm.unlink()
 *
 *       with SharedMemoryManager() as smm:     # the server owns the segments
 *           sq = smm.ShareableList(range(4))
 *           ps = [Process(target=square, args=(sq, i)) for i in range(4)]
 *           for p in ps: p.start()
 *           for p in ps: p.join()
 *           print(list(sq))           # [0, 1, 4, 9]
 *       # leaving the with block shut the server down: its segments are gone
 *
 * The list is Python's, byte for byte: a Python program can open it with
 * ShareableList(name=mproc_sharelist_name(sl)) while this one runs.
 */
#include <inttypes.h>
#include <stdio.h>

#include <mproc.h>

static void print_item(const mproc_mval *v)
{
    switch (v->type) {
    case MPROC_MV_BOOL: printf(v->v.i ? "True" : "False"); break;
    case MPROC_MV_INT: printf("%" PRId64, v->v.i); break;
    case MPROC_MV_DOUBLE: printf("%g", v->v.d); break;
    case MPROC_MV_STR: printf("'%s'", v->v.s.ptr); break;
    case MPROC_MV_BYTES: printf("b'%.*s'", (int)v->v.s.len, v->v.s.ptr); break;
    default: printf("None"); break;
    }
}

static void print_list(mproc_sharelist *sl) /* print(list(sl)) */
{
    printf("[");
    for (size_t i = 0; i < mproc_sharelist_len(sl); i++) {
        mproc_mval v;
        mproc_sharelist_get(sl, (int64_t)i, &v);
        printf(i ? ", " : "");
        print_item(&v);
        mproc_mval_clear(&v); /* a str or bytes came as a copy */
    }
    printf("]\n");
}

static int change(const mproc_args *args)
{
    mproc_sharelist *sl = mproc_args_obj(args, 0); /* attached by name */
    mproc_mval v;
    mproc_sharelist_get(sl, 0, &v);
    mproc_sharelist_set(sl, 0, mproc_mv_int(v.v.i * 10)); /* sl[0] *= 10 */
    mproc_sharelist_set(sl, 2, mproc_mv_bool(0));         /* sl[2] = False */
    return mproc_sharelist_set(sl, 4, mproc_mv_str("HELLO")) == 0 ? 0 : 1;
}

static int square(const mproc_args *args)
{
    mproc_sharelist *sl = mproc_args_obj(args, 0);
    int64_t i = mproc_args_int(args, 1);
    mproc_mval v;
    mproc_sharelist_get(sl, i, &v);
    return mproc_sharelist_set(sl, i, mproc_mv_int(v.v.i * v.v.i)) == 0 ? 0 : 1;
}

static void run(mproc_target fn, mproc_sharelist *sl, int n)
{
    mproc_process *ps[8];
    for (int i = 0; i < n; i++) {
        mproc_args *args = mproc_args_new();
        mproc_args_add_obj(args, sl);
        mproc_args_add_int(args, i);
        ps[i] = mproc_process_new(fn, args, NULL, NULL);
        mproc_args_free(args);
        mproc_process_start(ps[i]);
    }
    for (int i = 0; i < n; i++) {
        mproc_process_join(ps[i], MPROC_FOREVER);
        mproc_process_free(ps[i]);
    }
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_mval items[] = {mproc_mv_int(1), mproc_mv_double(2.5),    mproc_mv_bool(1),
                          mproc_mv_nil(),  mproc_mv_str("hello"), mproc_mv_bytes("bytes", 5)};
    mproc_sharelist *sl = mproc_sharelist_new(NULL, items, 6, &err);
    if (!sl) {
        fprintf(stderr, "shareable_list: %s\n", mproc_strerror(err));
        return 1;
    }
    char *format;
    mproc_sharelist_format(sl, &format);
    printf("%s\n", format);
    mproc_free(format);
    run(change, sl, 1);
    print_list(sl);
    printf("%d %d\n", mproc_sharelist_count(sl, mproc_mv_double(2.5)), mproc_sharelist_index(sl, mproc_mv_nil()));
    if (mproc_sharelist_set(sl, 4, mproc_mv_str("a longer string")) == MPROC_EMSGSIZE)
        printf("too long for its slot\n");
    mproc_sharelist_unlink(sl);
    mproc_sharelist_close(sl);

    mproc_manager *smm = mproc_manager_start(NULL, &err); /* with SharedMemoryManager() as smm: */
    mproc_mval range4[] = {mproc_mv_int(0), mproc_mv_int(1), mproc_mv_int(2), mproc_mv_int(3)};
    mproc_sharelist *sq = smm ? mproc_manager_sharelist(smm, range4, 4, &err) : NULL;
    if (!sq) {
        fprintf(stderr, "shareable_list: %s\n", mproc_strerror(err));
        return 1;
    }
    run(square, sq, 4);
    print_list(sq);
    char name[64];
    snprintf(name, sizeof name, "%s", mproc_sharelist_name(sq));
    mproc_sharelist_close(sq);
    mproc_manager_free(smm); /* the end of the with block: the server unlinks its segments */
    if (!mproc_sharelist_attach(name, &err) && err == MPROC_ENOENT)
        printf("after shutdown: its segment is gone\n");
    return 0;
}
