#include "plot.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.hpp"

namespace retrograd::cli {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool gnuplot_installed() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

/// A gnuplot data block named `name` with one "epoch value" line per epoch.
void data_block(std::ostream& out, const char* name, const std::vector<double>& values) {
  out << "$" << name << " << EOD\n";
  for (std::size_t e = 0; e < values.size(); ++e) out << e + 1 << " " << values[e] << "\n";
  out << "EOD\n";
}

/// "plot $a title 'train' ..., $b title 'validation'" over the series that were measured.
std::string plot_line(const std::vector<double>& train, const char* train_block,
                      const std::vector<double>& val, const char* val_block) {
  std::string line = "plot ";
  if (!train.empty()) line += std::string("$") + train_block + " with linespoints title 'train'";
  if (!val.empty()) {
    if (!train.empty()) line += ", ";
    line += std::string("$") + val_block + " with linespoints title 'validation'";
  }
  return line + "\n";
}

/// Gnuplot string literal: single quotes, embedded ones doubled.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

namespace {
/// The gnuplot terminal that writes `path`, by its extension.
std::string terminal_for(const std::string& path) {
  if (ends_with(path, ".png")) return "pngcairo size 1000,400";
  if (ends_with(path, ".svg")) return "svg size 1000,400";
  throw UsageError("--plot: " + path + " must end in .png or .svg");
}
}  // namespace

void check_plot_path(const std::string& path) { terminal_for(path); }

std::string plot_history(const nn::History& history, const std::string& path) {
  const std::string terminal = terminal_for(path);
  if (!gnuplot_installed()) {
    return "plot: skipped (gnuplot not found; install it with `apt-get install gnuplot-nox` "
           "to get " +
           path + ")";
  }
  std::ostringstream script;
  script << "set terminal " << terminal << "\n"
         << "set output " << quoted(path) << "\n";
  data_block(script, "loss", history.loss);
  data_block(script, "val_loss", history.val_loss);
  data_block(script, "acc", history.accuracy);
  data_block(script, "val_acc", history.val_accuracy);
  const bool accuracy = !history.accuracy.empty() || !history.val_accuracy.empty();
  script << "set multiplot layout 1," << (accuracy ? 2 : 1) << "\n"
         << "set grid\nset xlabel 'epoch'\nset xtics 1\nset key top right\n"
         << "set title 'loss'\n"
         << plot_line(history.loss, "loss", history.val_loss, "val_loss");
  if (accuracy) {
    script << "set title 'accuracy'\nset key bottom right\n"
           << plot_line(history.accuracy, "acc", history.val_accuracy, "val_acc");
  }
  script << "unset multiplot\n";

  const std::string script_path = path + ".gnuplot";
  {
    std::ofstream out(script_path);
    if (!out) return "plot: skipped (cannot write " + script_path + ")";
    out << script.str();
  }
  const std::string command = "gnuplot " + script_path + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  std::string messages;
  int status = -1;
  if (pipe) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe)) messages += buffer;
    status = pclose(pipe);
  }
  std::filesystem::remove(script_path);
  if (status != 0) return "plot: gnuplot failed to draw " + path + ": " + messages;
  return "plot: " + path;
}

}  // namespace retrograd::cli
