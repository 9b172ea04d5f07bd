# SPDX-License-Identifier: MIT
# MprocPkgConfig.cmake - mproc_pc_libs(OUT item...): the link flags a .pc
# file gives for libraries CMake found. A library file becomes -l<name>
# (with -L<dir> unless the linker searches that directory anyway), a bare
# name -l<name>, a flag (-pthread) stays as it is. Duplicates are dropped.
function(mproc_pc_libs out)
  set(flags)
  foreach(item IN LISTS ARGN)
    if(item STREQUAL "")
      continue()
    elseif(item MATCHES "^-")
      list(APPEND flags "${item}")
    elseif(IS_ABSOLUTE "${item}")
      get_filename_component(dir "${item}" DIRECTORY)
      get_filename_component(name "${item}" NAME)
      # libfoo.so.1.2, libfoo.so, libfoo.a, libfoo.dll.a, foo.lib -> foo
      string(REGEX REPLACE "^lib" "" name "${name}")
      string(REGEX REPLACE "(\\.dll\\.a|\\.so(\\.[0-9]+)*|\\.a|\\.dylib|\\.lib)$" "" name "${name}")
      list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${dir}" implicit)
      if(implicit LESS 0)
        list(APPEND flags "-L${dir}")
      endif()
      list(APPEND flags "-l${name}")
    else()
      list(APPEND flags "-l${item}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES flags)
  string(REPLACE ";" " " flags "${flags}")
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()
