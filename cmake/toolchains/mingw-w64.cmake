# SPDX-License-Identifier: MIT
# mingw-w64.cmake - CMake toolchain file: cross-compile mproc for 64-bit
# Windows with Debian's x86_64-w64-mingw32 gcc, and run the built programs
# (ctest, try_run) through wine.
#
#   cmake -S . -B build-win -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64.cmake
#
# Dependencies for mingw (CUnit, msgpack-c) are looked up in the mingw
# sysroot and in MPROC_WIN_PREFIX, where scripts/win-deps.sh installs them:
# -DMPROC_WIN_PREFIX=..., else the environment variable MPROC_WIN_PREFIX,
# else /opt/mproc-mingw.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MPROC_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER   ${MPROC_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MPROC_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER  ${MPROC_MINGW_TRIPLE}-windres)

if(NOT MPROC_WIN_PREFIX)
  if(DEFINED ENV{MPROC_WIN_PREFIX} AND NOT "$ENV{MPROC_WIN_PREFIX}" STREQUAL "")
    set(MPROC_WIN_PREFIX "$ENV{MPROC_WIN_PREFIX}")
  else()
    set(MPROC_WIN_PREFIX /opt/mproc-mingw)
  endif()
endif()
# try_compile projects read the toolchain file again: hand the prefix on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MPROC_WIN_PREFIX)

# Headers and libraries only from the sysroot and the prefix; programs that
# run during the build only from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${MPROC_MINGW_TRIPLE} ${MPROC_WIN_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# libgcc and winpthread linked statically: the .exe and .dll files run under
# wine (or on Windows) without mingw's DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT    "-static -static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# ctest runs `wine <test>.exe` for add_test(NAME x COMMAND <target>).
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(MPROC_WINE_EXECUTABLE NAMES wine64 wine NO_CMAKE_FIND_ROOT_PATH)
  if(MPROC_WINE_EXECUTABLE)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${MPROC_WINE_EXECUTABLE}")
  else()
    message(WARNING "mingw-w64.cmake: wine not found; tests cannot run here (scripts/win-deps.sh installs it)")
  endif()
endif()
