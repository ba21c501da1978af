#include "toml_checker.h"

#include <algorithm>
#include <cstdio>

namespace joyride::service::detail {

ConfigIssue Issues::make(const toml::source_region& at, std::string key, std::string message,
                         std::string expected) const {
  ConfigIssue issue;
  issue.file = file_;
  issue.line = at.begin.line;
  issue.column = at.begin.column;
  issue.key = std::move(key);
  issue.message = std::move(message);
  issue.expected = std::move(expected);
  return issue;
}

void Issues::error(const toml::source_region& at, std::string key, std::string message, std::string expected) {
  errors_.push_back(make(at, std::move(key), std::move(message), std::move(expected)));
}

void Issues::warning(const toml::source_region& at, std::string key, std::string message, std::string expected) {
  warnings_.push_back(make(at, std::move(key), std::move(message), std::move(expected)));
}

namespace {
// toml::table is a map ordered by key, so checks run in key order, not file order.
std::vector<ConfigIssue> sorted(std::vector<ConfigIssue> v) {
  std::stable_sort(v.begin(), v.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return v;
}
}  // namespace

std::vector<ConfigIssue> Issues::take_errors() { return sorted(std::move(errors_)); }
std::vector<ConfigIssue> Issues::take_warnings() { return sorted(std::move(warnings_)); }

std::string quoted(std::string_view text) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string (" + quoted(**node.as_string()) + ")";
    case toml::node_type::integer: return "an integer (" + std::to_string(**node.as_integer()) + ")";
    case toml::node_type::floating_point: {
      char text[32];
      std::snprintf(text, sizeof text, "%g", **node.as_floating_point());
      return std::string("a float (") + text + ")";
    }
    case toml::node_type::boolean: return **node.as_boolean() ? "a boolean (true)" : "a boolean (false)";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

namespace {
// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so
// "mut" is one edit from "mtu".
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}
}  // namespace

std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view c : candidates) {
    const size_t dist = edit_distance(word, c);
    if (dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  // A third of the word may be wrong (at least one edit, at most three): close enough
  // to be a typo, far enough that unrelated words are not "suggested".
  const size_t allowed = std::clamp<size_t>(best.size() / 3, 1, 3);
  return best_distance <= allowed ? best : std::string_view{};
}

std::optional<int64_t> check_integer(Issues& issues, const toml::node& node, const std::string& key, int64_t lo,
                                     int64_t hi) {
  const std::string expected = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  const auto* v = node.as_integer();
  if (v == nullptr) {
    issues.error(node.source(), key, "found " + describe(node), expected);
    return std::nullopt;
  }
  if (**v < lo || **v > hi) {
    issues.error(node.source(), key, std::to_string(**v) + " is out of range", expected);
    return std::nullopt;
  }
  return **v;
}

std::optional<bool> check_bool(Issues& issues, const toml::node& node, const std::string& key) {
  if (const auto* v = node.as_boolean()) return **v;
  issues.error(node.source(), key, "found " + describe(node), "true or false");
  return std::nullopt;
}

const std::string* check_string(Issues& issues, const toml::node& node, const std::string& key,
                                std::string_view expected) {
  if (const auto* v = node.as_string()) return &v->get();
  issues.error(node.source(), key, "found " + describe(node), std::string(expected));
  return nullptr;
}

const toml::array* check_array(Issues& issues, const toml::node& node, const std::string& key,
                               std::string_view expected) {
  if (const auto* v = node.as_array()) return v;
  issues.error(node.source(), key, "found " + describe(node), std::string(expected));
  return nullptr;
}

std::optional<size_t> check_choice(Issues& issues, const toml::node& node, const std::string& key,
                                   std::string_view what, std::span<const std::string_view> choices) {
  std::string expected;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) expected += i + 1 == choices.size() ? " or " : ", ";
    expected += quoted(choices[i]);
  }
  const std::string* s = check_string(issues, node, key, expected);
  if (s == nullptr) return std::nullopt;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (*s == choices[i]) return i;
  }
  std::string message = quoted(*s) + " is not " + std::string(what);
  if (std::string_view near = nearest(*s, choices); !near.empty()) message += ", did you mean " + quoted(near) + "?";
  issues.error(node.source(), key, std::move(message), expected);
  return std::nullopt;
}

TableReader::TableReader(Issues& issues, const toml::table& table, std::string path,
                         std::initializer_list<std::string_view> keys)
    : issues_(issues), table_(table), path_(std::move(path)) {
  const std::span<const std::string_view> valid(keys.begin(), keys.size());
  for (auto&& [k, v] : table_) {
    if (std::find(keys.begin(), keys.end(), k.str()) != keys.end()) continue;
    // A table (or array of tables) here is a [header] the user wrote; say so.
    const bool is_table = v.is_table() || v.is_array_of_tables();
    std::string message = is_table ? "unknown table" : "unknown key";
    if (std::string_view near = nearest(k.str(), valid); !near.empty()) {
      message += ", did you mean " + quoted(near) + "?";
    }
    issues_.error(k.source(), this->path(k.str()), std::move(message), "one of: " + join(valid));
  }
}

std::string TableReader::path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void TableReader::boolean(std::string_view key, bool& out) {
  if (const toml::node* n = get(key)) {
    if (auto v = check_bool(issues_, *n, path(key))) out = *v;
  }
}

const std::string* TableReader::string(std::string_view key, std::string_view expected) {
  const toml::node* n = get(key);
  return n != nullptr ? check_string(issues_, *n, path(key), expected) : nullptr;
}

const toml::array* TableReader::array(std::string_view key, std::string_view expected) {
  const toml::node* n = get(key);
  return n != nullptr ? check_array(issues_, *n, path(key), expected) : nullptr;
}

void TableReader::missing(std::string_view key, std::string_view expected) {
  issues_.error(table_.source(), path(key), "is missing", std::string(expected));
}

}  // namespace joyride::service::detail
