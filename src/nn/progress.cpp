#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

namespace retrograd::nn::detail {

namespace {
constexpr std::size_t kBarWidth = 30;
// Redraws per second on a terminal: more would cost time on fast epochs for no one to see.
constexpr double kRedrawInterval = 0.1;

std::string per_step(double seconds) {
  char buf[32];
  if (seconds >= 1) {
    std::snprintf(buf, sizeof buf, "%.0fs/step", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(buf, sizeof buf, "%.0fms/step", seconds * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fus/step", seconds * 1e6);
  }
  return buf;
}
}  // namespace

std::string format_logs(const Logs& logs) {
  std::string out;
  char buf[64];
  for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
    auto it = logs.find(key);
    if (it == logs.end()) continue;
    std::snprintf(buf, sizeof buf, "%s%s: %.4f", out.empty() ? "" : " - ", key, it->second);
    out += buf;
  }
  return out;
}

Progress::Progress(std::ostream& out, int verbose, bool terminal, std::size_t epoch,
                   std::size_t epochs, std::size_t batches)
    : out_(out),
      verbose_(verbose),
      terminal_(terminal),
      epoch_(epoch),
      epochs_(epochs),
      batches_(batches),
      start_(std::chrono::steady_clock::now()) {
  if (verbose_ == 1 && terminal_) out_ << "Epoch " << epoch_ + 1 << "/" << epochs_ << "\n";
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::line(std::size_t done, const Logs& logs) const {
  const std::string total = std::to_string(batches_);
  std::string count = std::to_string(done);
  count = std::string(total.size() - std::min(total.size(), count.size()), ' ') + count;
  const std::size_t filled = batches_ == 0 ? kBarWidth : done * kBarWidth / batches_;
  std::string bar(filled, '=');
  if (filled < kBarWidth) bar += '>' + std::string(kBarWidth - filled - 1, '.');
  const double seconds = elapsed();
  std::ostringstream s;
  s << count << "/" << total << " [" << bar << "] " << std::lround(seconds) << "s "
    << per_step(done == 0 ? 0 : seconds / done);
  const std::string metrics = format_logs(logs);
  if (!metrics.empty()) s << " - " << metrics;
  return s.str();
}

void Progress::update(std::size_t done, const Logs& logs) {
  if (verbose_ != 1 || !terminal_) return;
  const double now = elapsed();
  if (done < batches_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  // \33[2K clears the line so a shorter redraw leaves no tail.
  out_ << "\r\33[2K" << line(done, logs) << std::flush;
  open_ = true;
}

void Progress::finish(const Logs& logs) {
  if (verbose_ == 0) return;
  if (verbose_ == 2) {
    const double seconds = elapsed();
    out_ << "Epoch " << epoch_ + 1 << "/" << epochs_ << " - " << std::lround(seconds) << "s "
         << per_step(batches_ == 0 ? 0 : seconds / batches_) << " - " << format_logs(logs)
         << std::endl;
    return;
  }
  if (terminal_) {
    out_ << "\r\33[2K" << line(batches_, logs) << std::endl;
  } else {
    out_ << "Epoch " << epoch_ + 1 << "/" << epochs_ << " " << line(batches_, logs) << std::endl;
  }
  open_ = false;
}

void Progress::abort() {
  if (open_) out_ << std::endl;
  open_ = false;
}

}  // namespace retrograd::nn::detail
