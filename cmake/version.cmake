# The version every binary prints for --version: set here once, becomes the
# CMake project version, and reaches the code through the generated header
# famfs_version.h (target famfs_version). The lab's standalone build reads
# the same file.
set(FAMFS_VERSION 0.1.0)

function(famfs_add_version_target)
  if(TARGET famfs_version)
    return()
  endif()
  set(dir ${CMAKE_BINARY_DIR}/generated/version)
  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/famfs_version.h.in ${dir}/famfs_version.h @ONLY)
  add_library(famfs_version INTERFACE)
  target_include_directories(famfs_version INTERFACE ${dir})
endfunction()
