"""Interop checks against joyrided from the Linux kernel's own stack, run inside the
jr-linux namespace of scripts/testbed (tests/interop/run.sh). Each check is bounded by
socket timeouts or explicit deadlines and prints one line; the script exits non-zero
on the first failure. What joyrided counted is read back with `joyride stat`
(joyride_stat.py), so every check is verified from both ends."""
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import zlib

import joyride_stat as js

JOYRIDE = "198.18.0.1"
LINUX = "198.18.0.2"
IFACE = "vB"
TIMEOUT = 20
ECHO, DISCARD, CHARGEN = 7, 9, 19


def fail(msg):
    print("FAIL:", msg)
    # What joyrided counted at the failure (its sockets, drops, queues), for the log.
    try:
        print(js.stat().text)
    except Exception as e:  # the service may be what failed
        print(f"(joyride stat failed too: {e})")
    sys.exit(1)


def ok(msg):
    print("ok  ", msg, flush=True)


def until(what, predicate, seconds=10.0):
    """Polls `predicate` (which reads joyride stat) until it holds or the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"{what}: not within {seconds} s")
        time.sleep(0.05)


# ---- the RFC 864 pattern ------------------------------------------------------------------

def chargen_period():
    """One period of the chargen stream: 95 lines of 72 printable characters + CRLF,
    line k starting at printable character k."""
    out = bytearray()
    for line in range(95):
        out += bytes(32 + (line + c) % 95 for c in range(72)) + b"\r\n"
    return bytes(out)


PERIOD = chargen_period()
PATTERN = PERIOD * ((1 << 18) // len(PERIOD) + 2)  # any 256 KiB window of the stream


class ChargenReader:
    """Reads a chargen stream and checks every byte against the pattern."""

    def __init__(self, sock):
        self.sock = sock
        self.count = 0
        self.buf = bytearray(1 << 18)

    def read(self, n=None):
        """Reads n bytes (or to EOF when n is None); returns False at EOF."""
        view = memoryview(self.buf)
        target = None if n is None else self.count + n
        while target is None or self.count < target:
            want = len(self.buf) if target is None else min(len(self.buf), target - self.count)
            got = self.sock.recv_into(view[:want])
            if got == 0:
                return False
            off = self.count % len(PERIOD)
            if view[:got] != PATTERN[off:off + got]:
                fail(f"chargen stream differs from RFC 864 within bytes {self.count}..{self.count + got}")
            self.count += got
        return True


# ---- checks -------------------------------------------------------------------------------

def ping(size):
    r = subprocess.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", str(size), JOYRIDE],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0 or " 0% packet loss" not in r.stdout:
        fail(f"ping -s {size}: {r.stdout.strip().splitlines()[-2:] if r.stdout else r.stderr}")
    ok(f"ping {size} bytes (3/3)")


def on_cpu_seconds(pid):
    """Time the process's main thread has run, from the scheduler's own clock
    (/proc/PID/task/PID/schedstat, nanoseconds): tick-based utime/stime overstates a
    thread that wakes on timer interrupts."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def idle_cpu(max_percent, seconds=3.0):
    """An idle joyrided sleeps (rx interrupts, or growing naps where the PMD has
    none): its CPU use over `seconds` of no traffic stays under max_percent of a core,
    and the next ping is still answered."""
    with open(os.path.join(os.environ.get("JR_TESTBED_DIR", "/run/joyride-testbed"), "joyrided.pid")) as f:
        pid = int(f.read())
    before, start = on_cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)  # the measurement window itself, not a wait for something
    used = on_cpu_seconds(pid) - before
    percent = 100 * used / (time.monotonic() - start)
    if percent > max_percent:
        fail(f"idle joyrided used {percent:.2f}% of a core over {seconds} s (limit {max_percent}%)")
    ping(56)
    ok(f"idle joyrided used {percent:.2f}% of a core over {seconds} s (limit {max_percent}%), then answered")


def every_queue_used(before, after, queues):
    """The concurrent connections arrived over every rx queue (the PMD's per-queue
    counters, `xstat.rx_qN_packets` in joyride stat) and all were served: joyrided
    reads every queue of its port."""
    per_queue = [after.counters.get(f"xstat.rx_q{q}_packets", 0) - before.counters.get(f"xstat.rx_q{q}_packets", 0)
                 for q in range(queues)]
    if min(per_queue) == 0:
        fail(f"frames per rx queue during the concurrent connections: {per_queue}; expected every queue used")
    ok(f"rx queues used: {per_queue} frames")


def udp_echo(max_datagram):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    sizes = [n for n in (1, 512, 1472, 8000, 30000) if n + 28 <= max_datagram]
    sizes.append(max_datagram - 28)  # the largest the device passes
    for size in sizes:
        data = os.urandom(size)
        s.sendto(data, (JOYRIDE, ECHO))
        got, peer = s.recvfrom(65535)
        if got != data or peer != (JOYRIDE, ECHO):
            fail(f"udp echo of {size} bytes")
    ok(f"udp echo {sizes[0]}..{sizes[-1]} bytes")


def tcp_echo(n):
    s = socket.create_connection((JOYRIDE, ECHO), timeout=TIMEOUT)
    data = os.urandom(n)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    if bytes(got) != data:
        fail(f"tcp echo of {n} bytes: got {len(got)}")


def tcp_echo_concurrent(n, size):
    """n connections open at once, each echoing its own bytes, all served together."""
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        s = socket.create_connection((JOYRIDE, ECHO), timeout=TIMEOUT)
        conns.append({"sock": s, "data": os.urandom(size), "got": bytearray()})
    before = js.stat()
    if before["builtin.echo_tcp_active"] < n:
        fail(f"{n} concurrent echo connections: joyrided has {before['builtin.echo_tcp_active']} active")
    for c in conns:
        c["sock"].sendall(c["data"])
        c["sock"].shutdown(socket.SHUT_WR)
        c["sock"].setblocking(False)
        sel.register(c["sock"], selectors.EVENT_READ, c)
    deadline = time.monotonic() + TIMEOUT
    open_count = n
    while open_count:
        if time.monotonic() > deadline:
            fail(f"{n} concurrent echo connections: {open_count} not finished within {TIMEOUT} s")
        for key, _ in sel.select(timeout=1):
            c = key.data
            b = c["sock"].recv(65536)
            if b:
                c["got"] += b
                continue
            sel.unregister(c["sock"])
            c["sock"].close()
            open_count -= 1
            if bytes(c["got"]) != c["data"]:
                fail(f"concurrent echo: a connection got {len(c['got'])} of {size} bytes back, or other bytes")
    ok(f"tcp echo {n} concurrent connections x {size} bytes, every byte checked")


def chargen(n):
    before = js.stat()
    s = socket.create_connection((JOYRIDE, CHARGEN), timeout=TIMEOUT)
    r = ChargenReader(s)
    t = time.monotonic()
    if not r.read(n):
        fail(f"chargen closed after {r.count} bytes")
    dt = time.monotonic() - t
    s.close()
    after = until("chargen connection gone", lambda: (lambda a: a if a["builtin.chargen_tcp_active"] == 0 else None)(js.stat()))
    sent = after["builtin.chargen_tcp_bytes_out"] - before["builtin.chargen_tcp_bytes_out"]
    if sent < n:
        fail(f"chargen: joyrided counts {sent} bytes sent, we read {n}")
    ok(f"chargen {n} bytes, every byte equal to the RFC 864 pattern ({n * 8 / dt / 1e9:.2f} Gbit/s)")


def discard(n):
    """n bytes of random blocks into discard, then our FIN: joyrided's count and CRC-32
    of the stream (joyride stat's discard_last) must equal ours."""
    before = js.stat()
    block = os.urandom(1 << 20)
    s = socket.create_connection((JOYRIDE, DISCARD), timeout=TIMEOUT)
    crc = 0
    sent = 0
    t = time.monotonic()
    while sent < n:
        part = block[: min(len(block), n - sent)]
        s.sendall(part)
        crc = zlib.crc32(part, crc)
        sent += len(part)
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        fail("discard answered with data")
    dt = time.monotonic() - t
    local = "%s:%d" % s.getsockname()
    s.close()
    after = js.stat()
    counted = after["builtin.discard_tcp_bytes_in"] - before["builtin.discard_tcp_bytes_in"]
    last = after.records.get("discard_last", {})
    if counted != n:
        fail(f"discard: joyrided counted {counted} bytes, we sent {n}")
    if last.get("remote") != local or int(last.get("bytes", -1)) != n or int(last.get("crc32", "0"), 16) != crc:
        fail(f"discard: joyrided's last connection {last} is not ours ({local}, {n} bytes, crc32 {crc:#010x})")
    if last.get("end") != "fin":
        fail(f"discard: the connection ended by {last.get('end')}, not our FIN")
    ok(f"discard {n} bytes, count and crc32 {crc:#010x} equal at both ends ({n * 8 / dt / 1e9:.2f} Gbit/s)")


def refused():
    try:
        socket.create_connection((JOYRIDE, 4242), timeout=5)
    except ConnectionRefusedError:
        ok("closed port answers RST (connection refused)")
        return
    fail("connect to a closed port did not fail with ECONNREFUSED")


def close_from_joyrided():
    """The service closes: gracefully (we read the stream to its FIN) and by reset."""
    s = socket.create_connection((JOYRIDE, CHARGEN), timeout=TIMEOUT)
    r = ChargenReader(s)
    r.read(1 << 20)
    local = "%s:%d" % s.getsockname()
    js.run("close", local)
    if r.read(None):
        fail("chargen closed by joyrided: no EOF")
    s.close()
    ok(f"joyrided closes a chargen connection: EOF after {r.count} bytes, every byte checked")

    s = socket.create_connection((JOYRIDE, ECHO), timeout=TIMEOUT)
    s.sendall(b"hello")
    if s.recv(5) != b"hello":
        fail("echo before the reset")
    js.run("close", "%s:%d" % s.getsockname(), "--reset")
    try:
        got = s.recv(1)
        fail(f"echo reset by joyrided: recv returned {got!r}, not ECONNRESET")
    except ConnectionResetError:
        pass
    s.close()
    ok("joyrided resets an echo connection: ECONNRESET")


def zero_window(stall_seconds):
    """A chargen reader stops reading: Linux's window closes, joyrided probes it for
    the whole stall, then the stream resumes exactly where it stopped."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(TIMEOUT)
    s.connect((JOYRIDE, CHARGEN))
    r = ChargenReader(s)
    r.read(1 << 20)
    local = "%s:%d" % s.getsockname()
    before = js.stat()
    time.sleep(stall_seconds)  # the peer not reading is the test itself
    during = js.stat()
    probes = during["tcp.zero_window_probes"] - before["tcp.zero_window_probes"]
    row = [c for c in during.tcp if c["peer"] == local]
    if probes < 3:
        fail(f"zero window for {stall_seconds} s: joyrided sent {probes} window probes")
    if not row or row[0]["state"] != "ESTABLISHED":
        fail(f"zero window: joyrided's connection is {row}")
    r.read(10 << 20)
    s.close()
    ok(f"zero window for {stall_seconds} s: {probes} probes, then 10 MB more, every byte in sequence")


PEER = """
import socket, sys
s = socket.create_connection(("%s", int(sys.argv[1])), timeout=20)
s.settimeout(None)
print("connected", flush=True)
if sys.argv[1] == "%d":
    while s.recv(1 << 16): pass
else:
    b = b"k" * 65536
    while True: s.sendall(b)
""" % (JOYRIDE, CHARGEN)


def sigkill_peer():
    """Peers killed mid-transfer (chargen reader, discard writer): joyrided frees both
    connections and keeps serving."""
    before = js.stat()
    peers = [subprocess.Popen([sys.executable, "-c", PEER, str(p)], stdout=subprocess.PIPE, text=True)
             for p in (CHARGEN, DISCARD)]
    try:
        for p in peers:
            # The peer connects within its own 20 s timeout or exits: readline ends.
            if p.stdout.readline().strip() != "connected":
                fail(f"a peer process did not connect (exit status {p.wait(timeout=TIMEOUT)})")
        until("both peers transferring", lambda: (lambda a: a["builtin.chargen_tcp_bytes_out"] > before["builtin.chargen_tcp_bytes_out"] + (10 << 20) and a["builtin.discard_tcp_bytes_in"] > before["builtin.discard_tcp_bytes_in"] + (10 << 20))(js.stat()))
    finally:
        # Killed in every case, so a failing run leaves no peer behind.
        for p in peers:
            p.send_signal(signal.SIGKILL)
            p.wait()
    after = until("joyrided frees the killed peers' connections",
                  lambda: (lambda a: a if a["builtin.chargen_tcp_active"] == 0 and a["builtin.discard_tcp_active"] == 0
                           and not a.open_connections(CHARGEN) and not a.open_connections(DISCARD) else None)(js.stat()))
    tcp_echo(100_000)
    ok(f"peers SIGKILLed mid-transfer: joyrided closed both ({after['tcp.estab_resets'] - before['tcp.estab_resets']} reset) and still serves")


def malformed_burst(copies):
    """Malformed frames from the Linux side: each is dropped and counted by the layer
    whose check it fails, nothing else moves, and the service still serves."""
    import malformed_frames  # scapy: imported here so the rest runs without it
    before = js.stat()
    mac = re.search(r"\bmac ([0-9a-f:]{17})", before.text).group(1)
    with open(f"/sys/class/net/{IFACE}/address") as f:
        our_mac = f.read().strip()
    frames = malformed_frames.frames(mac, our_mac, JOYRIDE, LINUX)
    expected = {}
    for _name, _frame, counter in frames:
        expected[counter] = expected.get(counter, 0) + copies
    malformed_frames.send(frames, IFACE, copies)
    total = len(frames) * copies
    # Linux's own IPv6 chatter on vB (router and multicast listener messages) lands in
    # link.drop_unknown_ethertype while joyrided has no IPv6: not part of the burst.
    burst = lambda k: ".drop_" in k and k != "link.drop_unknown_ethertype"  # noqa: E731
    after = until("every malformed frame counted",
                  lambda: (lambda a: a if sum(js.deltas(before, a, burst).values()) >= total else None)(js.stat()))
    drops = js.deltas(before, after, burst)
    if drops != expected:
        fail(f"malformed frames: drop counters moved by {drops}, expected {expected}")
    tcp_echo(10_000)
    ok(f"{total} malformed frames ({len(frames)} kinds x {copies}): each counted as its drop, service still serves")


def main():
    quick = "--quick" in sys.argv[1:]  # the demo's short tour
    # --max-datagram=N: the largest IPv4 datagram the device under test can deliver
    # (net_af_packet: the kernel reassembles fragments for the PMD into one ring frame;
    # config/testbed-af_packet.toml says why and how large that is).
    max_datagram = 60028
    # --idle-cpu-max=PCT: what an idle joyrided may use (ports with rx interrupts
    # sleep outright; others nap, which costs ~1% on these VMs).
    idle_cpu_max = 5.0
    # --rx-queues=N: joyrided's port has N rx queues the device spreads flows over.
    rx_queues = 1
    for arg in sys.argv[1:]:
        if arg.startswith("--rx-queues="):
            rx_queues = int(arg.split("=", 1)[1])
        if arg.startswith("--max-datagram="):
            max_datagram = min(max_datagram, int(arg.split("=", 1)[1]))
        if arg.startswith("--idle-cpu-max="):
            idle_cpu_max = float(arg.split("=", 1)[1])
    ping(56)
    ping(max_datagram - 28)  # fragments both ways
    udp_echo(max_datagram)
    tcp_echo(1_000_000)
    ok("tcp echo 1 MB, every byte checked")
    if quick:
        if rx_queues > 1:
            before = js.stat()
            tcp_echo_concurrent(200, 20_000)
            every_queue_used(before, js.stat(), rx_queues)
        chargen(100 << 20)
        discard(100 << 20)
        return
    for _ in range(1000):
        tcp_echo(1000)
    ok("tcp echo 1000 sequential connections, every byte checked")
    idle_cpu(idle_cpu_max)
    before = js.stat()
    tcp_echo_concurrent(200, 20_000)
    if rx_queues > 1:
        every_queue_used(before, js.stat(), rx_queues)
    refused()
    malformed_burst(5)
    chargen(1 << 30)
    discard(1 << 30)
    close_from_joyrided()
    zero_window(10)
    sigkill_peer()


if __name__ == "__main__":
    main()
