#pragma once
// The subcommands of the `retrograd` command line. Each adds itself to the app and runs when
// its subcommand is parsed.

#include <CLI/CLI.hpp>

namespace retrograd::cli {

/// Thrown for a user error the command reports as one line and exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void add_trace_command(CLI::App& app);
void add_gradcheck_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_export_command(CLI::App& app);

}  // namespace retrograd::cli
