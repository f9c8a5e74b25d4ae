# Every example runs in the test suite, and the test checks what it prints.

# retrograd_output_test(NAME name [FAILS] COMMAND prog args... EXPECT text... [EXPECT_FILES f...])
function(retrograd_output_test)
  cmake_parse_arguments(T "FAILS" "NAME" "COMMAND;EXPECT;EXPECT_FILES" ${ARGN})
  # Lists travel to the script joined by <sep>: a ';' would split the test's arguments.
  string(REPLACE ";" "<sep>" expect "${T_EXPECT}")
  string(REPLACE ";" "<sep>" command "${T_COMMAND}")
  string(REPLACE ";" "<sep>" files "${T_EXPECT_FILES}")
  add_test(NAME ${T_NAME} COMMAND ${CMAKE_COMMAND} "-DCOMMAND=${command}" "-DEXPECT=${expect}"
    "-DEXPECT_FILES=${files}" -DEXPECT_FAILURE=${T_FAILS} -DWORKDIR=${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}
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

if(RETROGRAD_BUILD_TOOLS)
  set(cli $<TARGET_FILE:retrograd_cli>)
  retrograd_output_test(NAME cli_trace COMMAND ${cli} trace "(x + y) * z" x=-2 y=5 z=-4 --dot graph.dot
    EXPECT "f = n1 * z = -12" "to n1: 1 x -4 = -4" "to z: 1 x 3 = 3" "to x: -4 x 1 = -4"
      "df/dx = -4" "df/dy = -4" "df/dz = 3" "graph: graph.dot"
    EXPECT_FILES graph.dot)
  retrograd_output_test(NAME cli_trace_functions
    COMMAND ${cli} trace "max(a, b) * sigmoid(c) - pow(a, 2) / 4 + relu(-b) + min(a, 1)" a=3 b=-1 c=0
    EXPECT "df/da = -1" "df/db = -1" "df/dc = 0.75")
  retrograd_output_test(NAME cli_trace_syntax_error FAILS COMMAND ${cli} trace "(x + y * z" x=1 y=2 z=3
    EXPECT "syntax error at column 11: expected ')'" "(x + y * z\n            ^")
  retrograd_output_test(NAME cli_trace_unknown_variable FAILS COMMAND ${cli} trace "x + w" x=1
    EXPECT "column 5: unknown variable 'w'")
  retrograd_output_test(NAME cli_trace_bad_value FAILS COMMAND ${cli} trace "x" x=abc
    EXPECT "value of x is not a number: 'abc'")
  retrograd_output_test(NAME cli_gradcheck COMMAND ${cli} gradcheck
    EXPECT "matmul " "softmax " "0 failed")
  retrograd_output_test(NAME cli_bad_flag FAILS COMMAND ${cli} trace x x=1 --no-such-flag
    EXPECT "not expected: --no-such-flag" "Usage:")
  retrograd_output_test(NAME cli_no_command FAILS COMMAND ${cli} EXPECT "Usage:" "trace" "gradcheck")
endif()
