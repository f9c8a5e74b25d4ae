// retrograd: train, evaluate and predict with MLPs; step through expressions; check gradients.

#include <iostream>

#include <retrograd/blas.hpp>

#include "cli_checks.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  retrograd::ensure_fast_blas(argv);
  CLI::App app{"retrograd: reverse-mode autodiff and MLPs in C++"};
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  retrograd::cli::add_train_command(app);
  retrograd::cli::add_evaluate_command(app);
  retrograd::cli::add_predict_command(app);
  retrograd::cli::add_export_command(app);
  retrograd::cli::add_trace_command(app);
  retrograd::cli::add_gradcheck_command(app);
  for (const char* name : {"train", "evaluate", "predict"}) {
    app.get_subcommand(name)
        ->add_option_function<int>(
            "--threads", [](int threads) { retrograd::set_blas_threads(threads); },
            "Threads for matrix products (OpenBLAS; default: OPENBLAS_NUM_THREADS, else every "
            "core)")
        ->check(retrograd::cli::whole_number(1, retrograd::cli::max_threads));
  }
  try {
    const std::vector<std::string> args = retrograd::cli::expression_arguments(app, argc, argv);
    std::vector<const char*> pointers;
    for (const std::string& arg : args) pointers.push_back(arg.c_str());
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const retrograd::cli::UsageError& e) {
    std::cerr << "retrograd: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "retrograd: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
