# Every example runs in the test suite, and the test checks what it prints.

# retrograd_output_test(NAME name COMMAND prog args... EXPECT text... [EXPECT_FILES file...])
function(retrograd_output_test)
  cmake_parse_arguments(T "" "NAME" "COMMAND;EXPECT;EXPECT_FILES" ${ARGN})
  # Lists travel to the script joined by <sep>: a ';' would split the test's arguments.
  string(REPLACE ";" "<sep>" expect "${T_EXPECT}")
  string(REPLACE ";" "<sep>" command "${T_COMMAND}")
  string(REPLACE ";" "<sep>" files "${T_EXPECT_FILES}")
  add_test(NAME ${T_NAME} COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${command}" "-DEXPECT=${expect}"
    "-DEXPECT_FILES=${files}" -DWORKDIR=${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/check_output.cmake)
endfunction()

if(RETROGRAD_BUILD_EXAMPLES)
  retrograd_output_test(NAME example_gates COMMAND $<TARGET_FILE:gates> .
    EXPECT
      "q = x + y = 3" "f = q * z = -12"
      "to q: 1 x -4 = -4" "to z: 1 x 3 = 3" "to x: -4 x 1 = -4" "to y: -4 x 1 = -4"
      "df/dx = -4" "df/dy = -4" "df/dz = 3"
      "m = maximum(z, w) = 2" "to z: 2 x 1 = 2" "to w: 2 x 0 = 0"
      "f = 1 / n6 = 0.731059"
      "df/dw0 = -0.196612" "df/dw1 = -0.393224" "df/dw2 = 0.196612"
      "df/dx0 = 0.393224" "df/dx1 = -0.589836"
      "f = multiply_gate(q, z) = -12"
    EXPECT_FILES gates_1.dot gates_2.dot gates_3.dot gates_4.dot)
endif()
