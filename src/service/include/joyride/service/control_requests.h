// The control-socket requests that act on the built-in services and the traffic
// client, parsed and answered here so they are tested on simulated hosts; joyrided's
// control socket (tools/joyrided) adds `stat` and hands everything else to this.
//
// One request per line, words separated by spaces; one answer, ending in '\n':
//
//   close <ip>:<port> [reset]            -> "closed N"
//       Closes every TCP connection of a built-in service whose peer is <ip>:<port>
//       (BuiltinServiceRunner::close_connections), gracefully or with a reset.
//   send <ip>:<port> <bytes> [connections] -> "job <id>"
//       Starts a traffic job (TrafficClient::start): <connections> (default 1)
//       connections to <ip>:<port> carrying <bytes> of RFC 864's pattern in total.
//   job <id>                             -> "job <id> state=... bytes=... seconds=... crc32=0x... error=..."
//       (job_status_line)
//
// A malformed request, or one that cannot be carried out, is answered with one line
// starting "error: ".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "joyride/base/time.h"
#include "joyride/service/builtin_services.h"
#include "joyride/service/traffic_client.h"

namespace joyride::service {

// The answer, or empty when the request's first word is none of close, send, job.
std::optional<std::string> answer_service_request(std::string_view request, BuiltinServiceRunner& services,
                                                  TrafficClient& traffic, base::Instant now);

}  // namespace joyride::service
