# Fails when the committed docs/ops.md is not what the op table generates.
execute_process(COMMAND ${GENERATOR} ${TEMPLATE} ${GENERATED} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "retrograd_ops_doc failed (${status})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${GENERATED} ${COMMITTED}
  RESULT_VARIABLE differs)
if(differs)
  message(FATAL_ERROR "docs/ops.md is stale: it differs from what the op table generates "
    "(${GENERATED}). Run: cmake --build build --target ops_doc")
endif()
