// Expressions that begin with '-' on the command line (see expression_arguments).

#include "commands.hpp"

namespace retrograd::cli {

std::vector<std::string> expression_arguments(const CLI::App& app, int argc,
                                              const char* const* argv) {
  std::vector<std::string> args(argv, argv + argc);
  const CLI::App* command = nullptr;
  std::size_t i = 1;
  for (; i < args.size() && !command; ++i) {
    const std::string& name = args[i];
    const auto named =
        app.get_subcommands([&](const CLI::App* sub) { return sub->check_name(name); });
    if (!named.empty()) command = named.front();
  }
  if (!command || !command->get_option_no_throw("--expression")) return args;
  for (; i < args.size() && args[i] != "--"; ++i) {
    const std::string& arg = args[i];
    // The expression is the first positional argument: once one is seen, an unknown "-x"
    // is a mistyped flag, which CLI11 reports.
    if (arg.size() < 2 || arg[0] != '-') return args;
    const CLI::Option* option = command->get_option_no_throw(arg.substr(0, arg.find('=')));
    if (option) {
      if (arg.find('=') == std::string::npos && option->get_items_expected_min() > 0) ++i;
    } else if (arg[1] != '-') {
      args[i] = "--expression=" + arg;
      return args;
    }
  }
  return args;
}

}  // namespace retrograd::cli
