// Test helper of the ONNX checks in Python (tests/tools/check_onnx_opencv.py and
// check_onnx_torch.py):
//   onnx_probe models DIR      trains two small models on Fashion-MNIST (6,000 images, one
//                              epoch) and writes DIR/mlp.rg, DIR/mlp_softmax.rg, the first 1,000
//                              test images as raw pixels (DIR/test_images.npy, float32 [1000, 784])
//                              and their labels (DIR/test_labels.npy), and each model's outputs
//                              on them (DIR/<model>_outputs.npy); and a functional model with
//                              two residual blocks, saved and exported (DIR/residual.onnx)
//   onnx_probe predict MODEL IMAGES.npy OUT.npy
//                              MODEL (.rg, or .onnx through import_onnx_module) on the images
//   onnx_probe finetune MODEL.onnx
//                              imports the model, measures loss and accuracy on the 10,000 test
//                              images, trains one epoch on the 60,000 training images with Adam,
//                              measures again
// Images are raw pixels (0..255): the models scale them themselves (their FeatureScaling, or the
// division the PyTorch script exports).

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <retrograd/data/mnist.hpp>
#include <retrograd/io/dataset_source.hpp>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/metrics.hpp>
#include <xtensor/xnpy.hpp>

using namespace retrograd;

namespace {

constexpr std::size_t pixels = 784;

data::Dataset raw(data::Dataset set) {
  set.set_scaler(data::FeatureScaler::identity(pixels));
  return set;
}

std::unique_ptr<nn::Module> load(const std::string& path) {
  if (path.size() > 5 && path.substr(path.size() - 5) == ".onnx") {
    return io::import_onnx_module(path);
  }
  return io::load_module(path);
}

void write_npy(const std::string& path, const Tensor& t) {
  xt::xarray<float> copy = t;
  xt::dump_npy(path, copy);
}

void models(const std::string& dir) {
  data::Mnist mnist = data::load_mnist();
  std::vector<std::size_t> first(6000);
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
  data::Dataset train = raw(mnist.train.subset(first));
  first.resize(1000);
  data::Dataset test = raw(mnist.test.subset(first));
  const Tensor images = test.features();
  write_npy(dir + "/test_images.npy", images);
  xt::xarray<std::int64_t> labels = xt::zeros<std::int64_t>({test.size()});
  for (std::size_t i = 0; i < test.size(); ++i) labels(i) = test.labels()[i];
  xt::dump_npy(dir + "/test_labels.npy", labels);
  const Tensor classes = xt::cast<float>(labels);

  const data::FeatureScaler pixels_to_unit = data::FeatureScaler::divide_by(pixels, 255);
  nn::Engine engine(7);
  // Every layer type that exports, the activations fused into Dense and as layers of their own.
  nn::Sequential mlp;
  mlp.add(nn::FeatureScaling(pixels_to_unit.offset, pixels_to_unit.scale));
  mlp.add(nn::Dense(pixels, 128, nn::Activation::relu(), nn::Initializer::he_uniform(), engine));
  mlp.add(nn::BatchNorm(128));
  mlp.add(nn::Dropout(0.2, 3));
  mlp.add(nn::Dense(128, 64, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), engine));
  mlp.add(
      nn::Dense(64, 32, nn::Activation::leaky_relu(0.1), nn::Initializer::he_uniform(), engine));
  mlp.add(nn::Dense(32, 10, nn::Activation::linear(), nn::Initializer::glorot_uniform(), engine));
  mlp.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.002), {"accuracy"});

  nn::Sequential mlp_softmax;
  mlp_softmax.add(nn::FeatureScaling(pixels_to_unit.offset, pixels_to_unit.scale));
  mlp_softmax.add(
      nn::Dense(pixels, 64, nn::Activation::sigmoid(), nn::Initializer::glorot_uniform(), engine));
  mlp_softmax.add(
      nn::Dense(64, 32, nn::Activation::linear(), nn::Initializer::glorot_uniform(), engine));
  mlp_softmax.add(nn::ActivationLayer(nn::Activation::relu()));
  mlp_softmax.add(
      nn::Dense(32, 10, nn::Activation::linear(), nn::Initializer::glorot_uniform(), engine));
  mlp_softmax.add(nn::ActivationLayer(nn::Activation::softmax()));
  mlp_softmax.compile(nn::Loss::categorical_cross_entropy(), nn::Adam(0.002), {"accuracy"});

  // A functional model: two residual blocks, a branch joined by concat, a layer called twice.
  auto x = nn::Input({pixels});
  nn::Layer scale = nn::FeatureScaling(pixels_to_unit.offset, pixels_to_unit.scale);
  nn::Layer stem =
      nn::Dense(pixels, 64, nn::Activation::relu(), nn::Initializer::he_uniform(), engine);
  nn::Layer block1 =
      nn::Dense(64, 64, nn::Activation::relu(), nn::Initializer::he_uniform(), engine);
  nn::Layer block2 =
      nn::Dense(64, 64, nn::Activation::linear(), nn::Initializer::glorot_uniform(), engine);
  nn::Layer branch =
      nn::Dense(64, 32, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), engine);
  nn::Layer head =
      nn::Dense(96, 10, nn::Activation::linear(), nn::Initializer::glorot_uniform(), engine);
  auto h = stem(scale(x));
  h = nn::add(h, block2(block1(h)));
  h = nn::add(h, block2(block1(h)));  // the same block again: shared weights
  nn::Model residual({x}, {head(nn::concat({h, branch(h)}))});

  // A CNN on [n, 1, 28, 28] images scaled to [0, 1]: every layer of the convolution family.
  nn::Sequential cnn;
  cnn.set_input_shape({1, 28, 28});
  cnn.add(
      nn::Conv2D(1, 8, 3, nn::Conv2DOptions{1, 1, 1, true}, nn::Initializer::he_uniform(), engine));
  cnn.add(nn::ActivationLayer(nn::Activation::relu()));
  cnn.add(nn::MaxPool2D(2));
  cnn.add(nn::Conv2D(8, 16, 3, nn::Conv2DOptions{1, 1, 1, false}, nn::Initializer::he_uniform(),
                     engine));
  cnn.add(nn::BatchNorm(16));
  cnn.add(nn::ActivationLayer(nn::Activation::relu()));
  // Padded: exported as a Pad and an AveragePool (docs/io.md, "ONNX").
  cnn.add(nn::AvgPool2D(3, 2, 1));
  cnn.add(nn::Dropout(0.1, 5));
  cnn.add(nn::Flatten());
  cnn.add(nn::Dense(16 * 7 * 7, 10, nn::Activation::linear(), nn::Initializer::glorot_uniform(),
                    engine));
  cnn.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.002), {"accuracy"});
  {
    auto as_images = [](const data::Dataset& set) {
      Tensor x = set.features();
      x /= 255.0f;
      x.reshape({set.size(), 1, 28, 28});
      return x;
    };
    Tensor y = Tensor::from_shape({train.size(), 10});
    y.fill(0);
    for (std::size_t i = 0; i < train.size(); ++i) y(i, train.labels()[i]) = 1;
    nn::FitOptions cnn_options;
    cnn_options.batch_size = 32;
    cnn_options.seed = 11;
    cnn_options.verbose = 0;
    cnn.fit(as_images(train), y, cnn_options);
    const Tensor x = as_images(test);
    const Tensor outputs = cnn.predict(x);
    io::save_model(cnn, dir + "/cnn.rg");
    io::export_onnx(cnn, dir + "/cnn.onnx");
    write_npy(dir + "/cnn_inputs.npy", x);
    write_npy(dir + "/cnn_outputs.npy", outputs);
    std::cout << "cnn: test accuracy " << nn::accuracy(outputs, classes) << " on " << test.size()
              << " images\n";
  }

  // A functional CNN whose two branches (3x3 and 1x1 convolutions) join along the channels, as
  // Inception's blocks do (ONNX Concat on axis 1 of feature maps), then a depthwise convolution
  // (Conv with group = channels).
  {
    auto image = nn::Input({1, 28, 28});
    nn::Layer wide = nn::Conv2D(1, 4, 3, nn::Conv2DOptions{1, 1, 1, true},
                                nn::Initializer::he_uniform(), engine);
    nn::Layer narrow = nn::Conv2D(1, 4, 1, {}, nn::Initializer::he_uniform(), engine);
    nn::Layer relu = nn::ActivationLayer(nn::Activation::relu());
    nn::Conv2DOptions depthwise{1, 1, 1, true};
    depthwise.groups = 8;
    nn::Layer per_channel = nn::Conv2D(8, 8, 3, depthwise, nn::Initializer::he_uniform(), engine);
    nn::Layer pool = nn::MaxPool2D(4);
    nn::Layer flatten = nn::Flatten();
    nn::Layer out = nn::Dense(8 * 7 * 7, 10, nn::Activation::linear(),
                              nn::Initializer::glorot_uniform(), engine);
    auto joined = nn::concat({relu(wide(image)), relu(narrow(image))});
    nn::Model cnn_concat({image}, {out(flatten(pool(relu(per_channel(joined)))))});
    Tensor x = train.features();
    x /= 255.0f;
    x.reshape({train.size(), 1, 28, 28});
    Tensor y = Tensor::from_shape({train.size(), 10});
    y.fill(0);
    for (std::size_t i = 0; i < train.size(); ++i) y(i, train.labels()[i]) = 1;
    const nn::TensorBatchSource source(x, y);
    nn::FitOptions concat_options;
    concat_options.batch_size = 32;
    concat_options.seed = 11;
    concat_options.verbose = 0;
    nn::Adam adam(0.002);
    nn::Trainer(cnn_concat, nn::Loss::categorical_cross_entropy(true), adam, concat_options, true)
        .fit(source);
    Tensor test_images = test.features();
    test_images /= 255.0f;
    test_images.reshape({test.size(), 1, 28, 28});
    const Tensor outputs = cnn_concat.infer_tensor(test_images);
    io::save_model(cnn_concat, dir + "/cnn_concat.rg");
    io::export_onnx(cnn_concat, dir + "/cnn_concat.onnx");
    write_npy(dir + "/cnn_concat_inputs.npy", test_images);
    write_npy(dir + "/cnn_concat_outputs.npy", outputs);
    std::cout << "cnn_concat: test accuracy " << nn::accuracy(outputs, classes) << " on "
              << test.size() << " images\n";
  }

  nn::FitOptions options;
  options.epochs = 1;
  options.batch_size = 32;
  options.seed = 11;
  options.verbose = 0;
  const io::DatasetSource train_source(train), test_source(test);
  {
    nn::Adam adam(0.002);
    nn::Trainer(residual, nn::Loss::categorical_cross_entropy(true), adam, options, true)
        .fit(train_source);
    const Tensor outputs = residual.infer_tensor(images);
    io::save_model(residual, dir + "/residual.rg");
    io::export_onnx(residual, dir + "/residual.onnx");
    write_npy(dir + "/residual_outputs.npy", outputs);
    std::cout << "residual: test accuracy " << nn::accuracy(outputs, classes) << " on "
              << test.size() << " images\n";
  }
  for (auto [name, model] :
       {std::pair<const char*, nn::Sequential*>{"mlp", &mlp}, {"mlp_softmax", &mlp_softmax}}) {
    model->fit(train_source, options);
    const nn::Logs logs = model->evaluate(test_source);
    io::save_model(*model, dir + "/" + name + ".rg");
    write_npy(dir + "/" + name + "_outputs.npy", model->predict(images));
    std::cout << name << ": test accuracy " << logs.at("accuracy") << " on " << test.size()
              << " images\n";
  }
}

void predict(const std::string& model_path, const std::string& images_path,
             const std::string& out_path) {
  const std::unique_ptr<nn::Module> model = load(model_path);
  const xt::xarray<float> images = xt::load_npy<float>(images_path);
  Tensor x = Tensor::from_shape(Shape(images.shape().begin(), images.shape().end()));
  std::copy(images.begin(), images.end(), x.begin());
  write_npy(out_path, model->infer_tensor(x));
  std::cout << "predicted " << x.shape()[0] << " rows with " << model_path << "\n";
}

void finetune(const std::string& model_path) {
  nn::Sequential model = io::import_onnx(model_path);
  std::cout << model.summary();
  model.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.0005), {"accuracy"});
  data::Mnist mnist = data::load_mnist();
  const data::Dataset train = raw(std::move(mnist.train));
  const data::Dataset test = raw(std::move(mnist.test));
  const io::DatasetSource train_source(train), test_source(test);
  const nn::Logs before = model.evaluate(test_source, 1000);
  nn::FitOptions options;
  options.epochs = 1;
  options.batch_size = 64;
  options.seed = 5;
  options.verbose = 0;
  model.fit(train_source, options);
  const nn::Logs after = model.evaluate(test_source, 1000);
  std::cout << std::fixed << std::setprecision(4) << "before: test loss " << before.at("loss")
            << ", accuracy " << before.at("accuracy") << "\nafter one epoch: test loss "
            << after.at("loss") << ", accuracy " << after.at("accuracy") << "\n";
  if (!(after.at("loss") < before.at("loss"))) {
    throw std::runtime_error("fine-tuning did not lower the test loss");
  }
  std::cout << "fine-tuning lowered the test loss\n";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "models") {
      models(args[1]);
    } else if (args.size() == 4 && args[0] == "predict") {
      predict(args[1], args[2], args[3]);
    } else if (args.size() == 2 && args[0] == "finetune") {
      finetune(args[1]);
    } else {
      std::cerr << "usage: onnx_probe models DIR | predict MODEL IMAGES.npy OUT.npy | finetune "
                   "MODEL.onnx\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "onnx_probe: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
