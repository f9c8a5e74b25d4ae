#pragma once
// What a checkpoint of `retrograd train` records of its run (TrainState::run_info) so that
// `retrograd train --resume DIR` needs no flag again and works from any directory: every flag
// that shapes the run, the paths absolute, and the size and crc32 of each data file.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <retrograd/nn/record.hpp>
#include <string>
#include <vector>

#include "train_args.hpp"

namespace retrograd::cli {

/// `path` absolute, with "." and ".." and symbolic links resolved as far as it exists; ""
/// stays "".
std::string resolved_path(const std::string& path);

/// One file a run's data came from.
struct DataFile {
  /// Its name without the directory ("blobs.csv", "train-images-idx3-ubyte.gz").
  std::string name;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
};

/// The files --data names, each with its size and crc32: the CSV file, or the training images
/// and labels of an IDX directory (the files load_mnist reads). Empty for data that is not a
/// regular file (a FIFO), which cannot be read twice. Throws UsageError for a missing path.
std::vector<DataFile> data_fingerprint(const std::string& data_path);

/// The record of the run `a` (its data fingerprinted as `data`): the flags, paths resolved,
/// --epochs and the data files.
nn::Record run_info_of(const TrainArgs& a, const std::vector<DataFile>& data);

/// The flags of the run recorded in `info` (read from `checkpoint`), with the ones given now
/// (those `cmd` counts) checked against them:
/// - --save, --history and --plot may change (the run then writes there);
/// - --data may name another path to the same data (resumed_data() checks the bytes);
/// - --epochs may change; any other flag given with another value is an error naming both.
/// A flag newer than the checkpoint had its default in that run; an --lr or --lr-decay of 0
/// (checkpoints written before they were recorded resolved) is that run's default.
TrainArgs resumed_args(const TrainArgs& given, const CLI::App& cmd, const nn::Record& info,
                       const std::string& checkpoint);

/// The files of `data_path` (the resumed run's --data), checked against those `info` recorded:
/// sizes first, then crc32s. Throws UsageError naming both paths and what differs, or saying
/// that a checkpoint without a record of its data needs the run's own path.
std::vector<DataFile> resumed_data(const std::string& data_path, const nn::Record& info,
                                   const std::string& checkpoint);

}  // namespace retrograd::cli
