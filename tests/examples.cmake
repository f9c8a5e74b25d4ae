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
    EXPECT_FILES gates_1.dot gates_2.dot gates_3.dot gates_4.dot
      gates_1.html gates_2.html gates_3.html gates_4.html)
  # Issue 13: a tensor graph stepped through; dC/dz_i = (a_i - t_i) sigmoid'(z_i) / 4.
  retrograd_output_test(NAME example_dense_neuron COMMAND $<TARGET_FILE:dense_neuron> .
    EXPECT "X = [[0, 0], [0, 1], [1, 0], [1, 1]] (4x2)"
      "a = sigmoid(z) = [[0.562177], [0.320821], [0.679179], [0.437823]] (4x1)"
      "sum at e: [[0.0702721], [-0.0848973], [-0.0401027], [-0.0702721]] (4x1) + "
      "to b: upstream x 1, summed to [1] = [-0.0544737] (1)"
      "to W: X^T . upstream = [[-0.052069], [-0.0715901]] (2x1)"
      "dC/dW = [[-0.052069], [-0.0715901]] (2x1)" "page: ./dense_neuron.html"
    EXPECT_FILES dense_neuron.html)
  # Issue 20: the op examples; each model is also gradchecked in tests/test_op_examples.cpp.
  retrograd_output_test(NAME example_self_attention COMMAND $<TARGET_FILE:self_attention>
    EXPECT "row sums: [1, 1, 1, 1, 1, 1, 1, 1]" "output shape: [2, 4, 2]"
      "attention weights, sequence 0 (row i: what token i reads):"
      "[[0.183834, 0.139163, 0.484416, 0.192587], [0.235587, 0.298796, 0.0213609, 0.444256], [0.273069, 0.351677, 0.11935, 0.255905], [0.103896, 0.0610823, 0.726032, 0.108989]] (4x4)"
      "loss = 3.063930" "gradient check of x, Wq, Wk, Wv: passed")
  retrograd_output_test(NAME example_embedding_bag COMMAND $<TARGET_FILE:embedding_bag>
    EXPECT "step   0  loss 0.6928  accuracy 0.578" "step 300  loss 0.0021  accuracy 1.000"
      "token positivity (class 1 - class 0 score): +27.98 +28.25 +28.63 +27.74 -29.19 -27.36 -27.56 -28.28"
      "final accuracy 1.000")
  retrograd_output_test(NAME example_masked_mse COMMAND $<TARGET_FILE:masked_mse>
    EXPECT "masked MSE = 1.3125" "dloss/dprediction = [-0.25, 0, 0.5, 0, 0, -1]"
      "gradient check: passed")
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
  string(REPEAT "(" 2000 open_parens)
  retrograd_output_test(NAME cli_trace_too_deep FAILS COMMAND ${cli} trace "${open_parens}x" x=1
    EXPECT "nested deeper than 500 levels")
  retrograd_output_test(NAME cli_trace_bad_value FAILS COMMAND ${cli} trace "x" x=abc
    EXPECT "value of x is not a number: 'abc'")
  retrograd_output_test(NAME cli_gradcheck COMMAND ${cli} gradcheck
    EXPECT "matmul " "softmax " "0 failed")
  # Issue 13: an expression may begin with '-' (no "--" needed), x^2 is pow; sqrt is an op.
  retrograd_output_test(NAME cli_trace_leading_minus COMMAND ${cli} trace "-x * y" x=1 y=2
    EXPECT "n1 = -x = -1" "f = n1 * y = -2" "df/dx = -2" "df/dy = -1")
  retrograd_output_test(NAME cli_trace_power_sqrt COMMAND ${cli} trace "x^2 * sqrt(y) - -x" x=3 y=4
    EXPECT "n1 = x^2 = 9" "n2 = sqrt(y) = 2"
      "to x: 2 x 6 = 12    sum at x: 1 + 12 = 13 (path 2 of 2)"
      "df/dx = 13 (sum of 2 paths)" "df/dy = 2.25")
  retrograd_output_test(NAME cli_trace_sqrt_negative FAILS COMMAND ${cli} trace "1 + sqrt(x)" x=-1
    EXPECT "trace: sqrt: negative input (element 0 is -1")
  retrograd_output_test(NAME cli_trace_html
    COMMAND ${cli} trace "(x + y) * z" x=-2 y=5 z=-4 --html page.html --dot graph.svg
    EXPECT "df/dz = 3" "graph: graph.svg" "page: page.html" EXPECT_FILES page.html graph.svg)
  # Issue 25: --dot renders by extension through Graphviz, or refuses what it cannot write.
  retrograd_output_test(NAME cli_trace_dot_png COMMAND ${cli} trace "x * y" x=2 y=3 --dot g.png
    EXPECT "graph: g.png" EXPECT_FILES g.png)
  retrograd_output_test(NAME cli_trace_dot_unknown_extension FAILS
    COMMAND ${cli} trace "x * y" x=2 y=3 --dot g.nosuchformat
    EXPECT "Graphviz cannot write .nosuchformat files")
  retrograd_output_test(NAME cli_trace_dot_no_extension FAILS
    COMMAND ${cli} trace "x * y" x=2 y=3 --dot graph EXPECT "give the file an extension")
  retrograd_output_test(NAME cli_gradcheck_expression
    COMMAND ${cli} gradcheck "-x^2 * y + max(x, y)" x=3 y=-1
    EXPECT "f = -x^2 * y + max(x, y) = 12" "2 variables checked, 0 failed")
  # d EXPR / dx built as a graph (create_graph) and stepped through: its backward gives 6x
  retrograd_output_test(NAME cli_trace_derivative
    COMMAND ${cli} trace --derivative x "x^3 * y" x=2 y=1 --html derivative.html
    EXPECT "df/dx = " "ddf/dx/dx = 12" "ddf/dx/dy = 12" "page: derivative.html"
    EXPECT_FILES derivative.html)
  retrograd_output_test(NAME cli_trace_derivative_unknown FAILS
    COMMAND ${cli} trace --derivative z "x^3" x=2
    EXPECT "trace: --derivative z: the expression has no variable z")
  # second derivatives: each Hessian row from backward through the gradient's graph
  retrograd_output_test(NAME cli_gradcheck_order2
    COMMAND ${cli} gradcheck --order 2 "x^3 * y + sigmoid(x * y) + exp(y) / x" x=0.7 y=-1.3
    EXPECT "d(df/dx)" "d(df/dy)" "2 Hessian rows checked, 0 failed")
  # relu at its kink: backward says 0, central differences 0.5; the one-sided slopes (0 and 1)
  # say the point is not differentiable, which is no wrong gradient.
  retrograd_output_test(NAME cli_gradcheck_expression_kink
    COMMAND ${cli} gradcheck "relu(x)" x=0
    EXPECT "kink" "x: not differentiable here (slope 0 from the left, 1 from the right; backward gives 0"
      "1 variable checked, 0 failed, 1 at a point where the expression is not differentiable")
  retrograd_output_test(NAME cli_bad_flag FAILS COMMAND ${cli} trace x x=1 --no-such-flag
    EXPECT "retrograd: unknown flag --no-such-flag for retrograd trace (retrograd trace --help lists its flags)")
  retrograd_output_test(NAME cli_no_command FAILS COMMAND ${cli} EXPECT "Usage:" "trace" "gradcheck")
  # Issue 25: a mistyped command or flag gets the nearest names; --version gives CMake's.
  retrograd_output_test(NAME cli_unknown_command FAILS COMMAND ${cli} trian --epochs 3
    EXPECT "retrograd: unknown command 'trian'; did you mean 'train'? (commands: train, evaluate, predict, export, import, trace, gradcheck; retrograd --help)")
  retrograd_output_test(NAME cli_version COMMAND ${cli} --version
    EXPECT "retrograd ${PROJECT_VERSION}\n")
endif()

# The course examples (issue 5). Each example also exits non-zero when its lesson fails to show.
if(RETROGRAD_BUILD_EXAMPLES)
  retrograd_output_test(NAME example_second_derivatives COMMAND $<TARGET_FILE:second_derivatives>
    EXPECT "ddf/dw0/dw0 = -0.0908577" "d2f/dw0^2 = x0^2 s(1-s)(1-2s) = -0.090858"
           "Newton: 6 steps to 1e-8. Gradient descent (lr 0.001): not there after 20000 steps"
           "step 300: loss 0.005023, penalty 0.001533")
  retrograd_output_test(NAME example_linear_neuron COMMAND $<TARGET_FILE:linear_neuron>
    EXPECT "bill t = 8.50€" "residual t − y = 3.50€" "dE/dw = (-17.50, -7.00, -10.50)"
      "Δw = (+0.50, +0.20, +0.30)" "new prices (1.00, 0.70, 0.80), new error t − y = -0.30€"
      "steps diverge above η = 2/21.288 = 0.0940"
      "converged in 68 epochs: café 0.507, zumo 1.490, tostada 1.001"
      "diverged: E > 1e6 after 34 epochs"
      "correlation zumo/tostada 0.974" "smallest 0.0471: ratio 534 (independent orders: 17)"
      "converged in 1726 epochs (independent orders: 68), 25x slower")
  retrograd_output_test(NAME example_perceptron COMMAND $<TARGET_FILE:perceptron>
    EXPECT "R = 1.6418, γ = 0.0510, bound R²/γ² = 1037.6 mistakes"
      "converged after 12 epochs with 53 mistakes in total (bound 1037.6)"
      "epoch 100: 4 mistakes" "epochs without a mistake: 0 of 100")
  retrograd_output_test(NAME example_xor COMMAND $<TARGET_FILE:xor>
    EXPECT "   0  0 | 0.000045 1.000000 | 0.000045    0 ok"
      "   0  1 | 0.999955 0.999955 | 0.999955    1 ok"
      "   1  0 | 0.999955 0.999955 | 0.999955    1 ok"
      "   1  1 | 1.000000 0.000045 | 0.000045    0 ok"
      "hand-set: 4 of 4 right" "epoch 3000  cost 0.000" "trained: 4 of 4 right")
  retrograd_output_test(NAME example_nn_xor COMMAND $<TARGET_FILE:nn_xor>
    EXPECT "fit: loss 0.0" "accuracy 1" "loop: loss 0.0")
  # 200 epochs instead of 1000: the relu net is at 99% by then, the sigmoid net still at 50%.
  retrograd_output_test(NAME example_vanishing_gradients
    COMMAND $<TARGET_FILE:vanishing_gradients> --epochs 200
    EXPECT "SGD η = 0.01, batch 20, 200 epochs" "relu    epoch  200"
      "mean gradient norm per layer, epoch 1" "first layer / output layer, epoch 1: sigmoid "
      "sigmoid: train accuracy 0.5" "relu:    train accuracy 0.9"
    EXPECT_FILES vanishing_gradients_layers.csv vanishing_gradients_loss.csv)
  retrograd_output_test(NAME example_regression COMMAND $<TARGET_FILE:regression>
    EXPECT "dense_0 (Dense)             (None, 4)" "dense_1 (Dense)             (None, 5)"
      "dense_2 (Dense)             (None, 1)" "epoch   1  loss " "epoch 100  loss 0.0"
      "(predicting the mean costs 0.4906)")
  retrograd_output_test(NAME example_classification COMMAND $<TARGET_FILE:classification>
    EXPECT "dense_2 (Dense)             (None, 3)" "epoch 100  loss 0.0" "accuracy 1.0000")
  retrograd_output_test(NAME example_custom_loop COMMAND $<TARGET_FILE:custom_loop>
    EXPECT "after a second one: " "(accumulated)" "after zero_grad: has a gradient? no"
      "epoch 30  loss 0.0" "test accuracy ")
  # Issue 21: the forward as sums of products, both gradients as convolutions.
  retrograd_output_test(NAME example_convolution COMMAND $<TARGET_FILE:convolution>
    EXPECT "y[0][0] = 1*2 + 2*0 + 3*1 + 0*0 + 1*1 + 2*2 + 3*1 + 0*0 + 1*2 = 15"
      "y[1][0] = 0*2 + 1*0 + 2*1 + 3*0 + 0*1 + 1*2 + 2*1 + 3*0 + 0*2 = 6"
      "dL/dW[0][0] = 1*1 + 2*-1 + 0*2 + 1*0.5 = -0.5"
      "both gradients are convolutions: yes")
  # Issue 23: a functional model of two inputs and two outputs, one loss and weight each.
  retrograd_output_test(NAME example_two_input COMMAND $<TARGET_FILE:two_input>
    EXPECT "input_0 (Input)" "input_1 (Input)" "concat_" "dense_0, dense_1"
      "Outputs (side by side): dense_3, dense_4"
      "loss: per_output(categorical_cross_entropy(from_logits) * 1, mse * 0.5)" "epoch 60  loss "
      "test: class accuracy 0.9")
  retrograd_output_test(NAME example_training_aids COMMAND $<TARGET_FILE:training_aids>
    EXPECT "zeros           loss 0.693" "test accuracy 0.500" "Adam(0.01)  " "L2 1e-2 "
      "dropout 0.5 " "with BatchNorm ")
  # A short run: 10,000 Fashion-MNIST images for 3 epochs, or a synthetic IDX set when Debian's
  # dataset-fashion-mnist is not installed.
  if(EXISTS /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)
    set(mnist_args --train 10000 --test 2000 --epochs 3 --min-accuracy 0.65)
    set(mnist_expect "data: /usr/share/datasets/fashion-mnist, 10000 training and 2000 test")
  else()
    set(mnist_args --synthetic --epochs 3 --min-accuracy 0.9)
    set(mnist_expect "data: synthetic-idx, 3000 training and 500 test")
  endif()
  # Issue 23: the residual CNN and the plain one on a small subset for one epoch (the full
  # comparison is `residual_cnn` with no flags: 60,000 images, 5 epochs).
  if(EXISTS /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)
    retrograd_output_test(NAME example_residual_cnn
      COMMAND $<TARGET_FILE:residual_cnn> --train 2000 --test 500 --epochs 1 --min-accuracy 0.5
      EXPECT "data: /usr/share/datasets/fashion-mnist, 2000 training and 500 test images"
        "add_" "(None, 16, 14, 14)" "plain    epoch 1  loss " "residual epoch 1  loss "
        "plain CNN: test accuracy 0." "residual CNN: test accuracy 0.")
  endif()
  retrograd_output_test(NAME example_mnist_784_15_10
    COMMAND $<TARGET_FILE:mnist_784_15_10> ${mnist_args}
    EXPECT "${mnist_expect}" "784-15-10 sigmoid, quadratic cost, mini-batch SGD: m = 10, η = 3"
      "epoch  1  cost 0." "epoch  3  cost 0." "test accuracy "
      "hidden weights: mnist_784_15_10_hidden.png"
    EXPECT_FILES mnist_784_15_10_hidden.png)
endif()

# Every output the tutorial shows is what this build prints (docs/tutorial.md): one test per page
# of docs/tutorial/ that runs examples, running them as docs/generate.sh does and failing with a
# diff when the page differs. The pages are generated by a Release build (an optimized build
# fuses multiply-adds that a Debug build does not, which moves the last printed digits of a
# training run), so the sanitizer's Debug build leaves these out; it runs each example in the
# example_* tests above.
if(RETROGRAD_BUILD_EXAMPLES AND CMAKE_BUILD_TYPE STREQUAL "Release")
  file(GLOB tutorial_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/tutorial/*.md)
  foreach(page ${tutorial_pages})
    # A run marker added to a page adds its example to the test at the next build.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${page})
    file(STRINGS ${page} markers REGEX "^<!-- run: [A-Za-z0-9_]+.* -->$")
    if(NOT markers)
      continue()
    endif()
    set(page_examples)
    foreach(marker ${markers})
      string(REGEX REPLACE "^<!-- run: ([A-Za-z0-9_]+).*" "\\1" example "${marker}")
      list(APPEND page_examples ${example})
    endforeach()
    get_filename_component(page_name ${page} NAME_WE)
    add_test(NAME tutorial_${page_name}
      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_tutorial_page.sh ${page}
        $<TARGET_FILE_DIR:gates> ${CMAKE_CURRENT_BINARY_DIR}/tutorial_${page_name})
    set_tests_properties(tutorial_${page_name} PROPERTIES LABELS tutorial
      SKIP_RETURN_CODE 77)
    # mnist_784_15_10 reads Debian's dataset-fashion-mnist (scripts/install-deps.sh installs it).
    if("mnist_784_15_10" IN_LIST page_examples AND
        NOT EXISTS /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)
      message(STATUS "tutorial_${page_name} disabled: dataset-fashion-mnist is not installed")
      set_tests_properties(tutorial_${page_name} PROPERTIES DISABLED ON)
    endif()
  endforeach()
endif()

# train -> evaluate -> predict on small generated sets (an IDX directory and a CSV file): no
# real data needed. Fixtures order the tests; each still runs in its own work directory.
if(RETROGRAD_BUILD_TOOLS)
  add_executable(make_cli_fixtures tools/make_cli_fixtures.cpp)
  target_link_libraries(make_cli_fixtures PRIVATE retrograd::retrograd retrograd_warnings)
  set(fixtures ${CMAKE_CURRENT_BINARY_DIR}/cli_fixtures)
  set(idx ${fixtures}/idx)
  set(csv ${fixtures}/blobs.csv)
  retrograd_output_test(NAME cli_fixtures COMMAND $<TARGET_FILE:make_cli_fixtures> ${fixtures}
    EXPECT "fixtures:")
  set_tests_properties(cli_fixtures PROPERTIES FIXTURES_SETUP cli_data)

  retrograd_output_test(NAME cli_train_idx
    COMMAND ${cli} train --data ${idx} --layers 36-16-10 --optimizer adam --lr 0.01 --epochs 4
      --batch-size 16 --seed 3 --save model.rg --history history.csv --plot history.svg --threads 2
    EXPECT "data: IDX directory" "300 train, 60 test images" "36 features, 10 classes"
      "Epoch 4/4" "val_accuracy" "final: loss" "model: model.rg" "history: history.csv"
      "next: retrograd evaluate --model model.rg" "plot: history.svg"
    EXPECT_FILES model.rg history.csv history.svg)
  set_tests_properties(cli_train_idx PROPERTIES FIXTURES_REQUIRED cli_data
    FIXTURES_SETUP cli_model_idx)
  retrograd_output_test(NAME cli_evaluate_idx
    COMMAND ${cli} evaluate --model ${CMAKE_CURRENT_BINARY_DIR}/cli_train_idx/model.rg
      --data ${idx}
    EXPECT "test set" "loss: " "accuracy: 100.00 % (60/60)" "per-class accuracy:"
      "confusion matrix (rows: true class, columns: predicted class):"
      "  2          0      0     20")
  retrograd_output_test(NAME cli_evaluate_bad_threads FAILS
    COMMAND ${cli} evaluate --model model.rg --data ${idx} --threads 0
    EXPECT "--threads: must be at least 1, got 0")
  retrograd_output_test(NAME cli_predict_idx
    COMMAND ${cli} predict --model ${CMAKE_CURRENT_BINARY_DIR}/cli_train_idx/model.rg
      --data ${idx} --output predictions.csv
    EXPECT "predictions: predictions.csv (60 rows)" EXPECT_FILES predictions.csv)
  set_tests_properties(cli_evaluate_idx cli_predict_idx PROPERTIES
    FIXTURES_REQUIRED "cli_data;cli_model_idx")

  retrograd_output_test(NAME cli_train_csv
    COMMAND ${cli} train --data ${csv} --layers 2-16-3 --optimizer momentum --lr 0.05
      --epochs 10 --batch-size 16 --validation-split 0.2 --verbose 2 --save model.rg
      --history history.csv --plot plot.png
    EXPECT "data: CSV" "(150 rows), 2 features, 3 classes" "Epoch 10/10" "model: model.rg"
      "plot: plot.png"
    EXPECT_FILES model.rg history.csv plot.png)
  set_tests_properties(cli_train_csv PROPERTIES FIXTURES_REQUIRED cli_data
    FIXTURES_SETUP cli_model_csv)
  set(csv_model ${CMAKE_CURRENT_BINARY_DIR}/cli_train_csv/model.rg)
  retrograd_output_test(NAME cli_evaluate_csv COMMAND ${cli} evaluate --model ${csv_model}
      --data ${csv}
    EXPECT "data: CSV" "loss: " "accuracy: " "/150)" "confusion matrix")
  retrograd_output_test(NAME cli_predict_csv COMMAND ${cli} predict --model ${csv_model}
      --data ${csv}
    EXPECT "row,prediction\n0," "\n149,")
  retrograd_output_test(NAME cli_predict_features COMMAND ${cli} predict --model ${csv_model}
      --data ${fixtures}/features.csv
    EXPECT "row,prediction\n0," "\n4,")
  # Issue 25: class probabilities and the top k classes, checked row by row.
  retrograd_output_test(NAME cli_predict_probabilities
    COMMAND sh -c "$0 predict --model ${csv_model} --data ${csv} --probabilities --top-k 2 \
      --output p.csv && head -n 1 p.csv && awk -F, -v classes=3 -v k=2 \
      -f ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_predictions.awk p.csv" ${cli}
    EXPECT "predictions: p.csv (150 rows)" "row,prediction,p_0,p_1,p_2,top_1,p_top_1,top_2,p_top_2\n"
      "predictions checked: 150 rows")
  retrograd_output_test(NAME cli_predict_top_k_too_many FAILS
    COMMAND ${cli} predict --model ${csv_model} --data no/such.csv --top-k 4
    EXPECT "--top-k 4: the model ${csv_model} has 3 classes")
  retrograd_output_test(NAME cli_predict_probabilities_mse FAILS
    COMMAND sh -c "$0 train --data ${csv} --layers 2-8-3 --loss mse --epochs 1 --verbose 0 \
      --save mse.rg && $0 predict --model mse.rg --data ${csv} --probabilities" ${cli}
    EXPECT "--probabilities: mse.rg: Sequential::predict_proba: the model's loss mse does not make its outputs class probabilities")
  set_tests_properties(cli_evaluate_csv cli_predict_csv cli_predict_features
    cli_predict_probabilities cli_predict_top_k_too_many cli_predict_probabilities_mse PROPERTIES
    FIXTURES_REQUIRED "cli_data;cli_model_csv")

  # iris.csv as it is published: the species names in its label column become the model's
  # classes, saved with it; evaluate reads them back and predict prints them.
  set(iris ${PROJECT_SOURCE_DIR}/tests/data/iris.csv)
  retrograd_output_test(NAME cli_train_iris
    COMMAND ${cli} train --data ${iris} --layers 4-16-3 --optimizer adam --lr 0.02 --epochs 40
      --batch-size 16 --seed 1 --save model.rg --history "" --plot "" --verbose 2
    EXPECT "(150 rows), 4 features, 3 classes" "Epoch 40/40" EXPECT_FILES model.rg)
  set_tests_properties(cli_train_iris PROPERTIES FIXTURES_SETUP cli_model_iris)
  set(iris_model ${CMAKE_CURRENT_BINARY_DIR}/cli_train_iris/model.rg)
  retrograd_output_test(NAME cli_predict_iris COMMAND ${cli} predict --model ${iris_model}
      --data ${iris}
    EXPECT "row,prediction\n0,setosa\n" "\n100,virginica\n")
  retrograd_output_test(NAME cli_evaluate_iris COMMAND ${cli} evaluate --model ${iris_model}
      --data ${iris}
    EXPECT "loss: " "accuracy: " "/150)")
  set_tests_properties(cli_predict_iris cli_evaluate_iris PROPERTIES
    FIXTURES_REQUIRED cli_model_iris)

  # Without gnuplot on the PATH training still succeeds and says how to get the plot.
  retrograd_output_test(NAME cli_train_without_gnuplot
    COMMAND /usr/bin/env PATH=/nonexistent ${cli} train --data ${csv} --layers 2-8-3 --epochs 1
      --verbose 2 --save model.rg --history history.csv --plot history.png
    EXPECT "plot: skipped (gnuplot not found; install it with" "gnuplot-nox"
    EXPECT_FILES model.rg history.csv)
  # Issue 25: train writes only the files it is asked for, creates missing directories on the
  # way, and replaces an existing file only with --overwrite (refused before any training).
  retrograd_output_test(NAME cli_train_writes_only_what_asked
    COMMAND sh -c "$0 train --data ${csv} --layers 2-8-3 --epochs 1 --verbose 2 && \
      test ! -e model.rg && test ! -e history.csv && test ! -e history.png && echo no file written"
      ${cli}
    EXPECT "model: not saved (--save FILE keeps it)" "no file written")
  retrograd_output_test(NAME cli_train_creates_directories
    COMMAND ${cli} train --data ${csv} --layers 2-8-3 --epochs 1 --verbose 0
      --save out/run/model.rg --history out/history.csv
    EXPECT_FILES out/run/model.rg out/history.csv)
  retrograd_output_test(NAME cli_train_refuses_overwrite FAILS
    COMMAND sh -c "echo precious > keep.rg && $0 train --data ${csv} --layers 2-8-3 --epochs 1 \
      --save keep.rg || cat keep.rg && false" ${cli}
    EXPECT "--save: keep.rg already exists; give --overwrite to replace it, or another path"
      "precious")
  retrograd_output_test(NAME cli_train_overwrite
    COMMAND sh -c "echo precious > keep.rg && $0 train --data ${csv} --layers 2-8-3 --epochs 1 \
      --verbose 0 --save keep.rg --overwrite && $0 evaluate --model keep.rg --data ${csv}" ${cli}
    EXPECT "model: keep.rg" "accuracy: ")
  set_tests_properties(cli_train_without_gnuplot cli_train_writes_only_what_asked
    cli_train_creates_directories cli_train_refuses_overwrite cli_train_overwrite PROPERTIES
    FIXTURES_REQUIRED cli_data)
  # predict's and export's --output likewise.
  retrograd_output_test(NAME cli_predict_refuses_overwrite FAILS
    COMMAND sh -c "echo precious > p.csv && $0 predict --model ${csv_model} --data ${csv} \
      --output p.csv || cat p.csv && false" ${cli}
    EXPECT "--output: p.csv already exists; give --overwrite to replace it, or another path"
      "precious")
  retrograd_output_test(NAME cli_predict_overwrite
    COMMAND sh -c "echo precious > p.csv && $0 predict --model ${csv_model} --data ${csv} \
      --output p.csv --overwrite && head -n 2 p.csv" ${cli}
    EXPECT "predictions: p.csv (150 rows)" "row,prediction\n0,")
  retrograd_output_test(NAME cli_export_refuses_overwrite FAILS
    COMMAND sh -c "echo precious > w.npz && $0 export --model ${csv_model} --output w.npz \
      || cat w.npz && false" ${cli}
    EXPECT "--output: w.npz already exists; give --overwrite to replace it, or another path"
      "precious")
  retrograd_output_test(NAME cli_export_overwrite
    COMMAND sh -c "echo precious > w.npz && $0 export --model ${csv_model} --output w.npz \
      --overwrite" ${cli}
    EXPECT "weights: w.npz (4 float32 arrays")
  set_tests_properties(cli_predict_refuses_overwrite cli_predict_overwrite
    cli_export_refuses_overwrite cli_export_overwrite PROPERTIES
    FIXTURES_REQUIRED "cli_data;cli_model_csv")
  # Issue 21: a convolutional spec on IDX images ([N, 1, 6, 6]) trains, evaluates, predicts
  # and exports; CSV rows take --input-shape; --optimizer takes any registered optimizer with
  # settings, --early-stopping the callback.
  retrograd_output_test(NAME cli_train_cnn
    COMMAND sh -c "$0 train --data ${idx} --model 'conv2d(4,3,padding=1) relu maxpool2d(2) \
      batchnorm flatten dense(10)' --epochs 2 --batch-size 16 --verbose 2 --save cnn.rg && \
      $0 evaluate --model cnn.rg --data ${idx} && \
      $0 predict --model cnn.rg --data ${idx} --output p.csv && \
      $0 export --model cnn.rg --output cnn.npz" ${cli}
    EXPECT "conv2d_1 (Conv2D)" "(None, 4, 6, 6)" "(None, 4, 3, 3)" "(None, 36)" "Epoch 2/2"
      "model: cnn.rg" "accuracy: " "predictions: p.csv (60 rows)"
      "conv2d_1.W                 [4, 1, 3, 3]  parameter"
    EXPECT_FILES cnn.rg p.csv cnn.npz)
  # A depthwise convolution (groups = channels): W [4, 1, 3, 3] over 4 channels.
  retrograd_output_test(NAME cli_train_depthwise
    COMMAND sh -c "$0 train --data ${idx} --model 'conv2d(4,3,padding=1) relu \
      conv2d(4,3,padding=1,groups=4) relu maxpool2d(2) flatten dense(10)' --epochs 1 \
      --batch-size 16 --verbose 2 --save dw.rg && $0 evaluate --model dw.rg --data ${idx} && \
      $0 export --model dw.rg --output dw.npz" ${cli}
    EXPECT "conv2d_3 (Conv2D)                   (None, 4, 6, 6)           40\n" "model: dw.rg"
      "accuracy: " "conv2d_3.W                [4, 1, 3, 3]  parameter"
    EXPECT_FILES dw.rg dw.npz)
  set_tests_properties(cli_train_depthwise PROPERTIES FIXTURES_REQUIRED cli_data)
  retrograd_output_test(NAME cli_train_input_shape
    COMMAND sh -c "$0 train --data ${csv} --input-shape 1x1x2 --model 'conv2d(3,1) relu \
      flatten dense(3)' --epochs 2 --verbose 2 --save m.rg && \
      $0 evaluate --model m.rg --data ${csv}" ${cli}
    EXPECT "conv2d_0 (Conv2D)           (None, 3, 1, 2)" "(None, 6)" "Epoch 2/2" "accuracy: ")
  retrograd_output_test(NAME cli_train_optimizer_spec
    COMMAND sh -c "$0 train --data ${csv} --layers 2-8-3 --epochs 3 --verbose 2 \
      --optimizer adamw:weight_decay=0.01 --early-stopping patience=1,min_delta=0.001 && \
      $0 train --data ${csv} --layers 2-8-3 --epochs 1 --optimizer rmsprop:rho=0.95 && \
      $0 train --data ${csv} --layers 2-8-3 --epochs 1 --optimizer Adagrad --lr 0.05" ${cli}
    EXPECT "optimizer: AdamW lr 0.001" "optimizer: RMSProp lr 0.001" "optimizer: Adagrad lr 0.05")
  set_tests_properties(cli_train_cnn cli_train_input_shape cli_train_optimizer_spec PROPERTIES
    FIXTURES_REQUIRED cli_data)
  retrograd_output_test(NAME cli_commands_listed FAILS COMMAND ${cli}
    EXPECT "train" "evaluate" "predict")
  retrograd_output_test(NAME cli_train_help COMMAND ${cli} train --help
    EXPECT "--data" "--layers" "--activation" "--loss" "--optimizer" "--lr" "--schedule" "--epochs"
      "--batch-size" "--seed" "--validation-split" "--save" "--history" "--plot"
      "--label-column" "--detect-anomaly" "--model" "--input-shape" "--early-stopping"
      "conv2d(filters,kernel,stride,padding,dilation,bias,groups)" "maxpool2d(kernel,stride,padding)"
      "activations: leaky_relu, linear, relu" "adamw(beta1=0.9" "rmsprop(" "adagrad(")
  retrograd_output_test(NAME cli_train_bad_flag FAILS COMMAND ${cli} train --epochz 3 --lr-decy 0.5
    EXPECT "retrograd: unknown flag --epochz for retrograd train; did you mean '--epochs'?\n"
      "retrograd: unknown flag --lr-decy for retrograd train; did you mean '--lr-decay'? (retrograd train --help lists its flags)")
  retrograd_output_test(NAME cli_train_bad_value FAILS COMMAND ${cli} train --epochs many
    EXPECT "--epochs" "many")
  retrograd_output_test(NAME cli_train_missing_data FAILS COMMAND ${cli} train --data no/such/dir
    EXPECT "--data: no/such/dir does not exist")
  retrograd_output_test(NAME cli_train_empty_dir FAILS COMMAND ${cli} train --data .
    EXPECT "no train-images-idx3-ubyte.gz or train-images-idx3-ubyte in this directory")
  retrograd_output_test(NAME cli_train_bad_layers FAILS
    COMMAND ${cli} train --data ${csv} --layers 2-16-4
    EXPECT "--layers: 2-16-4 ends with 4 outputs but the data has 3 classes")
  retrograd_output_test(NAME cli_train_bad_optimizer FAILS
    COMMAND ${cli} train --data ${csv} --layers 2-16-3 --optimizer lbfgs
    EXPECT "--optimizer: unknown 'lbfgs' (sgd, momentum, nesterov, adam)")
  # Issue 25: SGD with Nesterov momentum from the command line; --momentum needs one of the two.
  retrograd_output_test(NAME cli_train_nesterov
    COMMAND ${cli} train --data ${csv} --layers 2-8-3 --optimizer nesterov --momentum 0.8
      --epochs 2 --verbose 2
    EXPECT "optimizer: SGD with Nesterov momentum 0.8, lr 0.01 (" "Epoch 2/2")
  retrograd_output_test(NAME cli_train_bad_loss FAILS
    COMMAND ${cli} train --data ${csv} --layers 2-16-3 --loss hinge
    EXPECT "--loss: unknown 'hinge' (cross_entropy, or a registered loss: binary_cross_entropy, categorical_cross_entropy, mse, quadratic, sparse_categorical_cross_entropy)")
  set_tests_properties(cli_train_bad_layers cli_train_bad_optimizer cli_train_bad_loss
    cli_train_nesterov PROPERTIES
    FIXTURES_REQUIRED cli_data)
  # Losses and schedules by their registered names (docs/nn.md, "Registries").
  retrograd_output_test(NAME cli_train_sparse_loss
    COMMAND sh -c "$0 train --data ${csv} --layers 2-16-3 --loss sparse_categorical_cross_entropy \
      --epochs 3 --verbose 2 --save model.rg && $0 evaluate --model model.rg --data ${csv}"
      ${cli}
    EXPECT "loss sparse_categorical_cross_entropy(from_logits), 3 epochs" "Epoch 3/3"
      "model: model.rg" "accuracy: " "/150)")
  retrograd_output_test(NAME cli_train_schedule
    COMMAND ${cli} train --data ${idx} --layers 36-16-10 --lr 0.01 --epochs 3 --batch-size 16
      --schedule step_lr:step_size=2,gamma=0.5 --verbose 2
    EXPECT "optimizer: Adam lr 0.01 (schedule step_lr:step_size=2,gamma=0.5), loss categorical_cross_entropy(from_logits), 3 epochs"
      "Epoch 3/3" "model: not saved (--save FILE keeps it)")
  # The schedule is one of the flags a checkpoint keeps, its state goes with it: after two
  # epochs of halving, the resumed run starts at a quarter of --lr.
  retrograd_output_test(NAME cli_resume_schedule
    COMMAND sh -c "rm -rf ckpt && $0 train --data ${idx} --layers 36-16-10 --lr 0.01 --epochs 2 \
      --batch-size 16 --schedule step_lr:step_size=1,gamma=0.5 --checkpoint-dir ckpt \
      --history '' --plot '' --verbose 2 && $0 train --resume ckpt --epochs 3 --verbose 2" ${cli}
    EXPECT "resuming from ckpt/checkpoint-34.rg"
      "optimizer: Adam lr 0.0025 (schedule step_lr:step_size=1,gamma=0.5)" "Epoch 3/3")
  retrograd_output_test(NAME cli_train_bad_schedule FAILS
    COMMAND ${cli} train --data ${idx} --schedule step_lr:step_size=2,gama=0.5
    EXPECT "--schedule: schedule step_lr has no setting 'gama' (its settings: step_size, gamma)")
  retrograd_output_test(NAME cli_train_unknown_schedule FAILS
    COMMAND ${cli} train --data ${idx} --schedule cosine
    EXPECT "--schedule: unknown schedule 'cosine' (registered: exponential_lr, reduce_lr_on_plateau, step_lr)")
  retrograd_output_test(NAME cli_train_schedule_and_decay FAILS
    COMMAND ${cli} train --data ${idx} --schedule exponential_lr:gamma=0.9 --lr-decay 0.5
    EXPECT "--schedule and --lr-decay both set how the learning rate changes: give one (--lr-decay G is --schedule exponential_lr:gamma=G)")
  set_tests_properties(cli_train_sparse_loss cli_train_schedule cli_resume_schedule
    cli_train_bad_schedule cli_train_unknown_schedule cli_train_schedule_and_decay PROPERTIES
    FIXTURES_REQUIRED cli_data)
  # A learning rate of 1e30 overflows the second batch's logits: --detect-anomaly names the op,
  # its inputs and the step.
  retrograd_output_test(NAME cli_train_detect_anomaly FAILS
    COMMAND ${cli} train --data ${csv} --layers 2-16-3 --optimizer sgd --lr 1e30 --epochs 2
      --batch-size 16 --detect-anomaly
    EXPECT "retrograd: error: anomaly in the forward pass: linear produced -inf at [0, 0] of its value of shape [16, 3]; its inputs: [16, 16] (linear_relu), [16, 3] (leaf 'W'), [3] (leaf 'b'), during training epoch 1/2, batch 2/9 (step 2)")
  set_tests_properties(cli_train_detect_anomaly PROPERTIES FIXTURES_REQUIRED cli_data)
  retrograd_output_test(NAME cli_evaluate_missing_model FAILS
    COMMAND ${cli} evaluate --model nope.rg --data .
    EXPECT "nope.rg: cannot open")
  retrograd_output_test(NAME cli_evaluate_foreign_model FAILS
    COMMAND ${cli} evaluate --model ${csv} --data ${csv}
    EXPECT "blobs.csv: not a retrograd model file (bad magic")
  set_tests_properties(cli_evaluate_foreign_model PROPERTIES FIXTURES_REQUIRED cli_data)

  # Checkpoints and --resume (docs/io.md): 270 training images in batches of 16 make 17 steps
  # per epoch.
  # A fresh run refuses a directory holding another run's checkpoints: start from an empty one.
  retrograd_output_test(NAME cli_train_checkpoint
    COMMAND sh -c "rm -rf ckpt && $0 train --data ${idx} --layers 36-16-10 --lr 0.01 --epochs 2 \
      --batch-size 16 --checkpoint-dir ckpt --checkpoint-every 5 --save model.rg \
      --verbose 2 && $0 train --data ${idx} --epochs 1 --checkpoint-dir ckpt" ${cli}
    FAILS
    EXPECT "model: model.rg" "feature_scaling_0 (FeatureScaling)"
      "--checkpoint-dir: ckpt already holds the checkpoints of a run (ckpt/checkpoint-34.rg); continue it with --resume ckpt, or choose another directory"
    EXPECT_FILES ckpt/checkpoint-25.rg ckpt/checkpoint-30.rg ckpt/checkpoint-34.rg
    EXPECT_FILES ckpt/checkpoint-25.rg ckpt/checkpoint-30.rg ckpt/checkpoint-34.rg)
  set_tests_properties(cli_train_checkpoint PROPERTIES FIXTURES_REQUIRED cli_data
    FIXTURES_SETUP cli_checkpoint)
  set(checkpoints ${CMAKE_CURRENT_BINARY_DIR}/cli_train_checkpoint/ckpt)
  # On a copy of the checkpoints (the fixture's stay at 2 epochs for the tests below), with the
  # model saved here instead of where the run was told (an output may change on resume), and
  # --checkpoint-dir naming the --resume directory another way.
  retrograd_output_test(NAME cli_resume_more_epochs
    COMMAND sh -c "cp -r ${checkpoints} ckpt && $0 train --resume ckpt --epochs 3 --verbose 2 \
      --save model.rg --checkpoint-dir ./ckpt" ${cli}
    EXPECT "resuming from ckpt/checkpoint-34.rg (2 of 3 epochs done)" "Epoch 3/3"
      "model: model.rg"
    EXPECT_FILES model.rg)
  retrograd_output_test(NAME cli_resume_contradiction FAILS
    COMMAND ${cli} train --resume ${checkpoints} --lr 0.5
    EXPECT "--lr 0.5 contradicts the run being resumed, which has --lr 0.01")
  retrograd_output_test(NAME cli_resume_other_checkpoint_dir FAILS
    COMMAND ${cli} train --resume ${checkpoints} --epochs 3 --checkpoint-dir elsewhere
    EXPECT "--checkpoint-dir elsewhere: a resumed run writes its checkpoints where it reads them (--resume ${checkpoints}); leave --checkpoint-dir out")
  retrograd_output_test(NAME cli_resume_epochs_done FAILS
    COMMAND ${cli} train --resume ${checkpoints} --epochs 2
    EXPECT "--epochs 2: the run being resumed has already trained 2 epochs (${checkpoints}/checkpoint-34.rg); give more than 2 to train further")
  set_tests_properties(cli_resume_more_epochs cli_resume_contradiction cli_resume_epochs_done
    cli_resume_other_checkpoint_dir
    PROPERTIES FIXTURES_REQUIRED "cli_data;cli_checkpoint")
  # Issue 25: a run started in run/ with relative paths resumes from another directory, writes
  # its model where it was told (run/model.rg, recorded absolute), takes the real default --lr
  # again, and takes --data naming a copy of its data (same size and crc32) and a new --save.
  set(start_run "mkdir run elsewhere && cp ${csv} run/data.csv && cd run && $0 train \
    --data data.csv --layers 2-8-3 --epochs 2 --checkpoint-dir ck --save model.rg --verbose 0 \
    && cd ../elsewhere")
  retrograd_output_test(NAME cli_resume_elsewhere
    COMMAND sh -c "${start_run} && $0 train --resume ../run/ck --epochs 3 --lr 0.002 --verbose 2 \
      && cp ../run/data.csv moved.csv && $0 train --resume ../run/ck --epochs 4 --data moved.csv \
      --save '' --verbose 2" ${cli}
    EXPECT "resuming from ../run/ck/checkpoint-6.rg (2 of 3 epochs done)" "Epoch 3/3"
      "/cli_resume_elsewhere/run/model.rg\n"
      "resuming from ../run/ck/checkpoint-9.rg (3 of 4 epochs done)" "data: CSV moved.csv"
      "Epoch 4/4" "model: not saved"
    EXPECT_FILES run/model.rg)
  retrograd_output_test(NAME cli_resume_other_data FAILS
    COMMAND sh -c "${start_run} && head -n 100 ../run/data.csv > other.csv && \
      $0 train --resume ../run/ck --epochs 3 --data other.csv" ${cli}
    EXPECT "--data other.csv is not the data of the run being resumed ("
      "/cli_resume_other_data/run/data.csv): other.csv has " " bytes, the run's data.csv had ")
  retrograd_output_test(NAME cli_resume_default_lr FAILS
    COMMAND sh -c "${start_run} && $0 train --resume ../run/ck --epochs 3 --lr 0.5" ${cli}
    EXPECT "--lr 0.5 contradicts the run being resumed, which has --lr 0.002 (../run/ck/checkpoint-6.rg)")
  set_tests_properties(cli_resume_elsewhere cli_resume_other_data cli_resume_default_lr
    PROPERTIES FIXTURES_REQUIRED cli_data)
  retrograd_output_test(NAME cli_resume_nothing FAILS COMMAND ${cli} train --resume no/such/dir
    EXPECT "--resume: no checkpoint-<step>.rg file in no/such/dir")
  retrograd_output_test(NAME cli_train_bad_save FAILS
    COMMAND ${cli} train --data ${idx} --save ${idx}/train-images-idx3-ubyte.gz/model.rg
    EXPECT "--save: ${idx}/train-images-idx3-ubyte.gz exists and is not a directory")
  retrograd_output_test(NAME cli_train_bad_checkpoint_dir FAILS
    COMMAND ${cli} train --data ${idx} --checkpoint-dir ${idx}/train-images-idx3-ubyte.gz
    EXPECT "--checkpoint-dir: ${idx}/train-images-idx3-ubyte.gz exists and is not a directory")
  set_tests_properties(cli_train_bad_save cli_train_bad_checkpoint_dir PROPERTIES
    FIXTURES_REQUIRED cli_data)
  # The kill tests: 100 SIGKILLs each (1,000 in the long runs of docs/reliability.md); 3 in the
  # sanitizer build, whose -O0 runs are many times slower. A checkpointed run killed at random
  # moments and resumed again and again ends byte-identical to the uninterrupted run's.
  if(RETROGRAD_SANITIZE)
    set(kills 3)
  else()
    set(kills 100)
  endif()
  add_test(NAME cli_kill_resume COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/kill_resume.sh
    $<TARGET_FILE:retrograd_cli> ${idx} ${CMAKE_CURRENT_BINARY_DIR}/cli_kill_resume ${kills})
  set_tests_properties(cli_kill_resume PROPERTIES FIXTURES_REQUIRED cli_data
    PASS_REGULAR_EXPRESSION "every resumed model identical to the uninterrupted run")
  # `train --save`, half of the kills aimed at the save: the file is always the old model or
  # the new one, whole.
  add_test(NAME cli_kill_save COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/kill_save.sh
    $<TARGET_FILE:retrograd_cli> ${csv} ${CMAKE_CURRENT_BINARY_DIR}/cli_kill_save ${kills})
  set_tests_properties(cli_kill_save PROPERTIES FIXTURES_REQUIRED cli_data
    PASS_REGULAR_EXPRESSION "every kill left M.rg whole")
endif()
