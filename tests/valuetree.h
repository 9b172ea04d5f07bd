/* SPDX-License-Identifier: MIT */
/* valuetree.h - a value tree with every type of mproc_mval's local values,
 * for test_value and test_value_interop. */
#ifndef MPROC_TEST_VALUETREE_H
#define MPROC_TEST_VALUETREE_H

#include "mproc.h"

/* {'n': None, 't': True, 'f': False, 'max': big, 'neg': -70000, 'd': -1.5e300,
 *  'hé': b'xyz', 7: [[-5, '', []], (1, 'two'), (None,), (), {}, 0.25,
 *  b'\x00b', small], (1, 'two'): 300, 2.0: 65536, b'': -1}
 * (static storage: one tree at a time). */
static inline mproc_mval vt_every_type(int64_t big, int64_t small)
{
    static mproc_mval items[8], inner[3], kv[22], tup[2], one[1];
    inner[0] = mproc_mv_int(-5);
    inner[1] = mproc_mv_str("");
    inner[2] = mproc_mv_array(NULL, 0);
    tup[0] = mproc_mv_int(1);
    tup[1] = mproc_mv_str("two");
    one[0] = mproc_mv_nil();
    items[0] = mproc_mv_array(inner, 3);
    items[1] = mproc_mv_tuple(tup, 2);
    items[2] = mproc_mv_tuple(one, 1);
    items[3] = mproc_mv_tuple(NULL, 0);
    items[4] = mproc_mv_map(NULL, 0);
    items[5] = mproc_mv_double(0.25);
    items[6] = mproc_mv_bytes("\0b", 2);
    items[7] = mproc_mv_int(small);
    int k = 0;
    kv[k++] = mproc_mv_str("n");         kv[k++] = mproc_mv_nil();
    kv[k++] = mproc_mv_str("t");         kv[k++] = mproc_mv_bool(1);
    kv[k++] = mproc_mv_str("f");         kv[k++] = mproc_mv_bool(0);
    kv[k++] = mproc_mv_str("max");       kv[k++] = mproc_mv_int(big);
    kv[k++] = mproc_mv_str("neg");       kv[k++] = mproc_mv_int(-70000);
    kv[k++] = mproc_mv_str("d");         kv[k++] = mproc_mv_double(-1.5e300);
    kv[k++] = mproc_mv_str("h\xc3\xa9"); kv[k++] = mproc_mv_bytes("xyz", 3);
    kv[k++] = mproc_mv_int(7);           kv[k++] = mproc_mv_array(items, 8);
    kv[k++] = mproc_mv_tuple(tup, 2);    kv[k++] = mproc_mv_int(300);
    kv[k++] = mproc_mv_double(2.0);      kv[k++] = mproc_mv_int(65536);
    kv[k++] = mproc_mv_bytes("", 0);     kv[k++] = mproc_mv_int(-1);
    return mproc_mv_map(kv, 11);
}

#endif
