// retrograd: train, evaluate and predict with MLPs; step through expressions; check gradients.

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <retrograd/blas.hpp>
#include <string>
#include <thread>

#include "cli_checks.hpp"
#include "commands.hpp"
#include "launch.hpp"

#ifdef RETROGRAD_CLI_MPI
#include <retrograd/distributed/communicator.hpp>
#endif

int main(int argc, char** argv) {
  retrograd::ensure_fast_blas(argv);
  const retrograd::cli::Launch launch = retrograd::cli::detect_launch();
  const std::string where = launch.size > 1 ? " (process " + std::to_string(launch.rank) + " of " +
                                                  std::to_string(launch.size) + ")"
                                            : "";
#ifdef RETROGRAD_CLI_MPI
  std::optional<retrograd::distributed::Communicator> comm;
#endif
  if (launch.size > 1) {
#ifndef RETROGRAD_CLI_MPI
    if (launch.rank == 0) {
      std::cerr << "retrograd: started as one of " << launch.size
                << " processes (by mpirun or another MPI launcher), but this build has no MPI "
                   "support: rebuild it with cmake -DRETROGRAD_MPI=ON (Debian packages "
                   "libopenmpi-dev and openmpi-bin), or run it without mpirun\n";
    }
    return 2;
#else
    if (argc < 2 || std::string(argv[1]) != "train") {
      if (launch.rank == 0) {
        std::cerr << "retrograd: only 'retrograd train' runs on several processes; run '"
                  << (argc < 2 ? "retrograd" : "retrograd " + std::string(argv[1]))
                  << "' without mpirun\n";
      }
      return 2;
    }
    comm.emplace(argc, argv);
    // Process 0 speaks for the job; the others' output would only repeat it (errors still
    // reach stderr from every process).
    if (comm->rank() != 0) std::cout.setstate(std::ios::badbit);
    // The processes of this machine share its cores: one BLAS thread each unless told.
    if (!std::getenv("OPENBLAS_NUM_THREADS")) {
      const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
      retrograd::set_blas_threads(
          static_cast<int>(std::max<std::size_t>(1, cores / launch.local_size)));
    }
#endif
  }
  CLI::App app{"retrograd: reverse-mode autodiff and MLPs in C++"};
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  retrograd::cli::add_train_command(app);
  retrograd::cli::add_evaluate_command(app);
  retrograd::cli::add_predict_command(app);
  retrograd::cli::add_export_command(app);
  retrograd::cli::add_import_command(app);
  retrograd::cli::add_trace_command(app);
  retrograd::cli::add_gradcheck_command(app);
  for (const char* name : {"train", "evaluate", "predict"}) {
    app.get_subcommand(name)
        ->add_option_function<int>(
            "--threads", [](int threads) { retrograd::set_blas_threads(threads); },
            "Threads for matrix products (OpenBLAS; default: OPENBLAS_NUM_THREADS, else every "
            "core, shared among the processes of an MPI job on one machine)")
        ->check(retrograd::cli::whole_number(1, retrograd::cli::max_threads));
  }
  int code = 0;
  try {
    const std::vector<std::string> args = retrograd::cli::expression_arguments(app, argc, argv);
    std::vector<const char*> pointers;
    for (const std::string& arg : args) pointers.push_back(arg.c_str());
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& e) {
    code = app.exit(e);
  } catch (const retrograd::cli::UsageError& e) {
    // One write per message: under mpirun every process reports, and pieces written one by one
    // would interleave with the other processes' on the shared stderr.
    std::cerr << "retrograd" + where + ": " + e.what() + "\n";
    code = 2;
  } catch (const std::exception& e) {
    std::cerr << "retrograd" + where + ": error: " + e.what() + "\n";
    code = 1;
  }
#ifdef RETROGRAD_CLI_MPI
  // The other processes may be waiting for this one in a collective: end them all.
  if (comm && code != 0) comm->abort(code);
#endif
  return code;
}
