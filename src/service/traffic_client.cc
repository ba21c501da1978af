#include "joyride/service/traffic_client.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>

#include "joyride/core/errors.h"

namespace joyride::service {

namespace {

using core::SocketId;
using core::TcpState;

constexpr size_t kScratchBytes = 64 * 1024;

}  // namespace

std::string_view to_string(JobState s) {
  switch (s) {
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
  }
  return "?";
}

std::string job_status_line(const TrafficJobStatus& s) {
  std::string error = s.error.empty() ? "none" : s.error;
  std::replace(error.begin(), error.end(), ' ', '-');
  char numbers[96];
  std::snprintf(numbers, sizeof numbers, " seconds=%.6f crc32=0x%08x", s.elapsed.as_seconds(), s.crc32);
  return "job " + std::to_string(s.id) + " state=" + std::string(to_string(s.state)) +
         " bytes=" + std::to_string(s.bytes_sent) + numbers + " error=" + error;
}

TrafficClient::TrafficClient(core::Stack& stack, const TrafficClientLimits& limits)
    : stack_(stack), limits_{limits.max_connections, std::max<size_t>(limits.kept_jobs, 1)} {
  scratch_.resize(kScratchBytes);
}

size_t TrafficClient::running_jobs() const {
  return static_cast<size_t>(
      std::count_if(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.id != 0 && j.state == JobState::kRunning; }));
}

// A new slot while the table may grow, else the oldest finished job's.
uint32_t TrafficClient::take_job_slot() {
  if (jobs_.size() < limits_.kept_jobs) {
    jobs_.emplace_back();
    return static_cast<uint32_t>(jobs_.size() - 1);
  }
  uint32_t oldest = kNone;
  for (uint32_t i = 0; i < jobs_.size(); ++i) {
    if (jobs_[i].state == JobState::kRunning) continue;
    if (oldest == kNone || jobs_[i].id < jobs_[oldest].id) oldest = i;
  }
  return oldest;
}

base::Result<uint64_t, std::string> TrafficClient::start(const TrafficJobSpec& spec, base::Instant now) {
  if (spec.connections == 0 || spec.connections > limits_.max_connections)
    return base::Err{"connections must be 1.." + std::to_string(limits_.max_connections)};
  const uint32_t slot = take_job_slot();
  if (slot == kNone) return base::Err{"too many running jobs (" + std::to_string(limits_.kept_jobs) + ")"};
  Job& j = jobs_[slot];
  j = Job{};
  j.id = next_id_++;
  j.started = now;
  j.open = spec.connections;
  j.conns.assign(spec.connections, Conn{});
  auto& tcp = stack_.tcp();
  for (uint32_t i = 0; i < spec.connections; ++i) {
    Conn& c = j.conns[i];
    c.to_send = spec.bytes / spec.connections + (i < spec.bytes % spec.connections ? 1 : 0);
    auto s = tcp.open();
    if (!s) {
      fail(j, core::to_string(s.error()), now);
      break;
    }
    c.socket = *s;
    if (s->index >= owner_by_index_.size()) owner_by_index_.resize(size_t{s->index} + 1 + owner_by_index_.size() / 2);
    owner_by_index_[s->index] = Owner{slot, i};
    if (auto r = tcp.connect(*s, spec.remote, now); !r) {
      fail(j, core::to_string(r.error()), now);
      break;
    }
  }
  return j.id;
}

bool TrafficClient::on_event(const core::SocketEvent& event, base::Instant now) {
  const SocketId s = event.socket;
  if (s.kind != core::SocketKind::kTcp || s.index >= owner_by_index_.size()) return false;
  const Owner o = owner_by_index_[s.index];
  // A stale event names an older generation of the socket's slab slot.
  if (o.job == kNone || !(jobs_[o.job].conns[o.conn].socket == s)) return false;
  progress(o.job, o.conn, now);
  return true;
}

// The readiness bits are not looked at: reading, sending and looking at the state
// covers whatever changed (established, space, the FIN's ACK, a reset).
void TrafficClient::progress(uint32_t job, uint32_t conn, base::Instant now) {
  Job& j = jobs_[job];
  Conn& c = j.conns[conn];
  if (j.state != JobState::kRunning || c.phase == Phase::kDone) return;
  auto& tcp = stack_.tcp();
  if (!drain(j, c, now)) return;
  if (c.phase == Phase::kSending) {
    if (!send_some(j, c, conn, now)) return;
    // shutdown() while SYN_SENT would abort the connect: a connection with nothing
    // to send waits for the handshake like any other.
    const auto st = tcp.state(c.socket);
    if (c.sent == c.to_send && st && (*st == TcpState::kEstablished || *st == TcpState::kCloseWait)) {
      (void)tcp.shutdown(c.socket, false, true, now);
      c.phase = Phase::kFinSent;
    }
  }
  if (c.phase == Phase::kFinSent) {
    const auto st = tcp.state(c.socket);
    // Past FIN_WAIT_1 / CLOSING / LAST_ACK: our FIN, and so every byte, is acknowledged.
    if (st && (*st == TcpState::kFinWait2 || *st == TcpState::kTimeWait || *st == TcpState::kClosed))
      finish_conn(j, c, now);
  }
}

bool TrafficClient::send_some(Job& j, Conn& c, uint32_t conn, base::Instant now) {
  auto& tcp = stack_.tcp();
  while (c.sent < c.to_send) {
    std::span<const uint8_t> chunk = pattern_.from(c.sent);
    chunk = chunk.first(static_cast<size_t>(std::min<uint64_t>(chunk.size(), c.to_send - c.sent)));
    auto r = tcp.send(c.socket, chunk, now);
    if (!r) {
      if (r.error() == core::SendError::kWouldBlock) return true;  // resumed by the writable event
      fail(j, core::to_string(r.error()), now);
      return false;
    }
    if (*r == 0) return true;
    if (conn == 0) c.crc = static_cast<uint32_t>(::crc32(c.crc, chunk.data(), static_cast<uInt>(*r)));
    c.sent += *r;
  }
  return true;
}

bool TrafficClient::drain(Job& j, Conn& c, base::Instant now) {
  auto& tcp = stack_.tcp();
  for (;;) {
    auto r = tcp.recv(c.socket, scratch_, now);
    if (!r) {
      if (r.error() == core::RecvError::kWouldBlock) return true;
      fail(j, core::to_string(r.error()), now);
      return false;
    }
    if (*r == 0) return true;  // the remote's FIN: fine, ours follows or has gone
  }
}

void TrafficClient::finish_conn(Job& j, Conn& c, base::Instant now) {
  c.phase = Phase::kDone;
  stack_.tcp().close(c.socket, now);  // nothing unread: the stack finishes gracefully
  forget(c.socket);
  if (--j.open == 0) {
    j.state = JobState::kDone;
    j.ended = now;
  }
}

void TrafficClient::fail(Job& j, std::string_view why, base::Instant now) {
  if (j.state != JobState::kRunning) return;
  j.state = JobState::kFailed;
  j.error = std::string(why);
  j.ended = now;
  auto& tcp = stack_.tcp();
  for (Conn& c : j.conns) {
    if (c.phase == Phase::kDone || !c.socket.valid()) continue;
    c.phase = Phase::kDone;
    (void)tcp.set_linger(c.socket, true, base::Duration::zero());
    tcp.close(c.socket, now);
    forget(c.socket);
  }
}

void TrafficClient::forget(SocketId s) {
  if (s.index < owner_by_index_.size()) owner_by_index_[s.index] = Owner{};
}

void TrafficClient::stop(base::Instant now) {
  for (Job& j : jobs_) {
    if (j.id != 0) fail(j, "stopped", now);
  }
}

std::optional<TrafficJobStatus> TrafficClient::status(uint64_t id, base::Instant now) const {
  for (const Job& j : jobs_) {
    if (j.id != id || id == 0) continue;
    TrafficJobStatus s;
    s.id = j.id;
    s.state = j.state;
    for (const Conn& c : j.conns) s.bytes_sent += c.sent;
    s.elapsed = (j.state == JobState::kRunning ? now : j.ended) - j.started;
    s.crc32 = j.conns.empty() ? 0 : j.conns[0].crc;
    s.error = j.error;
    return s;
  }
  return std::nullopt;
}

}  // namespace joyride::service
