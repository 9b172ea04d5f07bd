/* SPDX-License-Identifier: MIT */
/* manager.c - Manager list and dict shared through a server process
 * (seeds 004 and 002).
 *
 *   def f(d, l):                                  # seed 004
 *       d[1] = '1'
 *       d['2'] = 2
 *       d[0.25] = None
 *       l.reverse()
 *
 *   with Manager() as manager:
 *       d = manager.dict()
 *       l = manager.list(range(10))
 *       p = Process(target=f, args=(d, l)); p.start(); p.join()
 *       print(d)                                  # {1: '1', '2': 2, 0.25: None}
 *       print(l)                                  # [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
 *
 *   def g(lst, x):                                # seed 002: proxies reach pool tasks
 *       print(lst, x)
 *       lst.append(x)
 *
 *   mag_list = manager.list([])
 *   with Pool(4) as p:
 *       for item in [1, 2, 3]:
 *           p.apply(g, args=(mag_list, item))
 *   print(mag_list)                               # [1, 2, 3]
 *
 * Values are typed (mproc_mv_int, _str, _double, _nil ...); what comes back
 * is an mproc_mval, printed here the way Python's repr would.
 */
#include <inttypes.h>
#include <stdio.h>

#include <mproc.h>

static void print_mval(const mproc_mval *v)
{
    switch (v->type) {
    case MPROC_MV_BOOL: printf(v->v.i ? "True" : "False"); break;
    case MPROC_MV_INT: printf("%" PRId64, v->v.i); break;
    case MPROC_MV_DOUBLE: printf("%g", v->v.d); break;
    case MPROC_MV_STR: printf("'%s'", v->v.s.ptr); break;
    case MPROC_MV_BYTES: printf("b'...'"); break;
    case MPROC_MV_LIST: printf("<ListProxy>"); break;
    case MPROC_MV_DICT: printf("<DictProxy>"); break;
    default: printf("None"); break;
    }
}

static int print_list(mproc_mlist *l)
{
    mproc_mval *vals;
    size_t n;
    int rc = mproc_mlist_slice(l, 0, INT64_MAX, &vals, &n);   /* l[:] */
    if (rc != 0)
        return rc;
    printf("[");
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        print_mval(&vals[i]);
    }
    printf("]");
    mproc_mvals_free(vals, n);
    return 0;
}

static int print_dict(mproc_mdict *d)
{
    mproc_mval *kv;
    size_t n;
    int rc = mproc_mdict_items(d, &kv, &n);                    /* d.items() */
    if (rc != 0)
        return rc;
    printf("{");
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        print_mval(&kv[2 * i]);
        printf(": ");
        print_mval(&kv[2 * i + 1]);
    }
    printf("}");
    mproc_mvals_free(kv, 2 * n);
    return 0;
}

static int f(const mproc_args *args)
{
    mproc_mdict *d = mproc_args_obj(args, 0);
    mproc_mlist *l = mproc_args_obj(args, 1);
    int rc = 0;
    rc |= mproc_mdict_set(d, mproc_mv_int(1), mproc_mv_str("1"));     /* d[1] = '1' */
    rc |= mproc_mdict_set(d, mproc_mv_str("2"), mproc_mv_int(2));     /* d['2'] = 2 */
    rc |= mproc_mdict_set(d, mproc_mv_double(0.25), mproc_mv_nil());  /* d[0.25] = None */
    rc |= mproc_mlist_reverse(l);                                     /* l.reverse() */
    return rc ? 1 : 0;
}

static int g(const mproc_args *args, mproc_result *res, void *state)
{
    (void)res;
    (void)state;
    mproc_mlist *lst = mproc_args_obj(args, 0);
    int64_t x = mproc_args_int(args, 1);
    print_list(lst);                                                  /* print(lst, x) */
    printf(" %" PRId64 "\n", x);
    fflush(stdout);
    return mproc_mlist_append(lst, mproc_mv_int(x));                  /* lst.append(x) */
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    int err;
    mproc_manager *manager = mproc_manager_start(NULL, &err);         /* Manager() */
    if (!manager) {
        fprintf(stderr, "manager: %s\n", mproc_strerror(err));
        return 1;
    }
    mproc_mdict *d = mproc_manager_dict(manager, &err);              /* manager.dict() */
    mproc_mlist *l = mproc_manager_list(manager, &err);              /* manager.list(range(10)) */
    for (int i = 0; l && i < 10; i++)
        mproc_mlist_append(l, mproc_mv_int(i));
    mproc_args *a = mproc_args_new();
    mproc_args_add_obj(a, d);
    mproc_args_add_obj(a, l);
    mproc_process *p = mproc_process_new(f, a, NULL, &err);
    mproc_args_free(a);
    if (!p || mproc_process_start(p) != 0 || mproc_process_join(p, MPROC_FOREVER) != 0)
        return 1;
    mproc_process_free(p);
    print_dict(d);
    printf("\n");
    print_list(l);
    printf("\n");

    mproc_mlist *mag_list = mproc_manager_list(manager, &err);       /* manager.list([]) */
    mproc_pool_opts opts = MPROC_POOL_OPTS_INIT;
    opts.processes = 4;
    mproc_pool *pool = mproc_pool_new(&opts, &err);                  /* Pool(4) */
    if (!mag_list || !pool) {
        fprintf(stderr, "manager: %s\n", mproc_strerror(err));
        return 1;
    }
    fflush(stdout);
    for (int item = 1; item <= 3; item++) {
        mproc_args *x = mproc_args_new();
        mproc_args_add_obj(x, mag_list);
        mproc_args_add_int(x, item);
        mproc_pool_apply(pool, g, x, NULL, NULL);                    /* p.apply(g, args=(mag_list, item)) */
        mproc_args_free(x);
    }
    mproc_pool_close(pool);
    mproc_pool_join(pool, MPROC_FOREVER);
    mproc_pool_free(pool);
    print_list(mag_list);
    printf("\n");

    mproc_mlist_free(mag_list);
    mproc_mlist_free(l);
    mproc_mdict_free(d);
    mproc_manager_free(manager);                                     /* leaving the with block */
    return 0;
}
