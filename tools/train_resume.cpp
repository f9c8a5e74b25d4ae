#include "train_resume.hpp"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <retrograd/data/mnist.hpp>

#include "commands.hpp"

namespace retrograd::cli {

namespace {

namespace fs = std::filesystem;

/// How a resumed run treats a recorded flag given again.
enum class Kind {
  /// Shapes the run: another value is a contradiction.
  setting,
  /// An output path: may change.
  output,
  /// --data: may name another path to the same bytes.
  data,
};

/// A flag a checkpoint keeps (run_info), so that --resume needs none of them again.
struct SavedFlag {
  const char* flag;
  Kind kind;
  std::function<std::string(const TrainArgs&)> get;
  std::function<void(TrainArgs&, const std::string&)> set;
};

const std::vector<SavedFlag>& saved_flags() {
  // --epochs is apart: a resumed run may be given more epochs to train further.
  static const std::vector<SavedFlag> flags = {
      {"--data", Kind::data, [](const TrainArgs& a) { return a.data.path; },
       [](TrainArgs& a, const std::string& v) { a.data.path = v; }},
      {"--label-column", Kind::setting, [](const TrainArgs& a) { return a.data.label_column; },
       [](TrainArgs& a, const std::string& v) { a.data.label_column = v; }},
      {"--no-header", Kind::setting,
       [](const TrainArgs& a) { return std::string(a.data.no_header ? "1" : "0"); },
       [](TrainArgs& a, const std::string& v) { a.data.no_header = v == "1"; }},
      {"--delimiter", Kind::setting,
       [](const TrainArgs& a) { return std::string(1, a.data.delimiter); },
       [](TrainArgs& a, const std::string& v) { a.data.delimiter = v.empty() ? ',' : v[0]; }},
      {"--layers", Kind::setting, [](const TrainArgs& a) { return a.layers; },
       [](TrainArgs& a, const std::string& v) { a.layers = v; }},
      {"--model", Kind::setting, [](const TrainArgs& a) { return a.model; },
       [](TrainArgs& a, const std::string& v) { a.model = v; }},
      {"--input-shape", Kind::setting, [](const TrainArgs& a) { return a.input_shape; },
       [](TrainArgs& a, const std::string& v) { a.input_shape = v; }},
      {"--early-stopping", Kind::setting, [](const TrainArgs& a) { return a.early_stopping; },
       [](TrainArgs& a, const std::string& v) { a.early_stopping = v; }},
      {"--activation", Kind::setting, [](const TrainArgs& a) { return a.activation; },
       [](TrainArgs& a, const std::string& v) { a.activation = v; }},
      {"--loss", Kind::setting, [](const TrainArgs& a) { return a.loss; },
       [](TrainArgs& a, const std::string& v) { a.loss = v; }},
      {"--optimizer", Kind::setting, [](const TrainArgs& a) { return a.optimizer; },
       [](TrainArgs& a, const std::string& v) { a.optimizer = v; }},
      {"--lr", Kind::setting, [](const TrainArgs& a) { return text_of(a.lr); },
       [](TrainArgs& a, const std::string& v) { a.lr = std::stod(v); }},
      {"--momentum", Kind::setting, [](const TrainArgs& a) { return text_of(a.momentum); },
       [](TrainArgs& a, const std::string& v) { a.momentum = std::stod(v); }},
      {"--lr-decay", Kind::setting, [](const TrainArgs& a) { return text_of(a.lr_decay); },
       [](TrainArgs& a, const std::string& v) { a.lr_decay = std::stod(v); }},
      {"--schedule", Kind::setting, [](const TrainArgs& a) { return a.schedule; },
       [](TrainArgs& a, const std::string& v) { a.schedule = v; }},
      {"--batch-size", Kind::setting,
       [](const TrainArgs& a) { return std::to_string(a.batch_size); },
       [](TrainArgs& a, const std::string& v) { a.batch_size = std::stoull(v); }},
      {"--seed", Kind::setting, [](const TrainArgs& a) { return std::to_string(a.seed); },
       [](TrainArgs& a, const std::string& v) { a.seed = std::stoull(v); }},
      {"--validation-split", Kind::setting,
       [](const TrainArgs& a) { return text_of(a.validation_split); },
       [](TrainArgs& a, const std::string& v) { a.validation_split = std::stod(v); }},
      {"--save", Kind::output, [](const TrainArgs& a) { return a.save; },
       [](TrainArgs& a, const std::string& v) { a.save = v; }},
      {"--history", Kind::output, [](const TrainArgs& a) { return a.history; },
       [](TrainArgs& a, const std::string& v) { a.history = v; }},
      {"--plot", Kind::output, [](const TrainArgs& a) { return a.plot; },
       [](TrainArgs& a, const std::string& v) { a.plot = v; }},
      {"--checkpoint-every", Kind::setting,
       [](const TrainArgs& a) { return std::to_string(a.checkpoint_every); },
       [](TrainArgs& a, const std::string& v) { a.checkpoint_every = std::stoull(v); }},
  };
  return flags;
}

/// The files data_fingerprint() describes, without reading them.
std::vector<std::string> data_file_paths(const std::string& data_path) {
  std::error_code ec;
  const fs::file_status status = fs::status(data_path, ec);
  if (!fs::exists(status)) {
    throw UsageError("--data: " + data_path +
                     " does not exist (expected an MNIST-format IDX directory or a CSV file)");
  }
  if (fs::is_directory(status)) {
    return {data::find_mnist_file(data_path, "train-images-idx3-ubyte"),
            data::find_mnist_file(data_path, "train-labels-idx1-ubyte")};
  }
  if (fs::is_regular_file(status)) return {data_path};
  return {};
}

std::uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t bytes = fs::file_size(path, ec);
  if (ec) throw UsageError("--data: cannot read the size of " + path + ": " + ec.message());
  return bytes;
}

std::uint32_t crc32_of_file(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) throw UsageError("--data: cannot open " + path + " to check it");
  std::vector<unsigned char> buffer(std::size_t(1) << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    crc = crc32(crc, buffer.data(), static_cast<uInt>(n));
  }
  if (std::ferror(file.get())) throw UsageError("--data: read error in " + path);
  return static_cast<std::uint32_t>(crc);
}

std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

std::string hex(std::uint32_t v) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%08x", v);
  return buffer;
}

}  // namespace

std::string resolved_path(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) return path;
  const fs::path resolved = fs::weakly_canonical(absolute, ec);
  return (ec ? absolute.lexically_normal() : resolved).string();
}

std::vector<DataFile> data_fingerprint(const std::string& data_path) {
  std::vector<DataFile> files;
  for (const std::string& path : data_file_paths(data_path)) {
    files.push_back({name_of(path), size_of(path), crc32_of_file(path)});
  }
  return files;
}

nn::Record run_info_of(const TrainArgs& a, const std::vector<DataFile>& data) {
  nn::Record info("the command line of the checkpointed run");
  for (const SavedFlag& f : saved_flags()) {
    info.set(f.flag, f.kind == Kind::setting ? f.get(a) : resolved_path(f.get(a)));
  }
  info.set("--epochs", std::to_string(a.epochs));
  std::vector<nn::Record> files;
  for (const DataFile& d : data) {
    nn::Record file("data file " + d.name);
    file.set("name", d.name);
    file.set("bytes", static_cast<std::int64_t>(d.bytes));
    file.set("crc32", static_cast<std::int64_t>(d.crc32));
    files.push_back(std::move(file));
  }
  info.set("data files", std::move(files));
  return info;
}

TrainArgs resumed_args(const TrainArgs& given, const CLI::App& cmd, const nn::Record& info,
                       const std::string& checkpoint) {
  // The recorded flags, each read back: a number then compares by value, whatever digits it
  // was saved with.
  TrainArgs run;
  for (const SavedFlag& f : saved_flags()) {
    f.set(run, info.has(f.flag) ? info.text(f.flag) : f.get(TrainArgs{}));
  }
  // Checkpoints written before the defaults were recorded resolved hold 0 for them.
  if (run.lr == 0) run.lr = default_lr(run.optimizer);
  if (run.lr_decay == 0 && run.schedule.empty()) {
    run.lr_decay = default_lr_decay(std::stoull(info.text("--epochs")));
  }
  TrainArgs a = given;
  for (const SavedFlag& f : saved_flags()) {
    const bool given_now = cmd.count(f.flag) > 0;
    if (f.kind == Kind::setting && given_now && f.get(given) != f.get(run)) {
      throw UsageError(std::string(f.flag) + " " + f.get(given) +
                       " contradicts the run being resumed, which has " + f.flag + " " +
                       f.get(run) + " (" + checkpoint +
                       "); leave the flag out to continue that run");
    }
    if (f.kind == Kind::setting || !given_now) f.set(a, f.get(run));
  }
  if (cmd.count("--epochs") == 0) a.epochs = std::stoull(info.text("--epochs"));
  if (cmd.count("--checkpoint-dir") > 0 &&
      resolved_path(given.checkpoint_dir) != resolved_path(given.resume)) {
    throw UsageError("--checkpoint-dir " + given.checkpoint_dir +
                     ": a resumed run writes its checkpoints where it reads them (--resume " +
                     given.resume + "); leave --checkpoint-dir out");
  }
  a.checkpoint_dir = given.resume;
  return a;
}

std::vector<DataFile> resumed_data(const std::string& data_path, const nn::Record& info,
                                   const std::string& checkpoint) {
  const std::string recorded = info.has("--data") ? info.text("--data") : "";
  const bool same_path = resolved_path(data_path) == resolved_path(recorded);
  const bool recorded_files = info.has("data files");
  if (!same_path && (!recorded_files || info.records("data files").empty())) {
    throw UsageError("--data " + data_path + ": the run being resumed read " + recorded +
                     ", and its checkpoint (" + checkpoint + ") " +
                     (recorded_files ? "could not record those bytes (not a regular file)"
                                     : "predates the record of its data's size and crc32") +
                     ", so no other path can be checked against it: give that path");
  }
  std::error_code ec;
  if (same_path && !fs::exists(data_path, ec)) {
    throw UsageError("--resume: the data of the run, " + recorded + ", no longer exists (" +
                     checkpoint +
                     "); give --data with the same data where it is now (its size and crc32 "
                     "are checked)");
  }
  const std::vector<std::string> paths = data_file_paths(data_path);
  if (!recorded_files) return data_fingerprint(data_path);

  const std::string which =
      same_path
          ? "the data " + data_path + " has changed since the run being resumed read it"
          : "--data " + data_path + " is not the data of the run being resumed (" + recorded + ")";
  const std::string advice = " (" + checkpoint + ")";
  const std::vector<nn::Record>& saved = info.records("data files");
  if (paths.size() != saved.size()) {
    throw UsageError(which + ": " + std::to_string(paths.size()) +
                     " data file(s) where the run read " + std::to_string(saved.size()) + advice);
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::uint64_t bytes = size_of(paths[i]);
    const std::uint64_t saved_bytes = saved[i].count("bytes", ~std::uint64_t(0) >> 1);
    if (bytes != saved_bytes) {
      throw UsageError(which + ": " + name_of(paths[i]) + " has " + std::to_string(bytes) +
                       " bytes, the run's " + saved[i].text("name") + " had " +
                       std::to_string(saved_bytes) + advice);
    }
  }
  std::vector<DataFile> files;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::uint32_t crc = crc32_of_file(paths[i]);
    const auto saved_crc = static_cast<std::uint32_t>(saved[i].count("crc32", 0xffffffffu));
    if (crc != saved_crc) {
      throw UsageError(which + ": " + name_of(paths[i]) + " has the size of the run's " +
                       saved[i].text("name") + " (" + std::to_string(size_of(paths[i])) +
                       " bytes) but other contents (crc32 " + hex(crc) + ", the run's " +
                       hex(saved_crc) + ")" + advice);
    }
    files.push_back({name_of(paths[i]), size_of(paths[i]), crc});
  }
  return files;
}

}  // namespace retrograd::cli
