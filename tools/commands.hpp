#pragma once
// The subcommands of the `retrograd` command line. Each adds itself to the app and runs when
// its subcommand is parsed.

#include <CLI/CLI.hpp>
#include <map>
#include <retrograd/nn/sequential.hpp>
#include <retrograd/var.hpp>
#include <string>
#include <vector>

namespace retrograd::cli {

/// Thrown for a user error the command reports as one line and exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The variables of `trace` and `gradcheck`: NAME=VALUE arguments, each a named leaf that
/// requires a gradient. Throws UsageError (naming `command`) for a malformed one.
std::map<std::string, VarD> parse_assignments(const std::string& command,
                                              const std::vector<std::string>& assignments);

/// The graph of `expression` over the variables `assignments`; a syntax error becomes a
/// UsageError naming `command` and pointing at the column.
VarD build_expression(const std::string& command, const std::string& expression,
                      const std::vector<std::string>& assignments);

/// argv as CLI11 should read it. CLI11 takes every argument that begins with '-' for an
/// option, so `retrograd trace "-x * y" x=1 y=2` would fail: for a command that has an
/// `--expression` option, a first positional argument that begins with a single '-' and names
/// none of the command's options becomes `--expression=ARGUMENT`. Arguments after `--` and
/// unknown `--flags` are left alone.
std::vector<std::string> expression_arguments(const CLI::App& app, int argc,
                                              const char* const* argv);

void add_trace_command(CLI::App& app);
void add_gradcheck_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_import_command(CLI::App& app);

/// The model in `path`: a retrograd model file, or an ONNX file (by its .onnx extension)
/// imported and compiled as a classifier (cross-entropy, accuracy). A functional model (one
/// input, one output) comes as a Sequential of that one layer, compiled as a classifier.
nn::Sequential load_model_file(const std::string& path);

}  // namespace retrograd::cli
