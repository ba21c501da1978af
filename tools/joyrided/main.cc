// joyrided: the Joyride service. Owns the NICs through DPDK, runs a stack instance on
// them, serves the built-in echo/discard/chargen services, runs traffic jobs for
// tests and benchmarks (service/traffic_client.h), and answers `joyride stat`,
// `close`, `send` and `job` on its control socket (control_dispatch.h).
//
//   joyrided --config FILE [--ready-file PATH]   run until SIGTERM/SIGINT
//   joyrided --check-config FILE                 report every problem in FILE, exit 0/2
//
// One polling loop per service today (lcores[0]). Applications attach on the control
// socket (service/app_registry.h): their calls and bytes are served in the same loop,
// from their shared-memory regions, and they ring a doorbell only while it sleeps. The loop is adaptive: it spins while there is work and
// for busy_spin_us after, then sleeps until a frame arrives (rx queue interrupts,
// dev/dpdk/idle_waiter.h), a control client connects or the stack's next timer is
// due, so an idle service costs almost no CPU. Ports without rx interrupts make it
// nap idle_sleep_us at a time instead.
//
// Shutdown on SIGTERM/SIGINT: running traffic jobs fail and the services stop (their
// established connections are reset, so peers learn at once), the resets are flushed to the wire, then ports and the EAL
// are released. Exit status: 0 after a clean stop, 1 on a start-up failure, 2 on a bad
// command line or configuration.
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "control_dispatch.h"
#include "control_socket.h"
#include "joyride/base/random.h"
#include "joyride/core/stack.h"
#include "joyride/dev/dpdk/eal.h"
#include "joyride/dev/dpdk/mbuf_pool.h"
#include "joyride/dev/dpdk/idle_waiter.h"
#include "joyride/dev/dpdk/port.h"
#include "joyride/dev/dpdk/stack_driver.h"
#include "joyride/service/app_registry.h"
#include "joyride/service/builtin_services.h"
#include "joyride/service/service_config.h"
#include "joyride/service/traffic_client.h"

namespace joyride::joyrided {
namespace {

// Set by SIGTERM/SIGINT; the only state a signal handler may touch.
std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

int usage() {
  std::fprintf(stderr,
               "usage: joyrided --config FILE [--ready-file PATH]\n"
               "       joyrided --check-config FILE\n");
  return 2;
}

void log(std::string_view what) { std::fprintf(stderr, "joyrided: %.*s\n", static_cast<int>(what.size()), what.data()); }

// A PCI address ("0000:01:00.0") is probed by the EAL; anything else is a vdev.
bool is_pci_address(const std::string& device) {
  return device.size() >= 7 && device.find(':') != std::string::npos && device.find('.') != std::string::npos &&
         device.rfind("net_", 0) != 0;
}

// The EAL name of a port: a vdev's name is its device string up to the first comma.
std::string port_name(const std::string& device) { return device.substr(0, device.find(',')); }

timespec to_timespec(base::Duration d) {
  const int64_t ns = d.as_nanos();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

void pin_to_cpu(uint32_t cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) log(fmt::format("cannot pin to CPU {}", cpu));
}

int run(const std::string& config_path, const std::string& ready_file) {
  auto loaded = service::load_config(config_path);
  if (!loaded) {
    std::fprintf(stderr, "%s", loaded.error().to_string().c_str());
    return 2;
  }
  const service::ServiceConfig config = std::move(*loaded);
  for (const auto& w : config.warnings) log("warning: " + w.to_string());

  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  ::signal(SIGPIPE, SIG_IGN);

  dev::dpdk::EalConfig eal_config;
  eal_config.no_huge = config.eal.no_huge;
  eal_config.memory_mb = config.eal.memory_mb;
  eal_config.file_prefix = config.eal.file_prefix;
  eal_config.pci_allow = config.eal.pci_allow;
  eal_config.extra_args = config.eal.extra_args;
  eal_config.lcores.assign(config.service.lcores.begin(), config.service.lcores.end());
  for (const auto& itf : config.interfaces) {
    if (is_pci_address(itf.device)) {
      eal_config.pci_allow.push_back(itf.device);
    } else {
      eal_config.vdevs.push_back(itf.device);
      // The memif PMD registers a multi-process action at probe and fails without the
      // EAL's IPC channel (--no-shconf/--in-memory turn it off).
      if (itf.device.starts_with("net_memif")) eal_config.multi_process = true;
    }
  }
  auto eal = dev::dpdk::Eal::init(eal_config);
  if (!eal) {
    log("EAL start-up failed: " + eal.error().message());
    return 1;
  }
  pin_to_cpu(config.service.lcores.front());

  // Scope: everything DPDK-owned is released before the EAL (eal outlives it).
  {
    dev::dpdk::MbufPoolConfig pool_config;
    pool_config.name = "joyrided";
    pool_config.mbufs = config.limits.mbufs;
    auto pool = dev::dpdk::MbufPool::create(pool_config);
    if (!pool) {
      log("packet pool: " + pool.error().message());
      return 1;
    }
    std::vector<std::unique_ptr<dev::dpdk::Port>> ports;
    std::vector<wire::MacAddress> macs;
    for (const auto& itf : config.interfaces) {
      dev::dpdk::PortConfig pc;
      pc.device = is_pci_address(itf.device) ? itf.device : port_name(itf.device);
      pc.rx_queues = itf.rx_queues;
      pc.tx_queues = itf.tx_queues;
      pc.rx_ring = static_cast<uint16_t>(itf.rx_ring);
      pc.tx_ring = static_cast<uint16_t>(itf.tx_ring);
      pc.mtu = itf.mtu;
      // A configured MAC other than the device's needs the frames addressed to it.
      pc.promiscuous = itf.mac.has_value();
      auto port = dev::dpdk::Port::open(pc, **pool);
      if (!port) {
        log(fmt::format("interface {} ({}): {}", itf.name, itf.device, port.error().message()));
        return 1;
      }
      macs.push_back((*port)->mac());
      ports.push_back(std::move(*port));
    }

    base::SeededRandom random(static_cast<uint64_t>(dev::dpdk::monotonic_now().as_nanos()) ^ ::getpid());
    core::StackConfig stack_config = service::to_stack_config(config, macs);
    // TCP/UDP checksums go to the device where the port offers both (buf/packet.h,
    // kTxL4ChecksumPartial; MbufPool::to_mbuf asks the PMD for them).
    for (size_t i = 0; i < ports.size(); ++i) {
      const auto& caps = ports[i]->capabilities();
      stack_config.interfaces[i].tx_l4_checksum_offload = caps.tx_tcp_checksum && caps.tx_udp_checksum;
      // TSO (buf::kTxTcpSegmentation): TCP hands such a port frames of up to ~64 KB
      // as an mbuf chain, and the device redoes each segment's IPv4 checksum.
      if (stack_config.interfaces[i].tx_l4_checksum_offload && caps.tso && caps.tx_ipv4_checksum && caps.multi_seg_tx) {
        stack_config.interfaces[i].tx_tso_max = core::kTsoMaxPayload;
        stack_config.interfaces[i].tx_tso_segment_max = caps.tso_segment_max;
      }
    }
    core::Stack stack(stack_config, **pool, random, dev::dpdk::monotonic_now());
    std::vector<std::unique_ptr<dev::dpdk::StackDriver>> drivers;
    for (size_t i = 0; i < ports.size(); ++i) {
      dev::dpdk::StackDriverConfig dc;
      dc.ifindex = static_cast<uint32_t>(i);
      drivers.push_back(std::make_unique<dev::dpdk::StackDriver>(stack, *ports[i], dc));
    }

    service::BuiltinServiceRunner services(stack, config.services, random);
    if (auto started = services.start(dev::dpdk::monotonic_now()); !started) {
      log("built-in services: " + started.error().to_string());
      return 1;
    }

    auto control = ControlSocket::open(config.service.control_socket, config.service.control_mode,
                                       config.service.control_group);
    if (!control) {
      log(control.error());
      return 1;
    }
    service::TrafficClient traffic(stack);
    // Applications attach on the control socket (ipc/attach.h).
    service::RegistryConfig apps_config;
    apps_config.limits.buffer_bytes = config.limits.app_buffer_bytes;
    apps_config.limits.max_buffer_bytes = std::max(config.limits.tcp_rmem.max, config.limits.tcp_wmem.max);
    apps_config.max_apps = config.limits.max_apps;
    apps_config.limits.max_sockets = config.limits.app_max_sockets;
    apps_config.limits.fifo_bytes = config.limits.app_fifo_bytes;
    service::AppRegistry apps(stack, apps_config);
    if (!apps.ok()) {
      log("applications: cannot create the service doorbell (eventfd)");
      return 1;
    }
    auto attach = [&](int client, const ucred& peer, std::string_view request) {
      apps.attach(client, peer.pid, peer.uid, request, dev::dpdk::monotonic_now());
    };
    const ControlTargets targets{config, stack, ports, drivers, services, traffic, apps, dev::dpdk::monotonic_now()};
    auto answer = [&](std::string_view request) {
      return answer_control_request(request, targets, dev::dpdk::monotonic_now());
    };

    if (!ready_file.empty()) std::ofstream(ready_file) << ::getpid() << "\n";
    log(fmt::format("serving {} interface(s); control socket {}", ports.size(), control->path()));

    // The polling loop.
    const bool adaptive = config.service.polling == service::PollingMode::kAdaptive;
    const auto spin = base::Duration::micros(config.service.busy_spin_us);
    const auto idle_sleep = base::Duration::micros(config.service.idle_sleep_us);
    const auto idle_sleep_max = std::max(idle_sleep, base::Duration::micros(config.service.idle_sleep_max_us));
    base::Duration nap_now = idle_sleep;  // doubles with each idle nap, up to idle_sleep_max
    const auto control_every = base::Duration::millis(10);
    // Idle with rx interrupts: sleep until a frame, a control client or the next timer
    // (at most a second, so nothing depends on a missed wake-up for long).
    std::vector<dev::dpdk::Port*> port_list;
    for (auto& p : ports) port_list.push_back(p.get());
    dev::dpdk::IdleWaiter waiter(port_list);
    const bool sleep_on_interrupts = adaptive && waiter.interrupts() && waiter.watch(control->fd()) &&
                                     waiter.watch(apps.service_doorbell());
    log(sleep_on_interrupts ? "idle: sleeping on rx interrupts"
                            : fmt::format("idle: naps of {} us growing to {} us (not every port has rx interrupts)",
                                          idle_sleep.as_nanos() / 1000, idle_sleep_max.as_nanos() / 1000));
    std::vector<core::SocketEvent> events(256);
    base::Instant last_work = dev::dpdk::monotonic_now();
    base::Instant next_control = last_work;
    auto poll_round = [&](base::Instant now) {
      size_t work = 0;
      for (auto& d : drivers) work += d->poll_once(now);
      work += apps.poll(now);
      while (size_t n = stack.take_events(events)) {
        for (size_t i = 0; i < n; ++i) {
          if (!services.on_event(events[i], now)) traffic.on_event(events[i], now);
        }
        work += n;
      }
      return work;
    };
    while (!g_stop.load(std::memory_order_relaxed)) {
      base::Instant now = dev::dpdk::monotonic_now();
      const size_t work = poll_round(now);
      // The control socket costs a syscall: looked at every 10 ms, busy or not.
      if (now >= next_control) {
        control->poll(answer, attach);
        apps.check_sessions(now);
        next_control = now + control_every;
      }
      if (work != 0) {
        last_work = now;
        nap_now = idle_sleep;
        continue;
      }
      if (!adaptive || now - last_work < spin || stack.has_tx()) continue;
      // Idle: sleep, but wake for the stack's next timer and the control socket.
      const base::Instant deadline = stack.next_deadline();
      if (deadline <= now) continue;
      const base::Duration until_timer = deadline.is_never() ? base::Duration::millis(1000) : deadline - now;
      if (sleep_on_interrupts && until_timer >= base::Duration::millis(1)) {
        // arm, tell the apps, look once more (a frame or a call that came before
        // arming raised nothing), wait.
        waiter.arm();
        const bool app_work = apps.before_sleep();
        if (!app_work && poll_round(dev::dpdk::monotonic_now()) == 0 && !stack.has_tx()) {
          waiter.wait(std::min(until_timer, base::Duration::millis(1000)));
          next_control = base::Instant{};  // a client may be what woke us
        }
        apps.after_sleep();
        waiter.disarm();
        last_work = dev::dpdk::monotonic_now();  // spin again before the next sleep
        continue;
      }
      const base::Duration nap = std::min(nap_now, until_timer);
      nap_now = std::min(nap_now + nap_now, idle_sleep_max);
      // The nap ends early when an application rings (its calls and kicks).
      if (apps.apps() != 0) {
        if (!apps.before_sleep()) {
          pollfd bell{apps.service_doorbell(), POLLIN, 0};
          const timespec ts = to_timespec(nap);
          ::ppoll(&bell, 1, &ts, nullptr);
        }
        apps.after_sleep();
        continue;
      }
      const timespec ts = to_timespec(nap);
      ::nanosleep(&ts, nullptr);
    }

    log("stopping: resetting connections");
    const base::Instant now = dev::dpdk::monotonic_now();
    traffic.stop(now);
    services.stop(now);
    apps.stop(now);
    // Flush the resets: a bounded number of rounds, until nothing is left to send.
    for (int round = 0; round < 1000; ++round) {
      size_t pending = 0;
      for (auto& d : drivers) {
        d->poll_once(dev::dpdk::monotonic_now());
        pending += d->tx_pending();
      }
      if (pending == 0 && !stack.has_tx()) break;
    }
    for (auto& p : ports) p->stop();
  }
  log("stopped");
  return 0;
}

}  // namespace
}  // namespace joyride::joyrided

int main(int argc, char** argv) {
  std::string config;
  std::string ready_file;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "--config" || a == "--check-config") && i + 1 < argc) {
      check_only = a == "--check-config";
      config = argv[++i];
    } else if (a == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else {
      return joyride::joyrided::usage();
    }
  }
  if (config.empty()) return joyride::joyrided::usage();
  if (check_only) {
    auto loaded = joyride::service::load_config(config);
    if (!loaded) {
      std::fprintf(stderr, "%s", loaded.error().to_string().c_str());
      return 2;
    }
    for (const auto& w : loaded->warnings) std::fprintf(stderr, "warning: %s\n", w.to_string().c_str());
    std::printf("%s: ok\n", config.c_str());
    return 0;
  }
  return joyride::joyrided::run(config, ready_file);
}
