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
#include "suggest.hpp"

#ifdef RETROGRAD_CLI_MPI
#include <retrograd/distributed/communicator.hpp>
#endif

namespace {

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

/// A first argument that is not an option must name a subcommand: CLI11 alone would answer
/// "A subcommand is required" to a typo.
void check_subcommand(const CLI::App& app, const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1].empty() || args[1][0] == '-') return;
  const std::vector<std::string> names = subcommand_names(app);
  if (std::find(names.begin(), names.end(), args[1]) != names.end()) return;
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  throw retrograd::cli::UsageError("unknown command '" + args[1] + "'" +
                                   retrograd::cli::did_you_mean(args[1], names) +
                                   " (commands: " + list + "; retrograd --help)");
}

/// What to say of the arguments CLI11 did not expect: each unknown flag of the subcommand with
/// the flags nearest to it, one per line; empty when the extras are all positional (CLI11's own
/// message then).
std::string unknown_flags_message(const CLI::App& app, const std::vector<std::string>& args) {
  const bool sub = args.size() > 1 && !args[1].empty() && args[1][0] != '-';
  const CLI::App& scope = sub ? *app.get_subcommand_ptr(args[1]) : app;
  const std::string who = sub ? "retrograd " + args[1] : "retrograd";
  std::vector<std::string> known;
  for (const CLI::Option* option : scope.get_options()) {
    for (const std::string& name : option->get_lnames()) known.push_back("--" + name);
  }
  std::string message;
  for (std::size_t i = sub ? 2 : 1; i < args.size() && args[i] != "--"; ++i) {
    if (args[i].size() < 2 || args[i][0] != '-') continue;
    const std::string flag = args[i].substr(0, args[i].find('='));
    if (scope.get_option_no_throw(flag)) continue;
    if (!message.empty()) message += "\nretrograd: ";
    message += "unknown flag " + flag + " for " + who + retrograd::cli::did_you_mean(flag, known);
  }
  if (!message.empty()) message += " (" + who + " --help lists its flags)";
  return message;
}

}  // namespace

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
  app.set_version_flag("--version", std::string("retrograd ") + RETROGRAD_VERSION);
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
  std::vector<std::string> args;
  try {
    args = retrograd::cli::expression_arguments(app, argc, argv);
    check_subcommand(app, args);
    std::vector<const char*> pointers;
    for (const std::string& arg : args) pointers.push_back(arg.c_str());
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ExtrasError& e) {
    const std::string message = unknown_flags_message(app, args);
    if (message.empty()) {
      code = app.exit(e);
    } else {
      std::cerr << "retrograd" + where + ": " + message + "\n";
      code = 2;
    }
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
