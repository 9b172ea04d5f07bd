/* SPDX-License-Identifier: MIT */
/* pickle_decode.c - Python's pickle (protocols 2 to 5) into an mproc_mval
 * tree, data opcodes only (docs/values.md). Nothing that would import or
 * call (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, NEWOBJ_EX,
 * EXT1/2/4, PERSID, BINPERSID, out-of-band buffers) is accepted.
 *
 * Two steps. The opcodes build a graph of nodes (the stack, marks and
 * memo hold pointers to them, so a memo reference shares a node as Python
 * shares an object); strings stay in the input. Every opcode makes at most
 * one node and one pointer, so the graph is bounded by the input. Then the
 * graph becomes a tree: a shared node is copied at each reference, within
 * a budget (so a small pickle cannot expand exponentially), and a cycle
 * (a list that contains itself) ends at the depth limit. */
#include <stdlib.h>
#include <string.h>

#include "ipc/value.h"

enum { P_NONE, P_BOOL, P_INT, P_FLOAT, P_STR, P_BYTES, P_LIST, P_TUPLE, P_DICT, P_SET };

typedef struct ptrs {
    void **p;
    size_t n, cap;
} ptrs;

typedef struct pnode {
    int kind;
    int64_t i;
    double d;
    const unsigned char *p; /* P_STR, P_BYTES: len bytes in the input */
    size_t len;
    ptrs kids; /* containers: pnode pointers (P_DICT: key, value, ...) */
} pnode;

typedef struct dec {
    const unsigned char *in;
    size_t len, pos;
    ptrs all;   /* every node, to free them */
    ptrs stack; /* pnode * */
    ptrs memo;  /* pnode * */
    size_t *marks;
    size_t nmarks, mcap;
    size_t budget; /* bytes the tree may still take */
} dec;

#define BAD MPROC_EINVAL

static int ptrs_add(ptrs *a, void *p)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        void **np = realloc(a->p, cap * sizeof *np);
        if (!np)
            return MPROC_ENOMEM;
        a->p = np;
        a->cap = cap;
    }
    a->p[a->n++] = p;
    return 0;
}

static const unsigned char *take(dec *d, size_t n)
{
    if (n > d->len - d->pos)
        return NULL;
    const unsigned char *p = d->in + d->pos;
    d->pos += n;
    return p;
}

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static pnode *node_new(dec *d, int kind)
{
    pnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    if (ptrs_add(&d->all, n)) {
        free(n);
        return NULL;
    }
    n->kind = kind;
    return n;
}

/* The stack above the innermost mark is the one opcodes see (Python's). */
static size_t base(const dec *d) { return d->nmarks ? d->marks[d->nmarks - 1] : 0; }

static pnode *top(const dec *d) { return d->stack.n > base(d) ? d->stack.p[d->stack.n - 1] : NULL; }

static pnode *pop(dec *d) { return d->stack.n > base(d) ? d->stack.p[--d->stack.n] : NULL; }

/* Removes the innermost mark: its items are stack[*start .. stack.n). */
static int pop_mark(dec *d, size_t *start)
{
    if (!d->nmarks)
        return BAD;
    *start = d->marks[--d->nmarks];
    return 0;
}

static int push_new(dec *d, int kind, pnode **out)
{
    pnode *n = node_new(d, kind);
    if (!n || ptrs_add(&d->stack, n))
        return MPROC_ENOMEM;
    if (out)
        *out = n;
    return 0;
}

static int push_int(dec *d, int64_t v)
{
    pnode *n;
    int rc = push_new(d, P_INT, &n);
    if (rc == 0)
        n->i = v;
    return rc;
}

/* A little-endian two's complement integer of n bytes, if it fits 64 bits. */
static int push_long(dec *d, uint64_t n)
{
    const unsigned char *p = take(d, n);
    if (!p)
        return BAD;
    if (n == 0)
        return push_int(d, 0);
    unsigned char sign = p[n - 1] & 0x80 ? 0xff : 0;
    for (size_t i = 8; i < n; i++) /* beyond 8 bytes: only sign extension */
        if (p[i] != sign)
            return BAD;
    if (n > 8 && (p[7] & 0x80) != (sign & 0x80))
        return BAD;
    uint64_t v = le(p, n < 8 ? n : 8);
    if (n < 8 && sign)
        v |= ~(uint64_t)0 << (8 * n);
    return push_int(d, (int64_t)v);
}

/* INT: protocol 0's decimal text ("I01\n" is True, "I00\n" False). */
static int push_text_int(dec *d)
{
    size_t i = 0;
    const unsigned char *p = d->in + d->pos;
    while (i < 24 && d->pos + i < d->len && p[i] != '\n')
        i++;
    if (d->pos + i >= d->len || p[i] != '\n' || i == 0)
        return BAD;
    d->pos += i + 1;
    if (i == 2 && p[0] == '0' && (p[1] == '0' || p[1] == '1')) {
        pnode *n;
        int rc = push_new(d, P_BOOL, &n);
        if (rc == 0)
            n->i = p[1] == '1';
        return rc;
    }
    size_t k = p[0] == '-' || p[0] == '+';
    if (k == i)
        return BAD;
    uint64_t v = 0, lim = p[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; k < i; k++) {
        if (p[k] < '0' || p[k] > '9' || v > (lim - (uint64_t)(p[k] - '0')) / 10)
            return BAD;
        v = v * 10 + (uint64_t)(p[k] - '0');
    }
    return push_int(d, p[0] == '-' ? (int64_t)(0 - v) : (int64_t)v);
}

static int push_buf(dec *d, int kind, size_t lenbytes)
{
    const unsigned char *h = take(d, lenbytes);
    if (!h)
        return BAD;
    uint64_t n = le(h, lenbytes);
    const unsigned char *p = take(d, n); /* refused before anything is allocated */
    if (!p)
        return BAD;
    pnode *node;
    int rc = push_new(d, kind, &node);
    if (rc == 0) {
        node->p = p;
        node->len = (size_t)n;
    }
    return rc;
}

/* Moves stack[start ..] into container c (pairs for a dict). */
static int move_items(dec *d, size_t start, pnode *c)
{
    size_t k = d->stack.n - start;
    if (c->kind == P_DICT && k % 2)
        return BAD;
    for (size_t i = start; i < d->stack.n; i++) {
        int rc = ptrs_add(&c->kids, d->stack.p[i]);
        if (rc)
            return rc;
    }
    d->stack.n = start;
    return 0;
}

/* LIST, TUPLE, DICT, FROZENSET: a new container of the marked items. */
static int from_mark(dec *d, int kind)
{
    size_t start;
    if (pop_mark(d, &start))
        return BAD;
    pnode *c = node_new(d, kind);
    if (!c)
        return MPROC_ENOMEM;
    int rc = move_items(d, start, c);
    return rc ? rc : ptrs_add(&d->stack, c);
}

/* APPENDS, SETITEMS, ADDITEMS: the marked items into the container under them. */
static int into_top(dec *d, int kind)
{
    size_t start;
    if (pop_mark(d, &start) || start <= base(d))
        return BAD;
    pnode *c = d->stack.p[start - 1];
    if (c->kind != kind)
        return BAD;
    return move_items(d, start, c);
}

/* TUPLE1-3: the top k items. */
static int tuple_n(dec *d, size_t k)
{
    if (d->stack.n < base(d) + k)
        return BAD;
    pnode *c = node_new(d, P_TUPLE);
    if (!c)
        return MPROC_ENOMEM;
    int rc = move_items(d, d->stack.n - k, c);
    return rc ? rc : ptrs_add(&d->stack, c);
}

static int append1(dec *d, int kind, size_t k)
{
    if (d->stack.n < base(d) + k + 1)
        return BAD;
    pnode *c = d->stack.p[d->stack.n - k - 1];
    if (c->kind != kind)
        return BAD;
    return move_items(d, d->stack.n - k, c);
}

static int memo_put(dec *d, uint64_t idx)
{
    pnode *t = top(d);
    if (!t || idx > d->memo.n)
        return BAD; /* indexes are dense, as Python's pickler makes them */
    if (idx < d->memo.n) {
        d->memo.p[idx] = t;
        return 0;
    }
    return ptrs_add(&d->memo, t);
}

static int memo_get(dec *d, uint64_t idx)
{
    if (idx >= d->memo.n)
        return BAD;
    return ptrs_add(&d->stack, d->memo.p[idx]);
}

/* BINPUT, LONG_BINPUT (put), BINGET, LONG_BINGET: an index of n bytes. */
static int memo_op(dec *d, size_t n, int put)
{
    const unsigned char *p = take(d, n);
    if (!p)
        return BAD;
    return put ? memo_put(d, le(p, n)) : memo_get(d, le(p, n));
}

static int step(dec *d, unsigned op)
{
    const unsigned char *p;
    pnode *n;
    switch (op) {
    case 0x80: /* PROTO */
        if (!(p = take(d, 1)) || p[0] < 2 || p[0] > 5)
            return BAD;
        return 0;
    case 0x95: /* FRAME: a size hint; the bytes follow as usual */
        if (!(p = take(d, 8)) || le(p, 8) > d->len - d->pos)
            return BAD;
        return 0;
    case 'N':
        return push_new(d, P_NONE, NULL);
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */ {
        int rc = push_new(d, P_BOOL, &n);
        if (rc == 0)
            n->i = op == 0x88;
        return rc;
    }
    case 'I':
        return push_text_int(d);
    case 'J': /* BININT */
        if (!(p = take(d, 4)))
            return BAD;
        return push_int(d, (int32_t)(uint32_t)le(p, 4));
    case 'K': /* BININT1 */
        if (!(p = take(d, 1)))
            return BAD;
        return push_int(d, p[0]);
    case 'M': /* BININT2 */
        if (!(p = take(d, 2)))
            return BAD;
        return push_int(d, (int64_t)le(p, 2));
    case 0x8a: /* LONG1 */
        if (!(p = take(d, 1)))
            return BAD;
        return push_long(d, p[0]);
    case 0x8b: /* LONG4 */
        if (!(p = take(d, 4)) || (p[3] & 0x80))
            return BAD;
        return push_long(d, le(p, 4));
    case 'G': { /* BINFLOAT: big-endian */
        if (!(p = take(d, 8)))
            return BAD;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | p[i];
        int rc = push_new(d, P_FLOAT, &n);
        if (rc == 0)
            memcpy(&n->d, &bits, sizeof n->d);
        return rc;
    }
    case 0x8c: return push_buf(d, P_STR, 1);   /* SHORT_BINUNICODE */
    case 'X': return push_buf(d, P_STR, 4);    /* BINUNICODE */
    case 0x8d: return push_buf(d, P_STR, 8);   /* BINUNICODE8 */
    case 'C': return push_buf(d, P_BYTES, 1);  /* SHORT_BINBYTES */
    case 'B': return push_buf(d, P_BYTES, 4);  /* BINBYTES */
    case 0x8e: return push_buf(d, P_BYTES, 8); /* BINBYTES8 */
    case 0x96: return push_buf(d, P_BYTES, 8); /* BYTEARRAY8 */
    case ']': return push_new(d, P_LIST, NULL);  /* EMPTY_LIST */
    case ')': return push_new(d, P_TUPLE, NULL); /* EMPTY_TUPLE */
    case '}': return push_new(d, P_DICT, NULL);  /* EMPTY_DICT */
    case 0x8f: return push_new(d, P_SET, NULL);  /* EMPTY_SET */
    case 'a': return append1(d, P_LIST, 1);      /* APPEND */
    case 's': return append1(d, P_DICT, 2);      /* SETITEM */
    case 'e': return into_top(d, P_LIST);        /* APPENDS */
    case 'u': return into_top(d, P_DICT);        /* SETITEMS */
    case 0x90: return into_top(d, P_SET);        /* ADDITEMS */
    case 'l': return from_mark(d, P_LIST);       /* LIST */
    case 't': return from_mark(d, P_TUPLE);      /* TUPLE */
    case 'd': return from_mark(d, P_DICT);       /* DICT */
    case 0x91: return from_mark(d, P_SET);       /* FROZENSET */
    case 0x85: return tuple_n(d, 1);             /* TUPLE1 */
    case 0x86: return tuple_n(d, 2);
    case 0x87: return tuple_n(d, 3);
    case '(': /* MARK */
        if (d->nmarks == d->mcap) {
            size_t cap = d->mcap ? 2 * d->mcap : 16;
            size_t *m = realloc(d->marks, cap * sizeof *m);
            if (!m)
                return MPROC_ENOMEM;
            d->marks = m;
            d->mcap = cap;
        }
        d->marks[d->nmarks++] = d->stack.n;
        return 0;
    case 0x94: /* MEMOIZE */
        return memo_put(d, d->memo.n);
    case 'q': return memo_op(d, 1, 1); /* BINPUT */
    case 'r': return memo_op(d, 4, 1); /* LONG_BINPUT */
    case 'h': return memo_op(d, 1, 0); /* BINGET */
    case 'j': return memo_op(d, 4, 0); /* LONG_BINGET */
    case '0': { /* POP: the top item, or the mark when there is none */
        size_t start;
        if (pop(d))
            return 0;
        return pop_mark(d, &start);
    }
    case '1': { /* POP_MARK */
        size_t start;
        if (pop_mark(d, &start))
            return BAD;
        d->stack.n = start;
        return 0;
    }
    case '2': /* DUP */
        if (!(n = top(d)))
            return BAD;
        return ptrs_add(&d->stack, n);
    default: /* GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ(_EX),
                EXT1/2/4, PERSID, BINPERSID, buffers, text opcodes, unknown */
        return BAD;
    }
}

static int convert(dec *d, const pnode *n, int depth, mproc_mval *out)
{
    size_t cost = sizeof *out + (n->kind == P_STR || n->kind == P_BYTES ? n->len : 0);
    if (cost > d->budget)
        return MPROC_EMSGSIZE;
    d->budget -= cost;
    switch (n->kind) {
    case P_NONE: *out = mproc_mv_nil(); return 0;
    case P_BOOL: *out = mproc_mv_bool((int)n->i); return 0;
    case P_INT: *out = mproc_mv_int(n->i); return 0;
    case P_FLOAT: *out = mproc_mv_double(n->d); return 0;
    case P_STR: return mproc__value_copy_buf(out, MPROC_MV_STR, (const char *)n->p, n->len);
    case P_BYTES: return mproc__value_copy_buf(out, MPROC_MV_BYTES, (const char *)n->p, n->len);
    default: break;
    }
    if (depth >= MPROC_VALUE_DEPTH_MAX)
        return BAD; /* too deep, or a cycle */
    size_t count = n->kids.n;
    mproc_mval *items = calloc(count ? count : 1, sizeof *items);
    if (!items)
        return MPROC_ENOMEM;
    out->type = n->kind == P_TUPLE ? MPROC_MV_TUPLE : n->kind == P_DICT ? MPROC_MV_MAP : MPROC_MV_ARRAY;
    out->v.a.items = items;
    out->v.a.n = n->kind == P_DICT ? count / 2 : count;
    for (size_t i = 0; i < count; i++) {
        int rc = convert(d, n->kids.p[i], depth + 1, &items[i]);
        if (rc)
            return rc; /* the rest are NIL: the caller frees the tree */
    }
    return 0;
}

static int run(dec *d, mproc_mval *out)
{
    while (d->pos < d->len) {
        unsigned op = d->in[d->pos++];
        if (op == '.') { /* STOP: one value, nothing after it */
            if (d->stack.n != 1 || d->nmarks || d->pos != d->len)
                return BAD;
            return convert(d, d->stack.p[0], 0, out);
        }
        int rc = step(d, op);
        if (rc)
            return rc;
    }
    return BAD; /* no STOP */
}

int mproc__value_pickle_decode(const unsigned char *buf, size_t len, mproc_mval *out)
{
    dec d = {0};
    d.in = buf;
    d.len = len;
    d.budget = len > (SIZE_MAX - (1u << 20)) / 32 ? SIZE_MAX : 32 * len + (1u << 20);
    *out = mproc_mv_nil();
    int rc = run(&d, out);
    if (rc)
        mproc__value_free(out);
    for (size_t i = 0; i < d.all.n; i++) {
        pnode *n = d.all.p[i];
        free(n->kids.p);
        free(n);
    }
    free(d.all.p);
    free(d.stack.p);
    free(d.memo.p);
    free(d.marks);
    return rc;
}
