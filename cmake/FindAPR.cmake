# SPDX-License-Identifier: MIT
# FindAPR.cmake - Apache Portable Runtime (apr-1).
# Defines APR_FOUND, APR_INCLUDE_DIRS, APR_LIBRARIES and the target APR::APR.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_APR QUIET apr-1)
endif()
find_path(APR_INCLUDE_DIR apr.h
  HINTS ${PC_APR_INCLUDE_DIRS} PATH_SUFFIXES apr-1 apr-1.0)
find_library(APR_LIBRARY NAMES apr-1 HINTS ${PC_APR_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(APR REQUIRED_VARS APR_LIBRARY APR_INCLUDE_DIR
  VERSION_VAR PC_APR_VERSION)
if(APR_FOUND)
  set(APR_INCLUDE_DIRS ${APR_INCLUDE_DIR})
  set(APR_LIBRARIES ${APR_LIBRARY})
  if(NOT TARGET APR::APR)
    add_library(APR::APR UNKNOWN IMPORTED)
    set_target_properties(APR::APR PROPERTIES
      IMPORTED_LOCATION "${APR_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${APR_INCLUDE_DIR}"
      INTERFACE_COMPILE_OPTIONS "${PC_APR_CFLAGS_OTHER}")
  endif()
endif()
mark_as_advanced(APR_INCLUDE_DIR APR_LIBRARY)
