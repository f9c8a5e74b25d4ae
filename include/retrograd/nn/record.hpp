#pragma once
/// @file record.hpp
/// `Record`: named values (integers, numbers, text, tensors, lists, nested records) in the order
/// they were set. Everything that saves itself — a layer's settings, an optimizer's
/// hyperparameters, a callback's counters, a run's TrainState — writes a Record; io encodes
/// Records as bytes (docs/io.md), so a new kind of state needs no new file format.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "retrograd/tensor.hpp"

namespace retrograd::nn {

class Record;

/// Thrown when a Record lacks a field or holds one of another type or out of range; the
/// message names the record's context and the field.
class RecordError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The RecordError of a field that is absent (rather than present with a value of the wrong
/// type): a misspelt setting first shows up as one of these.
class MissingFieldError : public RecordError {
 public:
  using RecordError::RecordError;
};

/// Named values in insertion order. Getters throw RecordError naming the field.
class Record {
 public:
  /// What a field may hold.
  using Value = std::variant<std::int64_t, double, std::string, Tensor, std::vector<std::uint64_t>,
                             std::vector<double>, std::vector<Record>>;

  /// An empty record; `context` names it in errors ("layer 'dense_0'").
  explicit Record(std::string context = {}) : context_(std::move(context)) {}

  /// Sets `key` (replacing a field of that name).
  Record& set(const std::string& key, Value value);
  /// Sets `key` to a size or counter (stored as an integer field; count() reads it back).
  Record& set_count(const std::string& key, std::size_t value) {
    return set(key, static_cast<std::int64_t>(value));
  }
  /// True when the record has `key`.
  bool has(const std::string& key) const;
  /// The fields in the order they were set.
  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  /// Number of fields.
  std::size_t size() const { return fields_.size(); }

  /// An integer field.
  std::int64_t integer(const std::string& key) const;
  /// An integer field that must be in [0, max].
  std::uint64_t count(const std::string& key, std::uint64_t max) const;
  /// An integer field read as a flag (0 or 1).
  bool flag(const std::string& key) const;
  /// A number field (an integer field converts).
  double number(const std::string& key) const;
  /// A text field.
  const std::string& text(const std::string& key) const;
  /// A tensor field.
  const Tensor& tensor(const std::string& key) const;
  /// A tensor field, movable.
  Tensor& tensor(const std::string& key);
  /// A list of unsigned integers.
  const std::vector<std::uint64_t>& integers(const std::string& key) const;
  /// A list of numbers.
  const std::vector<double>& numbers(const std::string& key) const;
  /// A nested record (stored as a list of one).
  const Record& record(const std::string& key) const;
  /// A list of records.
  const std::vector<Record>& records(const std::string& key) const;

  /// What errors call this record.
  const std::string& context() const { return context_; }
  /// Renames the record in errors.
  void set_context(std::string context) { context_ = std::move(context); }
  /// Throws RecordError "<context>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  // "<context>: <what>".
  std::string message(const std::string& what) const;
  const Value& find(const std::string& key, const char* type) const;
  template <class V>
  const V& get(const std::string& key, const char* type) const;

  std::string context_;
  std::vector<std::pair<std::string, Value>> fields_;
};

/// A field value holding one nested record (Record::record reads it back).
Record::Value nested(Record inner);

}  // namespace retrograd::nn
