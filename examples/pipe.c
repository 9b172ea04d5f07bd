/* SPDX-License-Identifier: MIT */
/* pipe.c - the seed tutorials' Pipe, in C:
 *
 *   def f(conn):
 *       conn.send_bytes(b"[42, None, 'hello']")
 *       conn.close()
 *
 *   parent_conn, child_conn = Pipe()
 *   p = Process(target=f, args=(child_conn,))
 *   p.start()
 *   child_conn.close()
 *   while parent_conn.poll(5):
 *       print(parent_conn.recv_bytes().decode())   # until EOFError
 *   p.join()
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int f(const mproc_args *args)
{
    mproc_conn *conn = mproc_args_obj(args, 0);
    const char *msg = "[42, None, 'hello']";
    int rc = mproc_conn_send_bytes(conn, msg, strlen(msg));
    mproc_conn_close(conn);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    mproc_conn *parent_conn, *child_conn;
    if (mproc_pipe(1, &parent_conn, &child_conn) != 0)
        return 1;
    mproc_args *args = mproc_args_new();
    mproc_args_add_obj(args, child_conn);
    mproc_process *p = mproc_process_new(f, args, NULL, NULL);
    mproc_args_free(args);
    int rc = mproc_process_start(p);
    mproc_conn_free(child_conn); /* the child has its own; now only it holds that end */
    while (rc == 0 && mproc_conn_poll(parent_conn, 5) == 1) {
        void *buf;
        size_t len;
        rc = mproc_conn_recv_bytes(parent_conn, &buf, &len, MPROC_NOLIMIT);
        if (rc == 0) {
            printf("%.*s\n", (int)len, (const char *)buf);
            mproc_free(buf);
        }
    }
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_free(p);
    mproc_conn_free(parent_conn);
    return rc == MPROC_EOS ? 0 : 1; /* the child closed its end: end of stream */
}
