# One library per layer (core <- data, core <- nn), all exported as
# retrograd::retrograd. The graph core never links nn; nn never links back.

# Compile options for our own sources. xtensor headers trigger false GCC 12
# warnings (-Warray-bounds, -Wmaybe-uninitialized), so no -Werror here.
add_library(retrograd_warnings INTERFACE)
target_compile_options(retrograd_warnings INTERFACE -Wall -Wextra -Wno-array-bounds
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)

function(retrograd_layer name)
  cmake_parse_arguments(L "" "DIR" "SUBDIRS;LINKS;PRIVATE_LINKS" ${ARGN})
  set(patterns ${PROJECT_SOURCE_DIR}/src/${L_DIR}*.cpp)
  foreach(subdir ${L_SUBDIRS})
    list(APPEND patterns ${PROJECT_SOURCE_DIR}/src/${L_DIR}${subdir}*.cpp)
  endforeach()
  file(GLOB sources CONFIGURE_DEPENDS ${patterns})
  if(NOT sources)
    # A layer not written yet: an empty interface keeps the umbrella target valid.
    add_library(${name} INTERFACE)
    add_library(retrograd::${name} ALIAS ${name})
    target_link_libraries(${name} INTERFACE ${L_LINKS})
    return()
  endif()
  add_library(${name} ${sources})
  add_library(retrograd::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${L_LINKS})
  target_link_libraries(${name} PRIVATE $<BUILD_INTERFACE:retrograd_warnings> ${L_PRIVATE_LINKS})
  # Nothing here reads errno or enables floating-point traps. Without these two, GCC keeps
  # loops that call std::sqrt (errno) or compare floats (a compare might trap) scalar; with
  # them it vectorizes them. Neither changes a computed value.
  target_compile_options(${name} PRIVATE -fno-math-errno -fno-trapping-math)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

retrograd_layer(retrograd_core DIR "" SUBDIRS "ops/" LINKS xtensor xtensor::use_xsimd BLAS::BLAS)
# XTENSOR_USE_XSIMD changes the container allocator: it must be PUBLIC.
target_compile_definitions(retrograd_core PUBLIC XTENSOR_USE_XSIMD
  $<$<CONFIG:Debug>:XTENSOR_ENABLE_ASSERT>)
if(RETROGRAD_ONEDNN)
  # Only src/blas.cpp calls oneDNN (and omp_set_num_threads): every other object keeps the
  # flags of the OpenBLAS build, so ccache serves it from that build.
  set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/blas.cpp APPEND PROPERTY
    COMPILE_DEFINITIONS RETROGRAD_ONEDNN)
  # A source's include directories are passed as given: /usr/include (Debian's) would break
  # the standard headers' #include_next, so only another directory is added.
  if(NOT RETROGRAD_DNNL_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/blas.cpp APPEND PROPERTY
      INCLUDE_DIRECTORIES ${RETROGRAD_DNNL_INCLUDE_DIR})
  endif()
  # OpenMP's library only: its target would add -fopenmp to every object of the core.
  target_link_libraries(retrograd_core PRIVATE ${RETROGRAD_DNNL_LIBRARY} ${OpenMP_CXX_LIBRARIES})
endif()
# xsimd picks its instruction set at compile time and the allocator alignment
# follows it, so users of the library must compile with the same -march.
if(RETROGRAD_MARCH)
  target_compile_options(retrograd_core PUBLIC -march=${RETROGRAD_MARCH})
endif()
include(${PROJECT_SOURCE_DIR}/cmake/HtmlAssets.cmake)
retrograd_layer(retrograd_data DIR "data/" LINKS retrograd_core PRIVATE_LINKS ZLIB::ZLIB)
retrograd_layer(retrograd_nn DIR "nn/" LINKS retrograd_core)
retrograd_layer(retrograd_io DIR "io/" LINKS retrograd_nn retrograd_data
  PRIVATE_LINKS PkgConfig::LIBZIP)

add_library(retrograd INTERFACE)
add_library(retrograd::retrograd ALIAS retrograd)
target_link_libraries(retrograd INTERFACE retrograd_core retrograd_data retrograd_nn retrograd_io)

set(RETROGRAD_EXPORTED retrograd retrograd_core retrograd_data retrograd_nn retrograd_io)
if(RETROGRAD_MPI)
  # Optional: data-parallel training over MPI (nn <- distributed). Without it the headers of
  # include/retrograd/distributed are not installed.
  retrograd_layer(retrograd_distributed DIR "distributed/" LINKS retrograd_nn MPI::MPI_CXX)
  target_link_libraries(retrograd INTERFACE retrograd_distributed)
  list(APPEND RETROGRAD_EXPORTED retrograd_distributed)
  set(exclude_distributed)
else()
  set(exclude_distributed PATTERN distributed EXCLUDE PATTERN distributed.hpp EXCLUDE)
endif()
install(TARGETS ${RETROGRAD_EXPORTED} EXPORT retrogradTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/retrograd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  ${exclude_distributed})
install(EXPORT retrogradTargets NAMESPACE retrograd::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/retrograd)

include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/retrogradConfig.cmake.in
  ${PROJECT_BINARY_DIR}/retrogradConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/retrograd)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/retrogradConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/retrogradConfig.cmake
  ${PROJECT_BINARY_DIR}/retrogradConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/retrograd)
