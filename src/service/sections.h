// The parser of each part of joyrided.toml. Each reads its table(s) into `out`,
// reporting every problem to `issues` and keeping defaults for rejected values.
// `node` is the section's node in the root table, null when the file omits it.
#pragma once

#include "joyride/service/service_config.h"
#include "toml_checker.h"

namespace joyride::service::detail {

// settings_sections.cc
void parse_service_section(Issues& issues, const toml::node* node, ServiceOptions& out);
void parse_eal_section(Issues& issues, const toml::node* node, EalOptions& out);
void parse_limits_section(Issues& issues, const toml::node* node, LimitOptions& out);
void parse_services_section(Issues& issues, const toml::node* node, BuiltinServices& out);

// network_sections.cc. Interfaces first: routes are checked against them. The root
// table positions the "no interface" error. Returns false when an interface address
// was rejected: routes then skip the gateway-on-a-subnet check, which would only
// repeat that error in another form.
bool parse_interface_sections(Issues& issues, const toml::table& root, const toml::node* node, ServiceConfig& out);
void parse_route_sections(Issues& issues, const toml::node* node, bool check_gateways, ServiceConfig& out);

// The table of a [section], or null (reported) when the key holds something else.
const toml::table* section_table(Issues& issues, const toml::node* node, std::string_view name);

}  // namespace joyride::service::detail
