# Runs a program and fails unless it exits 0, its output contains every expected text and it
# wrote every expected file (with -DEXPECT_FAILURE=ON: exits non-zero instead, and the
# expected texts are looked for in its error output too). Lists are joined by <sep>:
#   cmake -DCOMMAND="prog<sep>arg" -DEXPECT="text1<sep>text2" [-DEXPECT_FILES=...] [-DWORKDIR=dir]
#         -P check_output.cmake
foreach(list COMMAND EXPECT EXPECT_FILES)
  string(REPLACE "<sep>" ";" ${list} "${${list}}")
endforeach()
if(WORKDIR)
  # Each run starts in an empty directory: what an earlier run left (train refuses to replace
  # its model.rg without --overwrite) must not change the outcome.
  file(REMOVE_RECURSE ${WORKDIR})
  file(MAKE_DIRECTORY ${WORKDIR})
else()
  set(WORKDIR .)
endif()
execute_process(COMMAND ${COMMAND} WORKING_DIRECTORY ${WORKDIR}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
if(EXPECT_FAILURE)
  if(code EQUAL 0)
    message(FATAL_ERROR "${COMMAND} succeeded but should have failed\n${out}\n${err}")
  endif()
  string(APPEND out "${err}")
elseif(NOT code EQUAL 0)
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
