# SPDX-License-Identifier: MIT
# install_test.cmake - installs the build tree into a scratch prefix, then
# builds a consumer against it: with find_package(mproc) + mproc::mproc
# and mproc::mproc_static, and with pkg-config mproc and mproc-static.
# Each consumer must run and print "hello bob" from a child process. Run with cmake -P (SRC, BIN, WORK set).
file(REMOVE_RECURSE "${WORK}")
set(PREFIX "${WORK}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

function(expect_hello)
  if(NOT LAST_OUTPUT MATCHES "hello bob")
    message(FATAL_ERROR "consumer did not print 'hello bob': ${LAST_OUTPUT}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install "${BIN}" --prefix "${PREFIX}")

# 1. CMake package, shared and static.
foreach(kind shared static)
  set(b "${WORK}/cmake-${kind}")
  run(${CMAKE_COMMAND} -S "${SRC}/tests/consumer" -B "${b}" "-DCMAKE_PREFIX_PATH=${PREFIX}"
      "-DCONSUMER_LINK=${kind}")
  run(${CMAKE_COMMAND} --build "${b}")
  run("${b}/consumer")
  expect_hello()
endforeach()

# 2. pkg-config: mproc (shared) and mproc-static, the README's two lines.
#    The static program must not need libmproc.so at run time.
find_program(PKG_CONFIG pkg-config REQUIRED)
find_program(CC NAMES cc gcc clang REQUIRED)
find_program(READELF readelf)
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/lib/pkgconfig:${PREFIX}/lib64/pkgconfig")
foreach(pc mproc mproc-static)
  run(${PKG_CONFIG} --cflags --libs ${pc})
  string(STRIP "${LAST_OUTPUT}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(exe "${WORK}/pc-${pc}")
  run(${CC} -o "${exe}" "${SRC}/examples/hello.c" ${flags})
  if(pc STREQUAL "mproc-static")
    set(ENV{LD_LIBRARY_PATH} "")
    if(READELF)
      run(${READELF} -d "${exe}")
      if(LAST_OUTPUT MATCHES "libmproc")
        message(FATAL_ERROR "${exe} (mproc-static) needs libmproc.so:\n${LAST_OUTPUT}")
      endif()
    endif()
  else()
    set(ENV{LD_LIBRARY_PATH} "${PREFIX}/lib:${PREFIX}/lib64")
  endif()
  run("${exe}")
  expect_hello()
endforeach()
message(STATUS "install test passed")
