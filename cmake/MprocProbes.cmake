# SPDX-License-Identifier: MIT
# MprocProbes.cmake - feature probes -> 0/1 macros in the private
# mproc_config.h. Backend code tests `#if MPROC_HAVE_X`, never an OS name.
# MPROC_PORTABLE=ON forces every Linux-only feature to 0, so the code paths
# that macOS takes are built and tested on Linux too.
include(CheckSymbolExists)
include(CheckCSourceCompiles)

set(_probe_defs -D_GNU_SOURCE)
set(CMAKE_REQUIRED_DEFINITIONS ${_probe_defs})

# Linux-only (or non-macOS) features: off in the portable build.
set(MPROC_LINUX_FEATURES
    PIDFD MEMFD PIPE2 SOCK_CLOEXEC MSG_NOSIGNAL SCHED_GETAFFINITY
    PROC_SELF_EXE PROC_PID_STAT PROC_SELF_STATM ROBUST_MUTEX MUTEX_TID_WORD SEM_TIMEDWAIT MUTEX_CLOCKLOCK SEM_CLOCKWAIT)
# Features every POSIX target we support has, or that replace each other.
set(MPROC_OTHER_FEATURES DL_ITERATE_PHDR DYLD SO_NOSIGPIPE MACH_TASK_INFO)

if(MPROC_BACKEND_RESOLVED STREQUAL "posix")
  check_symbol_exists(SYS_pidfd_open "sys/syscall.h" MPROC_PROBE_PIDFD)
  check_symbol_exists(memfd_create "sys/mman.h" MPROC_PROBE_MEMFD)
  check_symbol_exists(pipe2 "unistd.h;fcntl.h" MPROC_PROBE_PIPE2)
  check_symbol_exists(SOCK_CLOEXEC "sys/socket.h" MPROC_PROBE_SOCK_CLOEXEC)
  check_symbol_exists(MSG_NOSIGNAL "sys/socket.h" MPROC_PROBE_MSG_NOSIGNAL)
  check_symbol_exists(SO_NOSIGPIPE "sys/socket.h" MPROC_PROBE_SO_NOSIGPIPE)
  check_symbol_exists(sched_getaffinity "sched.h" MPROC_PROBE_SCHED_GETAFFINITY)
  if(EXISTS /proc/self/exe)
    set(MPROC_PROBE_PROC_SELF_EXE 1)
  endif()
  # process states (zombies) readable in /proc/<pid>/stat
  if(EXISTS /proc/self/stat)
    set(MPROC_PROBE_PROC_PID_STAT 1)
  endif()
  # the resident set size of this process (a pool's max_worker_rss)
  if(EXISTS /proc/self/statm)
    set(MPROC_PROBE_PROC_SELF_STATM 1)
  endif()
  check_symbol_exists(task_info "mach/mach.h" MPROC_PROBE_MACH_TASK_INFO)
  set(CMAKE_REQUIRED_LIBRARIES pthread)
  check_symbol_exists(pthread_mutexattr_setrobust "pthread.h" MPROC_PROBE_ROBUST_MUTEX)
  check_symbol_exists(sem_timedwait "semaphore.h" MPROC_PROBE_SEM_TIMEDWAIT)
  check_symbol_exists(pthread_mutex_clocklock "pthread.h" MPROC_PROBE_MUTEX_CLOCKLOCK)
  check_symbol_exists(sem_clockwait "semaphore.h" MPROC_PROBE_SEM_CLOCKWAIT)
  # glibc keeps a robust mutex's holder (its kernel thread id) in the
  # futex word, where pthread_mutex_unlock checks it: "held?" is read there
  # and a Lock pays nothing to record its holder. Elsewhere (or with
  # -DMPROC_PROBE_MUTEX_TID_WORD=0, as one test configuration does) the
  # backend notes the holder beside the mutex.
  check_c_source_compiles("
#include <pthread.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#ifndef __GLIBC__
#error not glibc
#endif
int main(void) { pthread_mutex_t m; return (int)((unsigned)m.__data.__lock & FUTEX_TID_MASK) + SYS_gettid; }"
    MPROC_PROBE_MUTEX_TID_WORD)
  unset(CMAKE_REQUIRED_LIBRARIES)
  check_symbol_exists(dl_iterate_phdr "link.h" MPROC_PROBE_DL_ITERATE_PHDR)
  check_symbol_exists(_dyld_image_count "mach-o/dyld.h" MPROC_PROBE_DYLD)
endif()

foreach(f IN LISTS MPROC_LINUX_FEATURES MPROC_OTHER_FEATURES)
  if(MPROC_PROBE_${f})
    set(MPROC_HAVE_${f} 1)
  else()
    set(MPROC_HAVE_${f} 0)
  endif()
endforeach()
if(MPROC_PORTABLE)
  foreach(f IN LISTS MPROC_LINUX_FEATURES)
    set(MPROC_HAVE_${f} 0)
  endforeach()
endif()

# ThreadSanitizer cannot follow pthread mutexes and semaphores shared
# between processes (it reports live robust-mutex owners as dead): TSan
# builds use the atomics-based records of the portable build, which it can.
if(MPROC_SANITIZE MATCHES "thread")
  foreach(f ROBUST_MUTEX MUTEX_TID_WORD SEM_TIMEDWAIT MUTEX_CLOCKLOCK SEM_CLOCKWAIT)
    set(MPROC_HAVE_${f} 0)
  endforeach()
endif()

set(_features "")
foreach(f IN LISTS MPROC_LINUX_FEATURES MPROC_OTHER_FEATURES)
  string(APPEND _features "#define MPROC_HAVE_${f} ${MPROC_HAVE_${f}}\n")
endforeach()
unset(CMAKE_REQUIRED_DEFINITIONS)
