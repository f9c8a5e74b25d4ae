# ONNX export and import checked outside retrograd (docs/io.md, "ONNX"): onnx.checker
# (python3-onnx) and OpenCV's dnn (python3-opencv) on models retrograd trained and exported;
# retrograd on a model PyTorch (python3-torch) trained and exported. scripts/install-deps.sh
# installs the three; a missing one fails these tests with its name.
if(RETROGRAD_BUILD_TOOLS AND EXISTS /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)
  add_executable(onnx_probe tools/onnx_probe.cpp)
  target_link_libraries(onnx_probe PRIVATE retrograd::retrograd retrograd_warnings)
  set(probe $<TARGET_FILE:onnx_probe>)

  # retrograd -> ONNX -> OpenCV
  set(models ${CMAKE_CURRENT_BINARY_DIR}/onnx_models)
  retrograd_output_test(NAME onnx_models COMMAND ${probe} models .
    EXPECT "mlp: test accuracy" "mlp_softmax: test accuracy" "residual: test accuracy"
      "cnn: test accuracy" "cnn_concat: test accuracy"
    EXPECT_FILES mlp.rg mlp_softmax.rg residual.rg residual.onnx cnn.rg cnn.onnx test_images.npy
      mlp_outputs.npy mlp_softmax_outputs.npy residual_outputs.npy cnn_inputs.npy cnn_outputs.npy
      cnn_concat.rg cnn_concat.onnx cnn_concat_inputs.npy cnn_concat_outputs.npy)
  set_tests_properties(onnx_models PROPERTIES FIXTURES_SETUP onnx_models)
  retrograd_output_test(NAME cli_export_onnx
    COMMAND ${cli} export --model ${models}/mlp.rg --output ${models}/mlp.onnx
    EXPECT "feature_scaling_0 (FeatureScaling)" "batch_norm_2 (BatchNorm)" "dropout_3 (Dropout)"
      "onnx: ${models}/mlp.onnx (7 layers, opset 17)")
  retrograd_output_test(NAME cli_export_onnx_opset13
    COMMAND ${cli} export --model ${models}/mlp_softmax.rg --output ${models}/mlp_softmax.onnx
      --opset 13
    EXPECT "activation_5 (Activation)" "(6 layers, opset 13)")
  set_tests_properties(cli_export_onnx cli_export_onnx_opset13 PROPERTIES
    FIXTURES_REQUIRED onnx_models FIXTURES_SETUP onnx_exported)
  add_test(NAME onnx_opencv
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_opencv.py
      --dir ${models} mlp mlp_softmax residual cnn cnn_concat)
  set_tests_properties(onnx_opencv PROPERTIES FIXTURES_REQUIRED "onnx_models;onnx_exported"
    PASS_REGULAR_EXPRESSION "onnx opencv check passed")
  retrograd_output_test(NAME cli_export_bad_extension FAILS
    COMMAND ${cli} export --model m.rg --output m.txt
    EXPECT "--output: m.txt: the extension names the format: .onnx or .npz")
  retrograd_output_test(NAME cli_export_bad_opset FAILS
    COMMAND ${cli} export --model m.rg --output m.onnx --opset 7
    EXPECT "--opset: Value 7 not in range 13 to 17")

  # PyTorch -> ONNX -> retrograd
  set(torch ${CMAKE_CURRENT_BINARY_DIR}/onnx_torch)
  file(MAKE_DIRECTORY ${torch})
  add_test(NAME onnx_torch_export
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py export
      --dir ${torch} --opset 13)
  set_tests_properties(onnx_torch_export PROPERTIES FIXTURES_SETUP onnx_torch
    PASS_REGULAR_EXPRESSION "torch_branch_cnn: PyTorch")
  retrograd_output_test(NAME cli_import_onnx
    COMMAND ${cli} import --model ${torch}/torch_mlp.onnx --output ${torch}/torch_mlp.rg
      --overwrite
    EXPECT "FeatureScaling" "Dense" "BatchNorm" "model: ${torch}/torch_mlp.rg")
  set_tests_properties(cli_import_onnx PROPERTIES FIXTURES_REQUIRED onnx_torch
    FIXTURES_SETUP onnx_imported)
  # Like train's files: an existing --output is replaced only with --overwrite.
  retrograd_output_test(NAME cli_import_refuses_overwrite FAILS
    COMMAND sh -c "echo precious > m.rg && $0 import --model ${torch}/torch_mlp.onnx \
      --output m.rg || cat m.rg && false" ${cli}
    EXPECT "--output: m.rg already exists; give --overwrite to replace it, or another path"
      "precious")
  set_tests_properties(cli_import_refuses_overwrite PROPERTIES FIXTURES_REQUIRED onnx_torch)
  add_test(NAME onnx_torch_imported
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_mlp.rg --dir ${torch})
  add_test(NAME onnx_torch_direct
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_mlp.onnx --dir ${torch})
  # The residual model (Add, Concat) becomes a functional nn::Model.
  retrograd_output_test(NAME cli_import_onnx_residual
    COMMAND ${cli} import --model ${torch}/torch_residual.onnx
      --output ${torch}/torch_residual.rg --overwrite
    EXPECT "(Input)" "add_" "concat_" "model: ${torch}/torch_residual.rg")
  set_tests_properties(cli_import_onnx_residual PROPERTIES FIXTURES_REQUIRED onnx_torch
    FIXTURES_SETUP onnx_imported)
  add_test(NAME onnx_torch_residual_imported
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_residual.rg --dir ${torch} --name torch_residual)
  add_test(NAME onnx_torch_residual_direct
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_residual.onnx --dir ${torch} --name torch_residual)
  set_tests_properties(onnx_torch_imported onnx_torch_direct onnx_torch_residual_imported
    onnx_torch_residual_direct PROPERTIES
    FIXTURES_REQUIRED "onnx_torch;onnx_imported" PASS_REGULAR_EXPRESSION "onnx torch check passed")
  # The convolution family (Conv, BatchNormalization, MaxPool, a Pad before an AveragePool,
  # GlobalAveragePool, Flatten) and a residual Add of feature maps.
  retrograd_output_test(NAME cli_import_onnx_cnn
    COMMAND ${cli} import --model ${torch}/torch_cnn.onnx --output ${torch}/torch_cnn.rg
      --overwrite
    EXPECT "(None, 1, 28, 28)" "(Conv2D)" "(BatchNorm)" "(MaxPool2D)" "(AvgPool2D)"
      "(GlobalAvgPool2D)" "max_pool2d_3, conv2d_7" "model: ${torch}/torch_cnn.rg")
  set_tests_properties(cli_import_onnx_cnn PROPERTIES FIXTURES_REQUIRED onnx_torch
    FIXTURES_SETUP onnx_imported)
  add_test(NAME onnx_torch_cnn_imported
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_cnn.rg --dir ${torch} --name torch_cnn)
  add_test(NAME onnx_torch_cnn_direct
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_cnn.onnx --dir ${torch} --name torch_cnn)
  set_tests_properties(onnx_torch_cnn_imported onnx_torch_cnn_direct PROPERTIES
    FIXTURES_REQUIRED "onnx_torch;onnx_imported" PASS_REGULAR_EXPRESSION "onnx torch check passed")
  # Two branches joined along the channels (Concat on axis 1 of feature maps).
  retrograd_output_test(NAME cli_import_onnx_branch_cnn
    COMMAND ${cli} import --model ${torch}/torch_branch_cnn.onnx
      --output ${torch}/torch_branch_cnn.rg --overwrite
    EXPECT "(None, 8, 28, 28)" "concat_" "model: ${torch}/torch_branch_cnn.rg")
  set_tests_properties(cli_import_onnx_branch_cnn PROPERTIES FIXTURES_REQUIRED onnx_torch
    FIXTURES_SETUP onnx_imported)
  add_test(NAME onnx_torch_branch_cnn_imported
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_branch_cnn.rg --dir ${torch}
      --name torch_branch_cnn)
  add_test(NAME onnx_torch_branch_cnn_direct
    COMMAND ${RETROGRAD_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_onnx_torch.py compare
      --probe ${probe} --model ${torch}/torch_branch_cnn.onnx --dir ${torch}
      --name torch_branch_cnn)
  set_tests_properties(onnx_torch_branch_cnn_imported onnx_torch_branch_cnn_direct PROPERTIES
    FIXTURES_REQUIRED "onnx_torch;onnx_imported" PASS_REGULAR_EXPRESSION "onnx torch check passed")
  # predict and evaluate take a .rg holding a functional model: the residual MLP (which scales
  # its own pixels) and the residual CNN imported from PyTorch (images [n, 1, 28, 28]).
  retrograd_output_test(NAME cli_evaluate_functional
    COMMAND ${cli} evaluate --model ${models}/residual.rg --data /usr/share/datasets/fashion-mnist
    EXPECT "test set" "accuracy: 7" "/10000)" "confusion matrix")
  set_tests_properties(cli_evaluate_functional PROPERTIES FIXTURES_REQUIRED onnx_models)
  retrograd_output_test(NAME cli_predict_functional_cnn
    COMMAND ${cli} predict --model ${torch}/torch_cnn.rg --data /usr/share/datasets/fashion-mnist
      --output predictions.csv
    EXPECT "predictions: predictions.csv (10000 rows)" EXPECT_FILES predictions.csv)
  set_tests_properties(cli_predict_functional_cnn PROPERTIES
    FIXTURES_REQUIRED "onnx_torch;onnx_imported")
  # predict and evaluate read the .onnx file itself.
  retrograd_output_test(NAME cli_evaluate_onnx
    COMMAND ${cli} evaluate --model ${torch}/torch_mlp.onnx
      --data /usr/share/datasets/fashion-mnist
    EXPECT "test set" "accuracy: " "/10000)" "confusion matrix")
  retrograd_output_test(NAME cli_predict_onnx
    COMMAND ${cli} predict --model ${torch}/torch_mlp.onnx
      --data /usr/share/datasets/fashion-mnist --output predictions.csv
    EXPECT "predictions: predictions.csv (10000 rows)" EXPECT_FILES predictions.csv)
  set_tests_properties(cli_evaluate_onnx cli_predict_onnx PROPERTIES FIXTURES_REQUIRED onnx_torch)
  retrograd_output_test(NAME onnx_torch_finetune COMMAND ${probe} finetune ${torch}/torch_mlp.onnx
    EXPECT "after one epoch: test loss" "fine-tuning lowered the test loss")
  set_tests_properties(onnx_torch_finetune PROPERTIES FIXTURES_REQUIRED onnx_torch)
endif()
