#include "joyride/service/control_requests.h"

#include <vector>

#include "joyride/base/parse_number.h"

namespace joyride::service {

namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const size_t start = s.find_first_not_of(" \t\r");
    if (start == std::string_view::npos) return out;
    s.remove_prefix(start);
    const size_t end = std::min(s.find_first_of(" \t\r"), s.size());
    out.push_back(s.substr(0, end));
    s.remove_prefix(end);
  }
}

std::string error(std::string_view what) { return "error: " + std::string(what) + "\n"; }

std::string close_request(const std::vector<std::string_view>& w, BuiltinServiceRunner& services,
                          base::Instant now) {
  const bool reset = w.size() == 3 && w[2] == "reset";
  const auto remote = w.size() >= 2 ? parse_endpoint(w[1]) : std::nullopt;
  if (!remote || w.size() > 3 || (w.size() == 3 && !reset)) return error("usage: close <ip>:<port> [reset]");
  const size_t n = services.close_connections(*remote, reset ? CloseMode::kReset : CloseMode::kGraceful, now);
  return "closed " + std::to_string(n) + "\n";
}

std::string send_request(const std::vector<std::string_view>& w, TrafficClient& traffic, base::Instant now) {
  const auto remote = w.size() >= 3 ? parse_endpoint(w[1]) : std::nullopt;
  const auto bytes = w.size() >= 3 ? base::parse_number<uint64_t>(w[2]) : std::nullopt;
  const auto connections = w.size() == 4 ? base::parse_number<uint32_t>(w[3]) : std::optional<uint32_t>(1);
  if (!remote || !bytes || !connections || w.size() > 4 || remote->port == 0)
    return error("usage: send <ip>:<port> <bytes> [connections]");
  auto id = traffic.start(TrafficJobSpec{*remote, *bytes, *connections}, now);
  if (!id) return error(id.error());
  return "job " + std::to_string(*id) + "\n";
}

std::string job_request(const std::vector<std::string_view>& w, TrafficClient& traffic, base::Instant now) {
  const auto id = w.size() == 2 ? base::parse_number<uint64_t>(w[1]) : std::nullopt;
  if (!id) return error("usage: job <id>");
  const auto status = traffic.status(*id, now);
  if (!status) return error("no job " + std::to_string(*id));
  return job_status_line(*status) + "\n";
}

}  // namespace

std::optional<std::string> answer_service_request(std::string_view request, BuiltinServiceRunner& services,
                                                  TrafficClient& traffic, base::Instant now) {
  const std::vector<std::string_view> w = words(request);
  if (w.empty()) return std::nullopt;
  if (w[0] == "close") return close_request(w, services, now);
  if (w[0] == "send") return send_request(w, traffic, now);
  if (w[0] == "job") return job_request(w, traffic, now);
  return std::nullopt;
}

}  // namespace joyride::service
