/* SPDX-License-Identifier: MIT */
/* test_spawn_target.c - spawn and forkserver children locate their target
 * by module + offset and verify it: a target in a plugin the child must load
 * itself works; a changed or missing plugin, or a target outside any module,
 * makes start fail with MPROC_ESPAWN and never runs foreign code. */
#include <dlfcn.h>
#include <unistd.h>

#include "testutil.h"

static const char *plugin1, *plugin2;
static char tmp_plugin[] = "mproc_plugin_XXXXXX";

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int ok = in && out;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok ? 0 : -1;
}


static void test_plugin_target(void)
{
    CU_ASSERT_TRUE_FATAL(plugin1 && plugin2);
    int fd = mkstemp(tmp_plugin);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    close(fd);
    char path[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(tmp_plugin, path));
    CU_ASSERT_EQUAL_FATAL(copy_file(plugin1, path), 0);
    void *h = dlopen(path, RTLD_NOW);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    mproc_target fn;
    *(void **)&fn = dlsym(h, "plugin_target");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fn);

    /* The child has not loaded the plugin: it loads it and runs variant 1. */
    int code = -1;
    CHECK_RC(test_run(fn, NULL, &code), 0);
    CU_ASSERT_EQUAL(code, 11);

    /* The file now holds other code at the same offset: refused. */
    char next[4200];
    snprintf(next, sizeof next, "%s.new", path);
    CU_ASSERT_EQUAL_FATAL(copy_file(plugin2, next), 0);
    CU_ASSERT_EQUAL_FATAL(rename(next, path), 0); /* our mapping stays valid */
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);

    /* The file is gone: refused. */
    unlink(path);
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    CU_ASSERT_EQUAL(fn(NULL), 11); /* the parent's copy is untouched */
    dlclose(h);
}

static void test_target_outside_any_module(void)
{
    /* Heap memory is no module: locate fails before any child starts. */
    unsigned char *blob = calloc(64, 1);
    mproc_target fn;
    void *obj = blob;
    memcpy(&fn, &obj, sizeof fn);
    int code;
    CHECK_RC(test_run(fn, NULL, &code), MPROC_ESPAWN);
    CU_ASSERT_EQUAL(mproc_active_children(NULL, 0), 0);
    free(blob);
}

int main(int argc, char **argv)
{
    mproc_init(&argc, &argv);
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--plugin1") == 0)
            plugin1 = argv[i + 1];
        if (strcmp(argv[i], "--plugin2") == 0)
            plugin2 = argv[i + 1];
    }
    static const test_case tests[] = {
        {"target in a plugin the child loads", test_plugin_target},
        {"target outside any module", test_target_outside_any_module},
        {NULL, NULL},
    };
    return run_tests(argc, argv, "spawn_target", tests);
}
