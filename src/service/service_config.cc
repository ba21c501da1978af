// parse_config: TOML syntax first (toml++ stops at the first syntax error, so that
// is the only issue then), then every section, collecting all issues in file order.
#include "joyride/service/service_config.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "sections.h"
#include "toml_checker.h"

namespace joyride::service {

std::string ConfigIssue::to_string() const {
  std::string out = file;
  if (line != 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  if (!expected.empty()) out += "; expected " + expected;
  return out;
}

std::string ConfigError::to_string() const {
  std::string out;
  for (const ConfigIssue& issue : issues) out += issue.to_string() + "\n";
  return out;
}

namespace {

// Every receive descriptor holds an mbuf from the start and every transmit descriptor
// may hold one, so a pool smaller than all rings together makes DPDK fail at start-up
// (or starve receive). Blame limits.mbufs when the file sets it, else the interface
// whose rings pass the pool's size.
void check_mbufs_fill_rings(detail::Issues& issues, const toml::table& root, const ServiceConfig& config) {
  const toml::node* mbufs = root.at_path("limits.mbufs").node();
  uint64_t total = 0;
  std::optional<size_t> first_over;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const InterfaceOptions& iface = config.interfaces[i];
    total += uint64_t{iface.rx_queues} * iface.rx_ring + uint64_t{iface.tx_queues} * iface.tx_ring;
    if (!first_over && total > config.limits.mbufs) first_over = i;
  }
  if (!first_over) return;
  const std::string expected = "limits.mbufs of at least " + std::to_string(total) + " (twice that leaves room for "
                               "packets in flight), or smaller rings";
  const std::string message = std::to_string(config.limits.mbufs) + " mbufs cannot fill the " +
                              std::to_string(total) + " ring descriptors of the interfaces";
  if (mbufs != nullptr && mbufs->is_integer()) {
    issues.error(mbufs->source(), "limits.mbufs", message, expected);
    return;
  }
  const toml::node* table = root.at_path("interface[" + std::to_string(*first_over) + "]").node();
  issues.error(table != nullptr ? table->source() : root.source(), "interface[" + std::to_string(*first_over) + "]",
               message, expected);
}

}  // namespace

base::Result<ServiceConfig, ConfigError> parse_config(std::string_view text, std::string_view file_name) {
  toml::parse_result parsed = toml::parse(text, file_name);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    ConfigIssue issue;
    issue.file = std::string(file_name);
    issue.line = e.source().begin.line;
    issue.column = e.source().begin.column;
    issue.message = "TOML syntax: " + std::string(e.description());
    return base::Err{ConfigError{{std::move(issue)}}};
  }
  const toml::table& root = parsed.table();
  detail::Issues issues(file_name);
  ServiceConfig config;
  detail::TableReader r(issues, root, "", {"service", "eal", "interface", "route", "limits", "services"});
  detail::parse_service_section(issues, r.get("service"), config.service);
  detail::parse_eal_section(issues, r.get("eal"), config.eal);
  const bool interfaces_ok = detail::parse_interface_sections(issues, root, r.get("interface"), config);
  detail::parse_route_sections(issues, r.get("route"), interfaces_ok, config);
  detail::parse_limits_section(issues, r.get("limits"), config.limits);
  detail::parse_services_section(issues, r.get("services"), config.services);
  if (issues.error_count() == 0) check_mbufs_fill_rings(issues, root, config);
  if (issues.error_count() != 0) return base::Err{ConfigError{issues.take_errors()}};
  config.warnings = issues.take_warnings();
  return config;
}

base::Result<ServiceConfig, ConfigError> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;  // libstdc++'s filebuf::open leaves open(2)'s errno
    ConfigIssue issue;
    issue.file = path;
    issue.message = "cannot open: " + std::system_category().message(err);
    issue.expected = "a readable TOML file";
    return base::Err{ConfigError{{std::move(issue)}}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace joyride::service
