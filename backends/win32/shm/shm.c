/* SPDX-License-Identifier: MIT */
/* shm.c - shared memory segments: pagefile-backed sections.
 *
 * Anonymous segments have no name and vanish with their last handle or
 * view, however their users end. Named ones (Python's SharedMemory) are
 * Local\mproc_shm_NAME; Windows has no unlink and rounds sizes up to pages,
 * so a named section starts with a hidden page: the exact size asked at
 * creation and an "unlinked" flag that makes the name unattachable while
 * existing mappings keep working. A page keeps the user area page-aligned,
 * as mmap's is on POSIX.
 *
 * Children get anonymous segments as section handles duplicated into them
 * by mproc__be_proc_start (spawn.c) and sent with their sizes on the channel. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "win32.h"

struct be_shm {
    char *view;     /* the whole mapping */
    size_t view_len;
    void *addr;     /* the user area */
    size_t size;
    HANDLE section; /* kept: a named section loses its name with its last handle */
};

#define NAMED_HEADER 4096
#define NAMED_MAGIC 0x6d70726f6373686dull /* "mprocshm" */
#define NAMED_PREFIX L"Local\\mproc_shm_"
/* How long an attach waits for a creator to finish writing the header. */
#define HEADER_WAIT 1.0

typedef struct named_header {
    _Atomic uint64_t magic; /* written last by the creator */
    uint64_t size;          /* exact size asked at creation */
    _Atomic uint32_t unlinked;
} named_header;

static int memory_error(DWORD err)
{
    if (err == ERROR_NOT_ENOUGH_MEMORY || err == ERROR_OUTOFMEMORY || err == ERROR_COMMITMENT_LIMIT ||
        err == ERROR_DISK_FULL)
        return mproc__w32_fail(MPROC_ENOMEM, err);
    return mproc__w32_fail(MPROC_ESYS, err);
}

/* Maps all of section; on success *out owns section. */
static int map_section(HANDLE section, be_shm **out)
{
    be_shm *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    s->view = mproc__w32_sys.MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    MEMORY_BASIC_INFORMATION mi;
    if (!s->view || VirtualQuery(s->view, &mi, sizeof mi) != sizeof mi) {
        int rc = memory_error(GetLastError());
        if (s->view)
            UnmapViewOfFile(s->view);
        free(s);
        return rc;
    }
    s->view_len = mi.RegionSize;
    s->addr = s->view;
    s->size = s->view_len;
    s->section = section;
    *out = s;
    return 0;
}

static HANDLE new_section(uint64_t size, const wchar_t *name)
{
    return mproc__w32_sys.CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)(size >> 32),
                              (DWORD)size, name);
}

int mproc__be_shm_create(size_t size, be_shm **out)
{
    if (size == 0)
        return MPROC_EINVAL;
    HANDLE h = new_section(size, NULL);
    if (!h)
        return memory_error(GetLastError());
    int rc = map_section(h, out);
    if (rc) {
        CloseHandle(h);
        return rc;
    }
    (*out)->size = size;
    return 0;
}

/* ------------------------------------------------------------ named */

static void section_name(wchar_t *out, const char *name)
{
    wcscpy(out, NAMED_PREFIX);
    size_t n = wcslen(out);
    while (*name)
        out[n++] = (wchar_t)*name++; /* ASCII only (mproc__core_shm_name_valid) */
    out[n] = L'\0';
}

#define SECTION_NAME_CAP (sizeof NAMED_PREFIX / sizeof(wchar_t) + BE_SHM_NAME_MAX + 1)

static int create_named(const wchar_t *wname, size_t size, be_shm **out)
{
    if (size > SIZE_MAX - NAMED_HEADER)
        return MPROC_ENOMEM;
    HANDLE h = new_section((uint64_t)size + NAMED_HEADER, wname);
    DWORD err = GetLastError();
    if (h && err == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        return MPROC_EEXIST;
    }
    if (!h) /* ERROR_INVALID_HANDLE: the name belongs to another kind of object */
        return err == ERROR_INVALID_HANDLE || err == ERROR_ALREADY_EXISTS ? MPROC_EEXIST : memory_error(err);
    int rc = map_section(h, out);
    if (rc) {
        CloseHandle(h);
        return rc;
    }
    be_shm *s = *out;
    named_header *hdr = (named_header *)s->view;
    hdr->size = size;
    atomic_store(&hdr->unlinked, 0);
    atomic_store(&hdr->magic, NAMED_MAGIC);
    s->addr = s->view + NAMED_HEADER;
    s->size = size;
    return 0;
}

/* The header of a named section once its creator has written it; NULL if
 * it never was (a creator that died half-way). */
static named_header *header_of(char *view)
{
    named_header *hdr = (named_header *)view;
    double deadline = mproc__core_deadline(HEADER_WAIT);
    while (atomic_load(&hdr->magic) != NAMED_MAGIC) {
        if (atomic_load(&hdr->magic) != 0 || mproc__w32_remaining_ms(deadline) == 0)
            return NULL;
        Sleep(1);
    }
    return hdr;
}

static int attach_named(const wchar_t *wname, be_shm **out)
{
    HANDLE h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
    if (!h) {
        DWORD err = GetLastError();
        return err == ERROR_FILE_NOT_FOUND ? MPROC_ENOENT : mproc__w32_fail(MPROC_ESYS, err);
    }
    int rc = map_section(h, out);
    if (rc) {
        CloseHandle(h);
        return rc;
    }
    be_shm *s = *out;
    named_header *hdr = s->view_len >= NAMED_HEADER ? header_of(s->view) : NULL;
    if (!hdr || atomic_load(&hdr->unlinked) || hdr->size > s->view_len - NAMED_HEADER) {
        mproc__be_shm_close(s);
        return MPROC_ENOENT;
    }
    s->addr = s->view + NAMED_HEADER;
    s->size = (size_t)hdr->size; /* Python ignores the size on attach */
    return 0;
}

int mproc__be_shm_open(const char *name, size_t size, int create, be_shm **out)
{
    if (!mproc__core_shm_name_valid(name) || (create && size == 0))
        return MPROC_EINVAL;
    wchar_t wname[SECTION_NAME_CAP];
    section_name(wname, name);
    return create ? create_named(wname, size, out) : attach_named(wname, out);
}

int mproc__be_shm_unlink(const char *name)
{
    if (!mproc__core_shm_name_valid(name))
        return MPROC_EINVAL;
    wchar_t wname[SECTION_NAME_CAP];
    section_name(wname, name);
    HANDLE h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
    if (!h) {
        DWORD err = GetLastError();
        return err == ERROR_FILE_NOT_FOUND ? MPROC_ENOENT : mproc__w32_fail(MPROC_ESYS, err);
    }
    char *view = mproc__w32_sys.MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, NAMED_HEADER);
    int rc;
    if (!view) {
        rc = mproc__w32_last_error(MPROC_ESYS);
    } else {
        named_header *hdr = header_of(view);
        rc = hdr && atomic_exchange(&hdr->unlinked, 1) == 0 ? 0 : MPROC_ENOENT;
        UnmapViewOfFile(view);
    }
    CloseHandle(h);
    return rc;
}

void *mproc__be_shm_addr(const be_shm *s) { return s->addr; }

size_t mproc__be_shm_size(const be_shm *s) { return s->size; }

void mproc__be_shm_close(be_shm *s)
{
    if (!s)
        return;
    mproc__w32_wake_forget_range(s->view, s->view_len); /* records in it are gone for us */
    UnmapViewOfFile(s->view);
    CloseHandle(s->section);
    free(s);
}

HANDLE mproc__w32_shm_section(const be_shm *s) { return s->section; }

/* ---------------------------------------------------------------- handoff */

/* A segment handed to a running process: its section handle, already
 * duplicated into the reader, and its size. The magic catches a reader
 * that is out of step. */
typedef struct handoff {
    uint64_t magic;
    uint64_t section; /* handle value, valid in the reader */
    uint64_t size;
} handoff;
#define HANDOFF_MAGIC 0x6d70726f63736567ull /* "mprocseg" */

int mproc__be_shm_send(be_stream *st, be_proc *peer, const be_shm *s, double timeout)
{
    if (!st || !s || s->addr != s->view) /* a named one has its header first */
        return MPROC_EINVAL;
    HANDLE self = GetCurrentProcess(), target = peer ? peer->process : self, remote;
    if (!DuplicateHandle(self, s->section, target, &remote, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return mproc__w32_last_error(MPROC_ESYS);
    handoff h = {HANDOFF_MAGIC, (uint64_t)(uintptr_t)remote, s->size};
    be_iov v = {&h, sizeof h};
    int rc = mproc__be_stream_write(st, &v, 1, timeout);
    if (rc) /* never announced: close the reader's copy again */
        DuplicateHandle(target, remote, NULL, NULL, 0, FALSE, DUPLICATE_CLOSE_SOURCE);
    return rc;
}

int mproc__be_shm_recv(be_stream *st, double timeout, be_shm **out)
{
    if (!st || !out)
        return MPROC_EINVAL;
    handoff h;
    int rc = mproc__be_stream_read(st, &h, sizeof h, timeout);
    if (rc)
        return rc;
    if (h.magic != HANDOFF_MAGIC || !h.section || h.size == 0 || h.size > SIZE_MAX)
        return MPROC_EINVAL;
    HANDLE section = (HANDLE)(uintptr_t)h.section;
    if ((rc = map_section(section, out)) != 0) {
        CloseHandle(section);
        return rc;
    }
    if (h.size > (*out)->view_len) {
        mproc__be_shm_close(*out);
        return MPROC_EINVAL;
    }
    (*out)->size = (size_t)h.size;
    return 0;
}

/* Nothing to track: a section, named or not, goes with its last handle,
 * and the OS closes a killed process's handles (docs/resource-tracker.md). */
int mproc__be_shm_track(const char *name, int add)
{
    (void)add;
    return mproc__core_shm_name_valid(name) ? 0 : MPROC_EINVAL;
}

/* ------------------------------------------------------------ inheritance */

/* The parent's segments, as sections of ours (kept for the process's life,
 * as POSIX keeps the inherited descriptors). */
static w32_spawn_shm *inherited;
static size_t n_inherited;

void mproc__w32_shm_set_inherited(w32_spawn_shm *list, size_t n)
{
    free(inherited);
    inherited = list;
    n_inherited = list ? n : 0;
}

size_t mproc__be_shm_inherited_count(void) { return n_inherited; }

int mproc__be_shm_inherited(size_t index, be_shm **out)
{
    if (index >= n_inherited)
        return MPROC_EINVAL;
    HANDLE self = GetCurrentProcess(), h;
    if (!DuplicateHandle(self, (HANDLE)(uintptr_t)inherited[index].mapping, self, &h, 0, FALSE,
                         DUPLICATE_SAME_ACCESS))
        return mproc__w32_last_error(MPROC_ESYS);
    int rc = map_section(h, out);
    if (rc) {
        CloseHandle(h);
        return rc;
    }
    if (inherited[index].size > (*out)->view_len) {
        mproc__be_shm_close(*out);
        return MPROC_EINVAL;
    }
    (*out)->size = (size_t)inherited[index].size;
    return 0;
}
