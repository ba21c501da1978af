// Typed, range-checked reads from a parsed TOML document (toml++), where every
// mismatch becomes a ConfigIssue at the offending node's position instead of a
// failure: the parser keeps going, so one run reports every mistake in the file.
//
// toml++ is used without exceptions (TOML_EXCEPTIONS=0, set for this library only)
// and compiled once, in toml_impl.cc; nothing outside src/service/ sees it.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/service/service_config.h"

namespace joyride::service::detail {

// The issues found so far, errors and warnings apart.
class Issues {
 public:
  explicit Issues(std::string_view file) : file_(file) {}

  void error(const toml::source_region& at, std::string key, std::string message, std::string expected);
  void warning(const toml::source_region& at, std::string key, std::string message, std::string expected);
  size_t error_count() const { return errors_.size(); }
  // Sorted by position (stable, so issues at one position keep the order found).
  std::vector<ConfigIssue> take_errors();
  std::vector<ConfigIssue> take_warnings();

 private:
  ConfigIssue make(const toml::source_region& at, std::string key, std::string message, std::string expected) const;

  std::string file_;
  std::vector<ConfigIssue> errors_;
  std::vector<ConfigIssue> warnings_;
};

// `"text"` with quotes, backslashes and control characters escaped, cut at 60 bytes.
std::string quoted(std::string_view text);
// What a node is, for "found ..." messages: `a string ("1500")`, `an array`.
std::string describe(const toml::node& node);
// "a, b, c".
std::string join(std::span<const std::string_view> words);
// The candidate closest to `word` by edit distance (a transposition counts one) when
// it is close enough to be a likely typo; empty otherwise.
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates);

// Single-node checks. Each reports a mismatch under `key` and returns empty.
std::optional<int64_t> check_integer(Issues& issues, const toml::node& node, const std::string& key, int64_t lo,
                                     int64_t hi);
std::optional<bool> check_bool(Issues& issues, const toml::node& node, const std::string& key);
const std::string* check_string(Issues& issues, const toml::node& node, const std::string& key,
                                std::string_view expected);
const toml::array* check_array(Issues& issues, const toml::node& node, const std::string& key,
                               std::string_view expected);
// One of `choices` (a string); the index of the match.
std::optional<size_t> check_choice(Issues& issues, const toml::node& node, const std::string& key,
                                   std::string_view what, std::span<const std::string_view> choices);

// One TOML table whose valid keys are known: unknown keys are reported (with the
// valid ones and the nearest match) when the reader is made.
class TableReader {
 public:
  TableReader(Issues& issues, const toml::table& table, std::string path, std::initializer_list<std::string_view> keys);

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }
  // "path.key", or "key" at the root.
  std::string path(std::string_view key) const;
  const toml::node* get(std::string_view key) const { return table_.get(key); }

  // Each leaves `out` unchanged when the key is absent or its value is rejected.
  template <typename T>
  void integer(std::string_view key, int64_t lo, int64_t hi, T& out) {
    if (const toml::node* n = get(key)) {
      if (auto v = check_integer(issues_, *n, path(key), lo, hi)) out = static_cast<T>(*v);
    }
  }
  void boolean(std::string_view key, bool& out);
  // The string, or null when absent or not a string.
  const std::string* string(std::string_view key, std::string_view expected);
  const toml::array* array(std::string_view key, std::string_view expected);
  // Reports a required key as missing, at the table's position.
  void missing(std::string_view key, std::string_view expected);

 private:
  Issues& issues_;
  const toml::table& table_;
  std::string path_;
};

}  // namespace joyride::service::detail
