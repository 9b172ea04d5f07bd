# SPDX-License-Identifier: MIT
# FindMsgpack.cmake - msgpack-c (the C library, libmsgpackc).
# Defines Msgpack_FOUND and the target Msgpack::Msgpack.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND AND NOT CMAKE_CROSSCOMPILING)
  pkg_check_modules(PC_MSGPACK QUIET msgpack msgpack-c)
endif()
find_path(MSGPACK_INCLUDE_DIR msgpack.h HINTS ${PC_MSGPACK_INCLUDE_DIRS})
find_library(MSGPACK_LIBRARY NAMES msgpackc msgpack-c HINTS ${PC_MSGPACK_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Msgpack REQUIRED_VARS MSGPACK_LIBRARY MSGPACK_INCLUDE_DIR)
if(Msgpack_FOUND AND NOT TARGET Msgpack::Msgpack)
  add_library(Msgpack::Msgpack UNKNOWN IMPORTED)
  set_target_properties(Msgpack::Msgpack PROPERTIES
    IMPORTED_LOCATION "${MSGPACK_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MSGPACK_INCLUDE_DIR}")
endif()
mark_as_advanced(MSGPACK_INCLUDE_DIR MSGPACK_LIBRARY)
