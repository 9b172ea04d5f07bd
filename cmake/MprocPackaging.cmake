# SPDX-License-Identifier: MIT
# MprocPackaging.cmake - Debian packages with CPack, one per install
# component (CMakeLists.txt):
#   libmproc0         runtime      libmproc.so.0
#   libmproc-dev      dev          headers, libmproc.a, CMake package, mproc.pc, mproc-static.pc
#   libmproc-mpi0     mpi_runtime  libmproc-mpi.so.0
#   libmproc-mpi-dev  mpi_dev      libmproc-mpi.a, mprocMpiTargets.cmake, mproc-mpi.pc, mproc-mpi-static.pc
# Configure with -DCMAKE_INSTALL_PREFIX=/usr (Debian's multiarch libdir)
# and -DMPROC_WITH_MPI=ON, build, then `cpack -G DEB` in the build
# directory (scripts/package-test.sh does all of it and tests the result).
# The runtime packages' Depends come from dpkg-shlibdeps (the libraries'
# real NEEDED entries: libapr1, libmsgpackc2, libssl3, libopenmpi3 on
# Debian 12); the -dev packages depend on what their CMake package and
# static libraries need.
set(MPROC_SOVERSION_PKG ${MPROC_SOVERSION})

set(CPACK_PACKAGE_NAME mproc)
set(CPACK_PACKAGE_VENDOR "the mproc authors")
set(CPACK_PACKAGE_CONTACT "the mproc authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_RESOURCE_FILE_LICENSE "${CMAKE_CURRENT_SOURCE_DIR}/LICENSE")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/packages")

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev mpi_runtime mpi_dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "the mproc authors")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libmproc-mpi.so needs libmproc.so.0, which is ours: dpkg-shlibdeps finds
# it in the build tree and leaves it out; the component dependency below
# names the package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_CURRENT_BINARY_DIR}")
set(_mproc_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libmproc${MPROC_SOVERSION_PKG})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "Python's multiprocessing in C - shared library
 mproc gives C programs processes (fork, spawn, forkserver), pools, queues,
 pipes, locks, semaphores, conditions, events, barriers, shared memory and
 managers, with timeouts on every blocking call and recovery from dead
 peers. This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libmproc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libmproc${MPROC_SOVERSION_PKG} (= ${_mproc_deb_version}), libapr1-dev, libmsgpack-dev, libssl-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION "Python's multiprocessing in C - development files
 Headers, the static library, the CMake package (find_package(mproc)) and
 the pkg-config files mproc and mproc-static.")

set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_NAME libmproc-mpi${MPROC_SOVERSION_PKG})
set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_DEPENDS "libmproc${MPROC_SOVERSION_PKG} (= ${_mproc_deb_version})")
set(CPACK_COMPONENT_MPI_RUNTIME_DESCRIPTION "mproc pools whose workers are MPI ranks - shared library
 libmproc-mpi runs an mproc pool's workers on the ranks of an Open MPI
 job, so that one program's pool spans several machines.")

set(CPACK_DEBIAN_MPI_DEV_PACKAGE_NAME libmproc-mpi-dev)
set(CPACK_DEBIAN_MPI_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_MPI_DEV_PACKAGE_DEPENDS
  "libmproc-dev (= ${_mproc_deb_version}), libmproc-mpi${MPROC_SOVERSION_PKG} (= ${_mproc_deb_version}), libopenmpi-dev")
set(CPACK_COMPONENT_MPI_DEV_DESCRIPTION "mproc pools whose workers are MPI ranks - development files
 The static library, the CMake targets mproc::mpi and mproc::mpi_static
 (find_package(mproc COMPONENTS mpi)) and the pkg-config files mproc-mpi
 and mproc-mpi-static.")

# Debian wants the license as /usr/share/doc/<package>/copyright.
foreach(c RUNTIME DEV MPI_RUNTIME MPI_DEV)
  string(TOLOWER ${c} _comp)
  install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/LICENSE"
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_DEBIAN_${c}_PACKAGE_NAME}
    RENAME copyright COMPONENT ${_comp})
endforeach()

include(CPack)
