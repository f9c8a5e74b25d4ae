#include "retrograd/nn/record.hpp"

#include <cmath>

namespace retrograd::nn {

Record& Record::set(const std::string& key, Value value) {
  for (auto& field : fields_) {
    if (field.first == key) {
      field.second = std::move(value);
      return *this;
    }
  }
  fields_.emplace_back(key, std::move(value));
  return *this;
}

bool Record::has(const std::string& key) const {
  for (const auto& field : fields_) {
    if (field.first == key) return true;
  }
  return false;
}

std::string Record::message(const std::string& what) const {
  return (context_.empty() ? std::string("record") : context_) + ": " + what;
}

void Record::fail(const std::string& what) const { throw RecordError(message(what)); }

const Record::Value& Record::find(const std::string& key, const char* type) const {
  for (const auto& field : fields_) {
    if (field.first == key) return field.second;
  }
  throw MissingFieldError(message(std::string("missing ") + type + " field '" + key + "'"));
}

template <class V>
const V& Record::get(const std::string& key, const char* type) const {
  const Value& value = find(key, type);
  if (const V* v = std::get_if<V>(&value)) return *v;
  fail("field '" + key + "' is not " + type);
}

std::int64_t Record::integer(const std::string& key) const {
  return get<std::int64_t>(key, "an integer");
}

std::uint64_t Record::count(const std::string& key, std::uint64_t max) const {
  const std::int64_t v = integer(key);
  if (v < 0 || static_cast<std::uint64_t>(v) > max) {
    fail("field '" + key + "' is " + std::to_string(v) + ", outside [0, " + std::to_string(max) +
         "]");
  }
  return static_cast<std::uint64_t>(v);
}

bool Record::flag(const std::string& key) const {
  const std::int64_t v = integer(key);
  if (v != 0 && v != 1) fail("field '" + key + "' is " + std::to_string(v) + ", not 0 or 1");
  return v == 1;
}

double Record::number(const std::string& key) const {
  const Value& value = find(key, "a number");
  if (const double* v = std::get_if<double>(&value)) return *v;
  if (const std::int64_t* v = std::get_if<std::int64_t>(&value)) return static_cast<double>(*v);
  fail("field '" + key + "' is not a number");
}

const std::string& Record::text(const std::string& key) const {
  return get<std::string>(key, "a text");
}

const Tensor& Record::tensor(const std::string& key) const { return get<Tensor>(key, "a tensor"); }

Tensor& Record::tensor(const std::string& key) {
  return const_cast<Tensor&>(static_cast<const Record&>(*this).tensor(key));
}

const std::vector<std::uint64_t>& Record::integers(const std::string& key) const {
  return get<std::vector<std::uint64_t>>(key, "a list of integers");
}

const std::vector<double>& Record::numbers(const std::string& key) const {
  return get<std::vector<double>>(key, "a list of numbers");
}

const Record& Record::record(const std::string& key) const {
  const std::vector<Record>& list = records(key);
  if (list.size() != 1) fail("field '" + key + "' is not one record");
  return list.front();
}

const std::vector<Record>& Record::records(const std::string& key) const {
  return get<std::vector<Record>>(key, "a list of records");
}

Record::Value nested(Record inner) { return std::vector<Record>{std::move(inner)}; }

}  // namespace retrograd::nn
