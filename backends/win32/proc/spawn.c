/* SPDX-License-Identifier: MIT */
/* spawn.c - the spawn start method: run this program again with
 * CreateProcessW, give it the payload over a private channel, and wait until
 * it reports that it found its target. Only the channel and our current
 * standard handles are inherited (PROC_THREAD_ATTRIBUTE_HANDLE_LIST): a
 * child never holds another child's channel, nor anything else of ours.
 * Handles the child is meant to have (the daemon job, shared memory
 * sections, pipe ends) are duplicated straight into it instead, and its
 * sockets shared with it (handoff.c).
 *
 * Channel protocol: parent -> child  w32_spawn_hello, u64 length, payload,
 *                                    u64 n, n x w32_spawn_shm,
 *                                    the streams (handoff.c);
 *                   child -> parent  w32_start_report. */
#include <stdlib.h>
#include <wchar.h>

#include "win32.h"

/* "<exe>" --mproc-spawn <handle in hex>; malloc'd. */
static wchar_t *command_line(const wchar_t *exe, HANDLE channel)
{
    static const wchar_t marker[] = L" " W32_SPAWN_MARKER_W L" ";
    size_t n = wcslen(exe);
    wchar_t *cmd = malloc((n + 2 + wcslen(marker) + 17) * sizeof *cmd);
    if (!cmd)
        return NULL;
    cmd[0] = L'"'; /* a Windows path cannot contain '"' */
    wcscpy(cmd + 1, exe);
    wcscpy(cmd + 1 + n, L"\"");
    wcscat(cmd, marker);
    mproc__w32_hex(cmd + wcslen(cmd), (uint64_t)(uintptr_t)channel);
    return cmd;
}

/* The child gets inheritable duplicates of our standard handles as they are
 * now, so that a parent that redirected stdout (dup2 onto fd 1 updates
 * STD_OUTPUT_HANDLE) is followed by its children. A handle that cannot be
 * duplicated (none, or a Windows 7 console pseudo-handle, which the handle
 * list refuses and which reaches the child through the console anyway) is
 * passed as it is. */
typedef struct std_set {
    HANDLE h[3];
    int owned[3];
} std_set;

static void std_open(std_set *s)
{
    static const DWORD ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    HANDLE self = GetCurrentProcess();
    for (int i = 0; i < 3; i++) {
        HANDLE h = GetStdHandle(ids[i]), d;
        s->h[i] = h;
        s->owned[i] = 0;
        int pseudo = ((uintptr_t)h & 3) == 3;
        if (h && h != INVALID_HANDLE_VALUE && !pseudo &&
            DuplicateHandle(self, h, self, &d, 0, TRUE, DUPLICATE_SAME_ACCESS)) {
            s->h[i] = d;
            s->owned[i] = 1;
        }
    }
}

static void std_close(std_set *s)
{
    for (int i = 0; i < 3; i++)
        if (s->owned[i])
            CloseHandle(s->h[i]);
}

/* CreateProcessW with exactly these handles inherited. */
static int create(const wchar_t *exe, wchar_t *cmd, HANDLE channel, const std_set *std,
                  PROCESS_INFORMATION *pi)
{
    HANDLE list[4];
    size_t n = 0;
    list[n++] = channel;
    for (int i = 0; i < 3; i++)
        if (std->owned[i])
            list[n++] = std->h[i];
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = malloc(size ? size : 1);
    if (!attrs)
        return MPROC_ENOMEM;
    if (!InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
        free(attrs);
        return mproc__w32_last_error(MPROC_ESPAWN);
    }
    int rc = 0;
    STARTUPINFOEXW si;
    ZeroMemory(&si, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = std->h[0];
    si.StartupInfo.hStdOutput = std->h[1];
    si.StartupInfo.hStdError = std->h[2];
    si.lpAttributeList = attrs;
    if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, n * sizeof list[0],
                                   NULL, NULL) ||
        !mproc__w32_sys.CreateProcessW(exe, cmd, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                        &si.StartupInfo, pi))
        rc = mproc__w32_last_error(MPROC_ESPAWN);
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
    return rc;
}

/* The segments of how->shms as handles of the child, duplicated straight
 * into it like the job handle: no inheritable copy ever exists here. If the
 * start fails the child is terminated and they go with it. */
static int shm_list(const be_start *how, HANDLE child, w32_spawn_shm **out)
{
    *out = NULL;
    if (how->nshms == 0)
        return 0;
    if (how->nshms > W32_SPAWN_SHMS_MAX)
        return MPROC_EINVAL;
    w32_spawn_shm *l = calloc(how->nshms, sizeof *l);
    if (!l)
        return MPROC_ENOMEM;
    for (size_t i = 0; i < how->nshms; i++) {
        HANDLE remote;
        if (!DuplicateHandle(GetCurrentProcess(), mproc__w32_shm_section(how->shms[i]), child, &remote, 0, FALSE,
                             DUPLICATE_SAME_ACCESS)) {
            free(l);
            return mproc__w32_last_error(MPROC_ESPAWN);
        }
        l[i].mapping = (uint64_t)(uintptr_t)remote;
        l[i].size = mproc__be_shm_size(how->shms[i]);
    }
    *out = l;
    return 0;
}

/* Sends the payload, the segments and the streams, and waits for the
 * child's report. */
static int handshake(w32_channel *ch, const be_start *how, HANDLE child, DWORD child_pid)
{
    double deadline = mproc__core_deadline(W32_SPAWN_TIMEOUT);
    w32_spawn_hello hello = {0};
    HANDLE job = mproc__w32_daemon_job(), remote = NULL;
    /* Straight into the child: the job handle is never inheritable here. */
    if (job && DuplicateHandle(GetCurrentProcess(), job, child, &remote, 0, FALSE, DUPLICATE_SAME_ACCESS))
        hello.job = (uint64_t)(uintptr_t)remote;
    w32_spawn_shm *shms;
    void *streams = NULL;
    size_t streams_len = 0;
    int rc = shm_list(how, child, &shms);
    if (rc)
        return rc;
    if ((rc = mproc__w32_streams_export(how, child, child_pid, &streams, &streams_len)) != 0) {
        free(shms);
        return rc;
    }
    uint64_t len = how->payload_len, nshms = how->nshms;
    w32_start_report report;
    rc = mproc__w32_channel_io(ch, 1, &hello, sizeof hello, child, deadline);
    if (!rc)
        rc = mproc__w32_channel_io(ch, 1, &len, sizeof len, child, deadline);
    if (!rc)
        rc = mproc__w32_channel_io(ch, 1, (void *)how->payload, how->payload_len, child, deadline);
    if (!rc)
        rc = mproc__w32_channel_io(ch, 1, &nshms, sizeof nshms, child, deadline);
    if (!rc && nshms)
        rc = mproc__w32_channel_io(ch, 1, shms, (size_t)nshms * sizeof *shms, child, deadline);
    free(shms);
    if (!rc)
        rc = mproc__w32_channel_io(ch, 1, streams, streams_len, child, deadline);
    free(streams);
    if (!rc)
        rc = mproc__w32_channel_io(ch, 0, &report, sizeof report, child, deadline);
    if (rc)
        return MPROC_ESPAWN; /* died or hung before mproc_init: OS error recorded */
    if (report.status != 0)
        return mproc__w32_fail(MPROC_ESPAWN, report.os_error); /* cannot run its target */
    return 0;
}

/* Opens a fresh channel and starts the child on it; on success only the
 * child holds the channel's child end. */
static int launch(const wchar_t *exe, w32_channel *ch, PROCESS_INFORMATION *pi)
{
    int rc = mproc__w32_channel_open(ch);
    if (rc)
        return rc;
    wchar_t *cmd = command_line(exe, ch->child);
    if (!cmd) {
        mproc__w32_channel_close(ch);
        return MPROC_ENOMEM;
    }
    std_set std;
    std_open(&std);
    rc = create(exe, cmd, ch->child, &std, pi);
    std_close(&std);
    free(cmd);
    /* Only the child holds its end now: its death breaks the pipe. */
    CloseHandle(ch->child);
    ch->child = INVALID_HANDLE_VALUE;
    if (rc)
        mproc__w32_channel_close(ch);
    return rc;
}

/* Wine fails CreateProcessW with ERROR_INTERNAL_ERROR (STATUS_INTERNAL_ERROR
 * from NtCreateUserProcess) when the new process dies inside wine's own
 * start-up, before it tells the server its initialisation is done, with no
 * exit status; seen now and then on a loaded machine. Such a process ran no
 * code of ours (not even its DLLs' entry points), is gone, and the failed
 * call leaves no handle to it, so launching again cannot run a child twice. */
#define LAUNCH_TRIES 3

static int launch_died_early(int rc)
{
    return rc == MPROC_ESPAWN && mproc_last_os_error() == ERROR_INTERNAL_ERROR;
}

int mproc__w32_spawn_start(const be_start *how, be_proc *bp)
{
    const wchar_t *exe = mproc__w32_exe_path();
    if (!exe)
        return mproc__w32_fail(MPROC_ESPAWN, ERROR_FILE_NOT_FOUND);
    w32_channel ch;
    PROCESS_INFORMATION pi;
    int rc = launch(exe, &ch, &pi);
    for (int tries = 1; tries < LAUNCH_TRIES && launch_died_early(rc); tries++) {
        Sleep(10 * tries); /* let a loaded machine breathe */
        rc = launch(exe, &ch, &pi);
    }
    if (rc)
        return rc;
    CloseHandle(pi.hThread);
    rc = handshake(&ch, how, pi.hProcess, pi.dwProcessId);
    mproc__w32_channel_close(&ch);
    if (rc) {
        /* Never leave a child behind. */
        TerminateProcess(pi.hProcess, BE_CHILD_BADTARGET);
        WaitForSingleObject(pi.hProcess, INFINITE);
        CloseHandle(pi.hProcess);
        return rc;
    }
    bp->process = pi.hProcess;
    bp->pid = pi.dwProcessId;
    return 0;
}
