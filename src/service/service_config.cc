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
  if (issues.error_count() != 0) return base::Err{ConfigError{issues.take_errors()}};
  config.warnings = issues.take_warnings();
  return config;
}

base::Result<ServiceConfig, ConfigError> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
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
