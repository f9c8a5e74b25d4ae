// Vanishing gradients, the course's way: the same deep network twice, once with sigmoid hidden
// layers and once with relu hidden layers (both with a sigmoid output), trained with SGD,
// batch 20, η = 0.01. A backward observer measures ‖∂L/∂W‖ of every layer on every batch: each
// sigmoid layer multiplies the error by σ' ≤ 1/4 on its way back, so the first layers of the
// sigmoid net barely move and the net stalls, while the relu net learns.
//
//   vanishing_gradients [--epochs N] [--out DIR]
//     writes the per-layer norms and the losses as CSV in DIR, and a plot of them,
//     DIR/vanishing_gradients.png, when gnuplot is installed. Exits 1 unless the sigmoid net's
//     first-layer gradient vanishes (< 1% of the output layer's), the relu net's does not, and
//     the relu net reaches 85% test accuracy.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <retrograd/retrograd.hpp>
#include <string>
#include <vector>

using namespace retrograd;

namespace {

constexpr std::size_t hidden_layers = 5;
constexpr std::size_t width = 10;

// Sums ‖∂L/∂W‖ of each layer over the batches of an epoch, from what the backward pass sends
// to the weight matrices: the observer needs no access to the model's internals.
class LayerGradients : public BackwardObserver<float> {
 public:
  explicit LayerGradients(const nn::Sequential& model) {
    for (const auto& p : model.named_parameters())
      if (p.name.size() > 2 && p.name.substr(p.name.size() - 2) == ".W")
        layer_of_[p.var.node().get()] = layer_of_.size();
    sums_.assign(layer_of_.size(), 0.0);
  }
  void on_step(const BackwardStep<float>& step) override {
    const auto& inputs = step.node.inputs();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto it = layer_of_.find(inputs[i].get());
      if (it == layer_of_.end() || step.downstream[i].size() == 0) continue;
      sums_[it->second] += std::sqrt(double(xt::sum(step.downstream[i] * step.downstream[i])()));
    }
  }
  void on_backward_end(const Node<float>&) override { ++passes_; }
  // Mean norm per layer since the last call, then starts over.
  std::vector<double> take() {
    std::vector<double> mean(sums_.size());
    for (std::size_t l = 0; l < sums_.size(); ++l) mean[l] = sums_[l] / std::max(passes_, 1);
    sums_.assign(sums_.size(), 0.0);
    passes_ = 0;
    return mean;
  }

 private:
  std::map<const void*, std::size_t> layer_of_;
  std::vector<double> sums_;
  int passes_ = 0;
};

struct Result {
  std::vector<std::vector<double>> norms;  // [epoch][layer]
  std::vector<double> loss;
  double train_accuracy, test_accuracy;
};

Result train(nn::Activation hidden, const char* name, const Tensor& x, const Tensor& y,
             const Tensor& x_test, const Tensor& y_test, std::size_t epochs) {
  nn::manual_seed(5);  // both nets start from the same random draws
  nn::Sequential model;
  std::size_t in = 2;
  for (std::size_t l = 0; l < hidden_layers; ++l, in = width)
    model.add(nn::Dense(in, width, hidden));
  model.add(nn::Dense(width, 1, nn::Activation::sigmoid()));
  model.compile(nn::Loss::binary_cross_entropy(), nn::SGD(0.01), {"accuracy"});

  Result result;
  LayerGradients observer(model);
  nn::LambdaCallback per_epoch;
  per_epoch.epoch_end = [&](nn::Trainer&, std::size_t epoch, const nn::Logs& logs) {
    result.norms.push_back(observer.take());
    result.loss.push_back(logs.at("loss"));
    if ((epoch + 1) % (epochs / 5) == 0)
      std::printf("  %s epoch %4zu  loss %.4f  accuracy %.3f\n", name, epoch + 1, logs.at("loss"),
                  logs.at("accuracy"));
  };
  nn::FitOptions options;
  options.epochs = epochs;
  options.batch_size = 20;
  options.verbose = 0;
  options.callbacks = {&per_epoch};
  {
    ObserverScope<float> scope(observer);
    model.fit(x, y, options);
  }
  result.train_accuracy = model.evaluate(x, y).at("accuracy");
  result.test_accuracy = model.evaluate(x_test, y_test).at("accuracy");
  return result;
}

void print_table(const char* title, const std::vector<double>& sig,
                 const std::vector<double>& rel) {
  std::printf("%s\n  layer   sigmoid ‖dL/dW‖   relu ‖dL/dW‖\n", title);
  for (std::size_t l = 0; l < sig.size(); ++l)
    std::printf("  %5zu   %15.3e   %12.3e\n", l + 1, sig[l], rel[l]);
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  std::size_t epochs = 1000;
  std::string out = ".";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--epochs")
      epochs = std::size_t(std::atol(argv[i + 1]));
    else if (flag == "--out")
      out = argv[i + 1];
  }
  epochs = std::max<std::size_t>(epochs, 5);

  // Two interleaved half circles: a curved boundary no linear model draws.
  const data::Dataset train_set = data::make_moons(1000, 0.15, 1);
  const data::Dataset test_set = data::make_moons(500, 0.15, 2);
  Tensor x, y, x_test, y_test;
  std::vector<data::Label> labels, test_labels;
  train_set.batch(0, train_set.size(), x, labels);
  test_set.batch(0, test_set.size(), x_test, test_labels);
  y = Tensor::from_shape({labels.size(), 1});
  y_test = Tensor::from_shape({test_labels.size(), 1});
  for (std::size_t i = 0; i < labels.size(); ++i) y(i, 0) = float(labels[i]);
  for (std::size_t i = 0; i < test_labels.size(); ++i) y_test(i, 0) = float(test_labels[i]);

  std::printf("2-%zux%zu-1 network, SGD η = 0.01, batch 20, %zu epochs, %zu moons samples\n",
              hidden_layers, width, epochs, labels.size());
  const Result sig = train(nn::Activation::sigmoid(), "sigmoid", x, y, x_test, y_test, epochs);
  const Result rel = train(nn::Activation::relu(), "relu   ", x, y, x_test, y_test, epochs);

  std::printf("\n");
  print_table("mean gradient norm per layer, epoch 1 (layer 6 is the output):", sig.norms.front(),
              rel.norms.front());
  print_table("last epoch:", sig.norms.back(), rel.norms.back());
  const double sig_ratio = sig.norms.front()[0] / sig.norms.front()[hidden_layers];
  const double rel_ratio = rel.norms.front()[0] / rel.norms.front()[hidden_layers];
  std::printf("first layer / output layer, epoch 1: sigmoid %.2e, relu %.2e\n", sig_ratio,
              rel_ratio);
  std::printf("sigmoid: train accuracy %.3f, test accuracy %.3f\n", sig.train_accuracy,
              sig.test_accuracy);
  std::printf("relu:    train accuracy %.3f, test accuracy %.3f\n", rel.train_accuracy,
              rel.test_accuracy);

  // Two tables for the plot: norms per layer at epoch 1, and the loss per epoch.
  const std::string layers_csv = out + "/vanishing_gradients_layers.csv";
  const std::string loss_csv = out + "/vanishing_gradients_loss.csv";
  {
    std::ofstream f(layers_csv);
    f << "layer,sigmoid,relu\n";
    for (std::size_t l = 0; l <= hidden_layers; ++l)
      f << l + 1 << "," << sig.norms.front()[l] << "," << rel.norms.front()[l] << "\n";
    std::ofstream g(loss_csv);
    g << "epoch,sigmoid,relu\n";
    for (std::size_t e = 0; e < epochs; ++e)
      g << e + 1 << "," << sig.loss[e] << "," << rel.loss[e] << "\n";
  }
  std::printf("data: %s, %s\n", layers_csv.c_str(), loss_csv.c_str());
  const std::string png = out + "/vanishing_gradients.png";
  const std::string script = out + "/vanishing_gradients.gp";
  {
    std::ofstream f(script);
    f << "set terminal pngcairo size 1000,400\nset output '" << png << "'\n"
      << "set datafile separator ','\nset key autotitle columnhead\nset multiplot layout 1,2\n"
      << "set title 'mean |dL/dW| per layer, epoch 1'\nset xlabel 'layer'\nset logscale y\n"
      << "plot '" << layers_csv << "' using 1:2 with linespoints, '' using 1:3 with linespoints\n"
      << "unset logscale y\nset title 'training loss'\nset xlabel 'epoch'\n"
      << "plot '" << loss_csv << "' using 1:2 with lines, '' using 1:3 with lines\n";
  }
  const std::string gnuplot = "gnuplot " + script + " 2>/dev/null";
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0 && std::system(gnuplot.c_str()) == 0)
    std::printf("plot: %s\n", png.c_str());
  else
    std::printf("gnuplot not found: the plot script is %s\n", script.c_str());

  // The lesson holds when the sigmoid net's first layer gets under 1% of the output layer's
  // gradient while the relu net's gets at least a tenth, and only the relu net learns.
  const bool ok = sig_ratio < 0.01 && rel_ratio > 0.1 && rel.test_accuracy >= 0.85 &&
                  rel.test_accuracy > sig.test_accuracy + 0.05;
  return ok ? 0 : 1;
}
