# Data-parallel training over MPI (RETROGRAD_MPI=ON): every test runs under mpirun and carries
# the label "mpi" (scripts/test.sh --mpi builds and runs only these).

# Root in CI containers: Open MPI refuses root without these, and containers often forbid the
# cross-process memory reads of its single-copy mechanism. More processes than cores is fine.
set(mpi_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  OPENBLAS_NUM_THREADS=1)
set(mpirun ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG})

function(retrograd_mpi_test name processes)
  set_tests_properties(${name} PROPERTIES LABELS mpi ENVIRONMENT "${mpi_env}"
    PROCESSORS ${processes} TIMEOUT 300)
endfunction()

file(GLOB distributed_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_*.cpp)
add_executable(test_distributed ${distributed_tests})
target_link_libraries(test_distributed PRIVATE retrograd::retrograd Catch2::Catch2WithMain
  retrograd_warnings)
foreach(processes 2 3)
  add_test(NAME distributed_unit_np${processes}
    COMMAND ${mpirun} ${processes} ${MPIEXEC_PREFLAGS} $<TARGET_FILE:test_distributed>)
  retrograd_mpi_test(distributed_unit_np${processes} ${processes})
endforeach()

# Config (b) on 2001 Fashion-MNIST images, 2 epochs = 64 steps (the last batch of each epoch
# splits 17 samples as 8 + 9): the 2-process weights against the 1-process weights, a killed
# run resumed, and a process that dies.
add_executable(dp_check distributed/dp_check.cpp)
target_link_libraries(dp_check PRIVATE retrograd::retrograd retrograd_warnings)
set(check ${CMAKE_CURRENT_SOURCE_DIR}/distributed/check.sh)
foreach(scenario matches_one_process resume_after_kill process_dies)
  add_test(NAME distributed_${scenario}
    COMMAND bash ${check} ${scenario} "${MPIEXEC_EXECUTABLE}" $<TARGET_FILE:dp_check>
      ${CMAKE_CURRENT_BINARY_DIR}/distributed_${scenario})
  retrograd_mpi_test(distributed_${scenario} 2)
endforeach()

if(RETROGRAD_BUILD_TOOLS)
  set(cli $<TARGET_FILE:retrograd_cli>)
  set(fixtures ${CMAKE_CURRENT_BINARY_DIR}/cli_fixtures)
  # `mpirun -np 2 retrograd train`: one progress display, one model, process 0 writing. The
  # checkpoints of an earlier run (the resumed one's) go first.
  retrograd_output_test(NAME cli_train_mpi
    COMMAND bash -c "rm -rf checkpoints && exec \"$0\" \"$@\"" ${mpirun} 2 ${cli} train
      --data ${fixtures}/idx --layers 36-16-10 --optimizer adam
      --lr 0.01 --epochs 4 --batch-size 16 --seed 3 --verbose 2 --checkpoint-dir checkpoints
      --save model.rg --history history.csv
    EXPECT "data parallel: 2 processes, each on 1/2 of every batch of 16" "Epoch 4/4"
      "final: loss" "model: model.rg"
    EXPECT_FILES model.rg history.csv checkpoints/checkpoint-68.rg)
  retrograd_output_test(NAME cli_resume_mpi
    COMMAND ${mpirun} 2 ${cli} train --resume ${CMAKE_CURRENT_BINARY_DIR}/cli_train_mpi/checkpoints
      --epochs 6 --verbose 2
    EXPECT "resuming from" "Epoch 6/6" "/cli_train_mpi/model.rg")
  # An error ends every process (MPI_Abort) with the message of the first to fail, which says
  # which process it is (the other may be ended before it prints its own).
  retrograd_output_test(NAME cli_train_mpi_bad_data FAILS
    COMMAND ${mpirun} 2 ${cli} train --data no/such/dir
    EXPECT "of 2): --data: no/such/dir does not exist")
  retrograd_output_test(NAME cli_evaluate_mpi FAILS
    COMMAND ${mpirun} 2 ${cli} evaluate --model model.rg --data ${fixtures}/idx
    EXPECT "only 'retrograd train' runs on several processes; run 'retrograd evaluate' without")
  set_tests_properties(cli_train_mpi PROPERTIES FIXTURES_REQUIRED cli_data
    FIXTURES_SETUP cli_model_mpi)
  set_tests_properties(cli_resume_mpi PROPERTIES FIXTURES_REQUIRED "cli_data;cli_model_mpi")
  foreach(name cli_train_mpi cli_resume_mpi cli_train_mpi_bad_data cli_evaluate_mpi)
    retrograd_mpi_test(${name} 2)
  endforeach()
endif()

if(NOT RETROGRAD_SANITIZE)
  # find_package(retrograd) in an outside project finds MPI and the distributed API.
  set(prefix ${CMAKE_CURRENT_BINARY_DIR}/install_test_mpi/prefix)
  set(consumer_build ${CMAKE_CURRENT_BINARY_DIR}/install_test_mpi/consumer)
  add_test(NAME install_and_consume_distributed
    COMMAND ${CMAKE_COMMAND} -E env bash -c "\
      rm -rf '${prefix}' '${consumer_build}' && \
      '${CMAKE_COMMAND}' --install '${PROJECT_BINARY_DIR}' --prefix '${prefix}' >/dev/null && \
      '${CMAKE_COMMAND}' -S '${CMAKE_CURRENT_SOURCE_DIR}/consumer_distributed' \
        -B '${consumer_build}' -DCMAKE_PREFIX_PATH='${prefix}' -DCMAKE_BUILD_TYPE=Release \
        >/dev/null && \
      '${CMAKE_COMMAND}' --build '${consumer_build}' >/dev/null && \
      ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 '${consumer_build}/consumer'")
  retrograd_mpi_test(install_and_consume_distributed 2)
  set_tests_properties(install_and_consume_distributed PROPERTIES
    PASS_REGULAR_EXPRESSION "2 processes: every weight equals rank 0's")
endif()
