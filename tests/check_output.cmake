# Runs a program and fails unless it exits 0, its output contains every expected text and it
# wrote every expected file. Lists are joined by <sep>:
#   cmake -DCOMMAND="prog<sep>arg" -DEXPECT="text1<sep>text2" [-DEXPECT_FILES=...] [-DWORKDIR=dir]
#         -P check_output.cmake
foreach(list COMMAND EXPECT EXPECT_FILES)
  string(REPLACE "<sep>" ";" ${list} "${${list}}")
endforeach()
if(WORKDIR)
  file(MAKE_DIRECTORY ${WORKDIR})
else()
  set(WORKDIR .)
endif()
execute_process(COMMAND ${COMMAND} WORKING_DIRECTORY ${WORKDIR}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "${COMMAND} exited with ${code}\n${out}\n${err}")
endif()
foreach(expected IN LISTS EXPECT)
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "output of ${COMMAND} lacks \"${expected}\"\n--- output ---\n${out}\n${err}")
  endif()
endforeach()
foreach(file IN LISTS EXPECT_FILES)
  if(NOT EXISTS ${WORKDIR}/${file})
    message(FATAL_ERROR "${COMMAND} did not write ${file}")
  endif()
endforeach()
message(STATUS "${out}")
