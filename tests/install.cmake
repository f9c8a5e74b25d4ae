# The installed package works for an outside project: find_package(retrograd),
# target_link_libraries(app PRIVATE retrograd::retrograd), #include <retrograd/retrograd.hpp>.
set(install_prefix ${CMAKE_CURRENT_BINARY_DIR}/install_test/prefix)
set(consumer_build ${CMAKE_CURRENT_BINARY_DIR}/install_test/consumer)
add_test(NAME install_and_consume
  COMMAND ${CMAKE_COMMAND} -E env bash -c "\
    rm -rf '${install_prefix}' '${consumer_build}' && \
    '${CMAKE_COMMAND}' --install '${PROJECT_BINARY_DIR}' --prefix '${install_prefix}' >/dev/null && \
    '${CMAKE_COMMAND}' -S '${CMAKE_CURRENT_SOURCE_DIR}/consumer' -B '${consumer_build}' \
      -DCMAKE_PREFIX_PATH='${install_prefix}' -DCMAKE_BUILD_TYPE=Release >/dev/null && \
    '${CMAKE_COMMAND}' --build '${consumer_build}' >/dev/null && \
    '${consumer_build}/consumer'")
set_tests_properties(install_and_consume PROPERTIES PASS_REGULAR_EXPRESSION "df/dx = -4 df/dy = -4 df/dz = 3")
