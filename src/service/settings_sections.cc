// The scalar sections of joyrided.toml: [service], [eal], [limits], [services].
// Ranges are what the consumers accept (DPDK, AF_UNIX, the kernel's CPU sets), so a
// value that passes here does not fail later at start-up.
#include <grp.h>

#include <cctype>
#include <cstdio>

#include "sections.h"

namespace joyride::service::detail {

const toml::table* section_table(Issues& issues, const toml::node* node, std::string_view name) {
  if (node == nullptr) return nullptr;
  if (const toml::table* t = node->as_table()) return t;
  issues.error(node->source(), std::string(name), "found " + describe(*node),
               "a table ([" + std::string(name) + "])");
  return nullptr;
}

namespace {

constexpr int64_t kMaxCpu = 1023;  // CPU_SETSIZE - 1
constexpr size_t kMaxSunPath = 107;  // sizeof(sockaddr_un::sun_path) - 1 for the NUL

void parse_lcores(Issues& issues, const toml::array& array, const std::string& key, std::vector<uint32_t>& out) {
  if (array.empty()) {
    issues.error(array.source(), key, "is empty", "at least one CPU id, such as [0]");
    return;
  }
  std::vector<uint32_t> lcores;
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string element = key + "[" + std::to_string(i) + "]";
    const auto cpu = check_integer(issues, array[i], element, 0, kMaxCpu);
    if (!cpu) continue;
    for (size_t j = 0; j < i; ++j) {
      const auto* earlier = array[j].as_integer();
      if (earlier != nullptr && **earlier == *cpu) {
        issues.error(array[i].source(), element,
                     "CPU " + std::to_string(*cpu) + " is already listed as " + key + "[" + std::to_string(j) + "]",
                     "each CPU once");
        break;
      }
    }
    lcores.push_back(static_cast<uint32_t>(*cpu));
  }
  if (lcores.size() == array.size()) out = std::move(lcores);
}

std::string octal(int64_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "0o%llo", static_cast<unsigned long long>(v));
  return text;
}

// A permission string ("0660", "660") or a TOML octal integer (0o660).
void parse_mode(Issues& issues, const toml::node& node, const std::string& key, uint32_t& out) {
  constexpr const char* kExpected = "an octal permission string such as \"0660\" (or an integer such as 0o660) "
                                    "no greater than 0777";
  if (const auto* i = node.as_integer()) {
    if (**i < 0 || **i > 0777) {
      issues.error(node.source(), key, std::to_string(**i) + " (" + octal(**i) + ") is out of range", kExpected);
      return;
    }
    out = static_cast<uint32_t>(**i);
    return;
  }
  const std::string* s = check_string(issues, node, key, kExpected);
  if (s == nullptr) return;
  uint32_t mode = 0;
  bool ok = !s->empty() && s->size() <= 4;
  for (char c : *s) {
    if (c < '0' || c > '7') ok = false;
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (!ok || mode > 0777) {
    issues.error(node.source(), key, quoted(*s) + " is not an octal permission mode", kExpected);
    return;
  }
  out = mode;
}

void parse_control_socket(Issues& issues, const TableReader& r, std::string& out) {
  constexpr const char* kExpected = "an absolute path of at most 107 bytes, such as \"/run/joyride/joyrided.sock\"";
  const toml::node* node = r.get("control_socket");
  if (node == nullptr) return;
  const std::string* s = check_string(issues, *node, r.path("control_socket"), kExpected);
  if (s == nullptr) return;
  if (s->empty() || s->front() != '/') {
    issues.error(node->source(), r.path("control_socket"), quoted(*s) + " is not an absolute path", kExpected);
  } else if (s->size() > kMaxSunPath) {
    issues.error(node->source(), r.path("control_socket"),
                 "the path is " + std::to_string(s->size()) + " bytes long, more than a socket address holds",
                 kExpected);
  } else {
    out = *s;
  }
}

// control_group: a group name from the group database, or a numeric gid; the socket
// file gets that group, so its members may attach (with a mode granting the group).
void parse_control_group(Issues& issues, const TableReader& r, std::optional<uint32_t>& out) {
  constexpr const char* kExpected = "a group name from /etc/group, such as \"joyride\", or a numeric gid";
  const toml::node* node = r.get("control_group");
  if (node == nullptr) return;
  if (const auto* i = node->as_integer()) {
    if (**i < 0 || **i > 0x7ffffffe) {
      issues.error(node->source(), r.path("control_group"), std::to_string(**i) + " is out of range", kExpected);
      return;
    }
    out = static_cast<uint32_t>(**i);
    return;
  }
  const std::string* s = check_string(issues, *node, r.path("control_group"), kExpected);
  if (s == nullptr) return;
  const group* g = s->empty() ? nullptr : ::getgrnam(s->c_str());
  if (g == nullptr) {
    issues.error(node->source(), r.path("control_group"), "no group " + quoted(*s) + " on this machine", kExpected);
    return;
  }
  out = static_cast<uint32_t>(g->gr_gid);
}

}  // namespace

void parse_service_section(Issues& issues, const toml::node* node, ServiceOptions& out) {
  const toml::table* t = section_table(issues, node, "service");
  if (t == nullptr) return;
  TableReader r(issues, *t, "service",
                {"lcores", "polling", "idle_sleep_us", "idle_sleep_max_us", "busy_spin_us", "control_socket", "control_mode", "control_group", "log_level"});
  if (const toml::array* a = r.array("lcores", "an array of CPU ids, such as [0, 1]")) {
    parse_lcores(issues, *a, r.path("lcores"), out.lcores);
  }
  if (const toml::node* n = r.get("polling")) {
    constexpr std::string_view kModes[] = {"busy", "adaptive"};
    if (auto i = check_choice(issues, *n, r.path("polling"), "a polling mode", kModes)) {
      out.polling = *i == 0 ? PollingMode::kBusy : PollingMode::kAdaptive;
    }
  }
  r.integer("idle_sleep_us", 1, 100000, out.idle_sleep_us);
  r.integer("idle_sleep_max_us", 1, 1000000, out.idle_sleep_max_us);
  r.integer("busy_spin_us", 0, 100000, out.busy_spin_us);
  parse_control_socket(issues, r, out.control_socket);
  if (const toml::node* n = r.get("control_mode")) parse_mode(issues, *n, r.path("control_mode"), out.control_mode);
  parse_control_group(issues, r, out.control_group);
  if (const toml::node* n = r.get("log_level")) {
    constexpr std::string_view kLevels[] = {"error", "warn", "info", "debug", "trace"};
    if (auto i = check_choice(issues, *n, r.path("log_level"), "a log level", kLevels)) {
      out.log_level = static_cast<LogLevel>(*i);
    }
  }
}

namespace {

bool hex_digits(std::string_view s, size_t count) {
  if (s.size() != count) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A PCI address as DPDK's -a takes it: [domain:]bus:device.function, in hex, with a
// 4-digit domain, 2-digit bus, device 00..1f and function 0..7.
bool is_pci_address(std::string_view s) {
  if (s.size() == 12) {
    if (!hex_digits(s.substr(0, 4), 4) || s[4] != ':') return false;
    s.remove_prefix(5);
  }
  if (s.size() != 7 || !hex_digits(s.substr(0, 2), 2) || s[2] != ':' || !hex_digits(s.substr(3, 2), 2) ||
      s[5] != '.' || s[6] < '0' || s[6] > '7') {
    return false;
  }
  // Device numbers are 5 bits: the first hex digit is 0 or 1.
  return s[3] == '0' || s[3] == '1';
}

void parse_pci_allow(Issues& issues, const toml::array& array, const std::string& key, std::vector<std::string>& out) {
  constexpr const char* kExpected = "a PCI address such as \"0000:01:00.0\"";
  std::vector<std::string> addresses;
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string element = key + "[" + std::to_string(i) + "]";
    const std::string* s = check_string(issues, array[i], element, kExpected);
    if (s == nullptr) continue;
    if (!is_pci_address(*s)) {
      issues.error(array[i].source(), element, quoted(*s) + " is not a PCI address", kExpected);
      continue;
    }
    addresses.push_back(*s);
  }
  if (addresses.size() == array.size()) out = std::move(addresses);
}

void parse_strings(Issues& issues, const toml::array& array, const std::string& key, std::vector<std::string>& out) {
  std::vector<std::string> strings;
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string* s = check_string(issues, array[i], key + "[" + std::to_string(i) + "]", "a string");
    if (s != nullptr) strings.push_back(*s);
  }
  if (strings.size() == array.size()) out = std::move(strings);
}

void parse_file_prefix(Issues& issues, const TableReader& r, std::string& out) {
  constexpr const char* kExpected = "a name of letters, digits, '.', '_' or '-', such as \"joyrided\"";
  const toml::node* node = r.get("file_prefix");
  if (node == nullptr) return;
  const std::string* s = check_string(issues, *node, r.path("file_prefix"), kExpected);
  if (s == nullptr) return;
  bool ok = !s->empty();
  for (char c : *s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') ok = false;
  }
  // DPDK puts the prefix in file names under /var/run/dpdk/.
  if (!ok) {
    issues.error(node->source(), r.path("file_prefix"), quoted(*s) + " is not a usable file prefix", kExpected);
    return;
  }
  out = *s;
}

}  // namespace

void parse_eal_section(Issues& issues, const toml::node* node, EalOptions& out) {
  const toml::table* t = section_table(issues, node, "eal");
  if (t == nullptr) return;
  TableReader r(issues, *t, "eal", {"no_huge", "memory_mb", "file_prefix", "pci_allow", "extra_args"});
  r.boolean("no_huge", out.no_huge);
  r.integer("memory_mb", 16, 1048576, out.memory_mb);
  parse_file_prefix(issues, r, out.file_prefix);
  if (const toml::array* a = r.array("pci_allow", "an array of PCI addresses, such as [\"0000:01:00.0\"]")) {
    parse_pci_allow(issues, *a, r.path("pci_allow"), out.pci_allow);
  }
  if (const toml::array* a = r.array("extra_args", "an array of strings")) {
    parse_strings(issues, *a, r.path("extra_args"), out.extra_args);
  }
}

namespace {

// A Linux-style (min, default, max) triple of socket buffer sizes.
void parse_buffer_bounds(Issues& issues, const TableReader& r, std::string_view name, std::string_view example,
                         BufferBounds& out) {
  const std::string expected =
      "three byte counts from 1024 to 1073741824 with min <= default <= max, such as " + std::string(example);
  const toml::node* node = r.get(name);
  if (node == nullptr) return;
  const std::string key = r.path(name);
  const toml::array* a = check_array(issues, *node, key, expected);
  if (a == nullptr) return;
  if (a->size() != 3) {
    issues.error(a->source(), key, "has " + std::to_string(a->size()) + " elements", expected);
    return;
  }
  int64_t v[3];
  bool ok = true;
  for (size_t i = 0; i < 3; ++i) {
    auto n = check_integer(issues, (*a)[i], key + "[" + std::to_string(i) + "]", 1024, int64_t{1} << 30);
    ok = ok && n.has_value();
    v[i] = n.value_or(0);
  }
  if (!ok) return;
  if (v[0] > v[1]) {
    issues.error(a->source(), key,
                 "min " + std::to_string(v[0]) + " is larger than default " + std::to_string(v[1]), expected);
  } else if (v[1] > v[2]) {
    issues.error(a->source(), key,
                 "default " + std::to_string(v[1]) + " is larger than max " + std::to_string(v[2]), expected);
  } else {
    out = BufferBounds{static_cast<size_t>(v[0]), static_cast<size_t>(v[1]), static_cast<size_t>(v[2])};
  }
}

// net.ipv4.tcp_tw_reuse's three values, named in the message as the sysctl's
// documentation names them.
void parse_tw_reuse(Issues& issues, const TableReader& r, uint8_t& out) {
  const toml::node* node = r.get("tcp_tw_reuse");
  if (node == nullptr) return;
  const std::string expected =
      "0 (never), 1 (always) or 2 (for loopback pairs only, Linux's default), as net.ipv4.tcp_tw_reuse";
  const auto* v = node->as_integer();
  if (v == nullptr) {
    issues.error(node->source(), r.path("tcp_tw_reuse"), "found " + describe(*node), expected);
  } else if (**v < 0 || **v > 2) {
    issues.error(node->source(), r.path("tcp_tw_reuse"), std::to_string(**v) + " is not a tcp_tw_reuse mode",
                 expected);
  } else {
    out = static_cast<uint8_t>(**v);
  }
}

}  // namespace

void parse_limits_section(Issues& issues, const toml::node* node, LimitOptions& out) {
  const toml::table* t = section_table(issues, node, "limits");
  if (t == nullptr) return;
  TableReader r(issues, *t, "limits", {"mbufs", "max_sockets", "tcp_rmem", "tcp_wmem", "max_apps", "tcp_tw_reuse",
                                                "app_max_sockets", "app_fifo_bytes", "app_buffer_bytes"});
  r.integer("mbufs", 1024, 16777216, out.mbufs);
  r.integer("max_sockets", 1, 4194304, out.max_sockets);
  parse_buffer_bounds(issues, r, "tcp_rmem", "[4096, 131072, 6291456]", out.tcp_rmem);
  parse_buffer_bounds(issues, r, "tcp_wmem", "[4096, 65536, 4194304]", out.tcp_wmem);
  r.integer("max_apps", 1, 4096, out.max_apps);
  r.integer("app_max_sockets", 1, 4096, out.app_max_sockets);
  r.integer("app_fifo_bytes", 4096, 16777216, out.app_fifo_bytes);
  if (const toml::node* n = t->get("app_fifo_bytes"); n != nullptr && out.app_fifo_bytes % 64 != 0)
    issues.error(n->source(), "limits.app_fifo_bytes", std::to_string(out.app_fifo_bytes) + " is not a multiple of 64",
                 "a multiple of 64 from 4096 to 16777216, such as 262144");
  r.integer("app_buffer_bytes", 1 << 20, int64_t{1} << 40, out.app_buffer_bytes);
  if (const toml::node* n = t->get("app_buffer_bytes"); n != nullptr && out.app_buffer_bytes % 4096 != 0)
    issues.error(n->source(), "limits.app_buffer_bytes",
                 std::to_string(out.app_buffer_bytes) + " is not a multiple of 4096 (the page size)",
                 "a multiple of 4096 from 1048576 to 1099511627776, such as 1073741824");
  parse_tw_reuse(issues, r, out.tcp_tw_reuse);
}

void parse_services_section(Issues& issues, const toml::node* node, BuiltinServices& out) {
  const toml::table* t = section_table(issues, node, "services");
  if (t == nullptr) return;
  TableReader r(issues, *t, "services", {"echo", "discard", "chargen", "echo_port", "discard_port", "chargen_port",
                                           "discard_checksum"});
  r.boolean("echo", out.echo);
  r.boolean("discard", out.discard);
  r.boolean("chargen", out.chargen);
  r.integer("echo_port", 1, 65535, out.echo_port);
  r.integer("discard_port", 1, 65535, out.discard_port);
  r.integer("chargen_port", 1, 65535, out.chargen_port);
  r.boolean("discard_checksum", out.discard_checksum);

  // Two enabled services cannot share a port. Blame the later of the pair the file
  // sets explicitly (a default cannot be pointed at).
  struct Service {
    std::string_view name;
    bool enabled;
    uint16_t port;
  };
  const Service services[] = {
      {"echo", out.echo, out.echo_port}, {"discard", out.discard, out.discard_port},
      {"chargen", out.chargen, out.chargen_port}};
  for (size_t i = 1; i < 3; ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (!services[i].enabled || !services[j].enabled || services[i].port != services[j].port) continue;
      const std::string later = std::string(services[i].name) + "_port";
      const std::string earlier = std::string(services[j].name) + "_port";
      const toml::node* blamed = r.get(later) != nullptr ? r.get(later) : r.get(earlier);
      const std::string& blamed_key = r.get(later) != nullptr ? later : earlier;
      const std::string_view other = r.get(later) != nullptr ? services[j].name : services[i].name;
      issues.error(blamed != nullptr ? blamed->source() : t->source(), r.path(blamed_key),
                   "port " + std::to_string(services[i].port) + " is also the " + std::string(other) + " port",
                   "a distinct port for each enabled service");
    }
  }
}

}  // namespace joyride::service::detail
