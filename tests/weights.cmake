# retrograd export, and the .npz it writes read with numpy (Debian's python3-numpy): names,
# shapes, values, the forward pass against retrograd predict, and numpy-written files loaded.
if(RETROGRAD_BUILD_TOOLS)
  set(RETROGRAD_PYTHON3 /usr/bin/python3 CACHE FILEPATH
    "Python interpreter with numpy (Debian's python3-numpy) for the .npz test")
  add_executable(weights_probe tools/weights_probe.cpp)
  target_link_libraries(weights_probe PRIVATE retrograd::retrograd retrograd_warnings)
  set(csv_model ${CMAKE_CURRENT_BINARY_DIR}/cli_train_csv/model.rg)

  retrograd_output_test(NAME cli_export
    COMMAND ${cli} export --model ${csv_model} --output weights.npz
    EXPECT "dense_0.W  [2, 16]" "dense_0.b  [16]" "dense_1.W  [16, 3]" "dense_1.b  [3]"
      "weights: weights.npz (4 float32 arrays, 99 values"
    EXPECT_FILES weights.npz)
  set_tests_properties(cli_export PROPERTIES FIXTURES_REQUIRED "cli_data;cli_model_csv"
    FIXTURES_SETUP cli_weights)
  # The output path is checked before the model is read (missing directories are created, as
  # train's are).
  retrograd_output_test(NAME cli_export_bad_output FAILS
    COMMAND sh -c "touch file && $0 export --model nope.rg --output file/w.npz" ${cli}
    EXPECT "--output: file exists and is not a directory")
  retrograd_output_test(NAME cli_export_missing_model FAILS
    COMMAND ${cli} export --model nope.rg --output w.npz
    EXPECT "nope.rg: cannot open: No such file or directory")

  add_test(NAME cli_export_numpy
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_npz.py
      --retrograd $<TARGET_FILE:retrograd_cli> --probe $<TARGET_FILE:weights_probe>
      --model ${csv_model} --npz ${CMAKE_CURRENT_BINARY_DIR}/cli_export/weights.npz
      --data ${csv} --workdir ${CMAKE_CURRENT_BINARY_DIR}/cli_export_numpy)
  set_tests_properties(cli_export_numpy PROPERTIES
    FIXTURES_REQUIRED "cli_data;cli_model_csv;cli_weights"
    PASS_REGULAR_EXPRESSION "npz check passed")
endif()

# A --model cnn network's .npz in PyTorch's same network (Debian's python3-torch): the class of
# each of the 10,000 test images equals retrograd predict's.
if(RETROGRAD_BUILD_TOOLS AND EXISTS /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)
  add_test(NAME cli_export_cnn_torch
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_cnn_npz_torch.sh
      $<TARGET_FILE:retrograd_cli> ${RETROGRAD_PYTHON3} /usr/share/datasets/fashion-mnist
      ${CMAKE_CURRENT_BINARY_DIR}/cli_export_cnn_torch)
  set_tests_properties(cli_export_cnn_torch PROPERTIES
    PASS_REGULAR_EXPRESSION "the same class on 10000 of 10000 test images")
endif()

# The numpy and PyTorch blocks of docs/io.md, run as they stand there on the IDX model (the
# one with a FeatureScaling first layer): each predicts what retrograd predict predicts.
if(RETROGRAD_BUILD_TOOLS)
  foreach(kind numpy torch)
    add_test(NAME docs_io_${kind}
      COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_io_snippets.py
        --kind ${kind} --doc ${PROJECT_SOURCE_DIR}/docs/io.md
        --retrograd $<TARGET_FILE:retrograd_cli> --probe $<TARGET_FILE:weights_probe>
        --model ${CMAKE_CURRENT_BINARY_DIR}/cli_train_idx/model.rg --data ${idx}
        --workdir ${CMAKE_CURRENT_BINARY_DIR}/docs_io_${kind})
    set_tests_properties(docs_io_${kind} PROPERTIES FIXTURES_REQUIRED "cli_data;cli_model_idx"
      SKIP_RETURN_CODE 77)
  endforeach()
endif()

# The table of model-file errors in docs/io.md: each bad file made from the CSV model, each
# message as the code prints it.
if(RETROGRAD_BUILD_TOOLS)
  add_test(NAME docs_io_errors
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_io_errors.py
      --doc ${PROJECT_SOURCE_DIR}/docs/io.md --retrograd $<TARGET_FILE:retrograd_cli>
      --model ${csv_model} --workdir ${CMAKE_CURRENT_BINARY_DIR}/docs_io_errors)
  set_tests_properties(docs_io_errors PROPERTIES FIXTURES_REQUIRED "cli_data;cli_model_csv")
endif()
