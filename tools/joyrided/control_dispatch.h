// What joyrided answers on its control socket (control_socket.h carries the lines):
//
//   stat                                     the report `joyride stat` prints (stats_report.h)
//   close <ip>:<port> [reset]                -> "closed N"
//   send <ip>:<port> <bytes> [connections]   -> "job <id>"
//   job <id>                                 -> "job <id> state=... bytes=... seconds=... crc32=... error=..."
//
// close, send and job are the service library's (joyride/service/control_requests.h);
// this file gathers what `stat` reports from the ports, drivers, stack and services.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "joyride/base/time.h"
#include "joyride/core/stack.h"
#include "joyride/dev/dpdk/port.h"
#include "joyride/dev/dpdk/stack_driver.h"
#include "joyride/service/app_registry.h"
#include "joyride/service/builtin_services.h"
#include "joyride/service/service_config.h"
#include "joyride/service/traffic_client.h"

namespace joyride::joyrided {

// Everything a request may look at or act on; all owned by joyrided's run().
struct ControlTargets {
  const service::ServiceConfig& config;
  core::Stack& stack;
  std::span<const std::unique_ptr<dev::dpdk::Port>> ports;
  std::span<const std::unique_ptr<dev::dpdk::StackDriver>> drivers;
  service::BuiltinServiceRunner& services;
  service::TrafficClient& traffic;
  const service::AppRegistry& apps;
  base::Instant started_at;
};

// The answer to one request line (an empty line is `stat`, for older clients).
std::string answer_control_request(std::string_view request, const ControlTargets& t, base::Instant now);

// The enabled offloads of a port, space separated (also logged at start-up).
std::string offload_list(const dev::dpdk::Capabilities& c);

}  // namespace joyride::joyrided
