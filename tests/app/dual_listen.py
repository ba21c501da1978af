#!/usr/bin/env python3
"""Dual listen: under `joyride run` a listener on 0.0.0.0 is reached from the network
(through joyrided) and over loopback (its kernel twin, src/preload/kernel_twin.h):
blocking/non-blocking accept, SO_RCVTIMEO, signals, poll/select, epoll LT/ET/ONESHOT,
MOD/DEL, close and shutdown. Runs in the Joyride namespace as the app; its clients
are plain processes (no preload), from loopback and from the Linux peer's namespace.

  ip netns exec jr-joyride build/release/tools/joyride/joyride run -- \
      /usr/bin/python3 tests/app/dual_listen.py      # JR_NS_LINUX=... for another testbed

Uses ports 7100-7108 and 198.18.0.1 (scripts/testbed). Exit status 0 = all passed."""
import errno
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

PY = "/usr/bin/python3"
NET_NS = os.environ.get("JR_NS_LINUX", "jr-linux")
JOYRIDE_IP = "198.18.0.1"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "JOYRIDE"))}
failures = []
clients = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f" ({detail})" if detail else ""), flush=True)
    if not ok:
        failures.append(name)


CLIENT = r"""
import socket, sys, time
time.sleep(float(sys.argv[3]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print("connected", flush=True)
s.settimeout(float(sys.argv[4]))
try:
    s.recv(1)
except Exception:
    pass
"""


def client(side, port, delay=0.0, hold=8.0):
    """A client from 'lo' (127.0.0.1 in this namespace) or 'net' (the Linux namespace)."""
    host = "127.0.0.1" if side == "lo" else JOYRIDE_IP
    cmd = [PY, "-c", CLIENT, host, str(port), str(delay), str(hold)]
    if side == "net":
        cmd = ["ip", "netns", "exec", NET_NS] + cmd
    # Python's subprocess vforks and the child closes every other fd (close_range)
    # while it still runs in this process's memory: that must leave this process's
    # Joyride listeners alone (Service::in_vfork_child).
    p = subprocess.Popen(cmd, env=CLEAN_ENV, stdout=subprocess.PIPE, text=True)
    clients.append(p)
    return p


def connected(p):
    return p.stdout.readline().strip() == "connected"


def listener(port, addr="0.0.0.0", backlog=16, bind=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bind:
        s.bind((addr, port))
    s.listen(backlog)
    return s


def kernel_listening(port):
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, env=CLEAN_ENV).stdout
    return "LISTEN" in out


def accept_all(s):
    """Non-blocking: everything queued on both sides, peer hosts."""
    peers = []
    while True:
        try:
            c, a = s.accept()
        except BlockingIOError:
            return peers
        peers.append(a[0])
        c.close()


def test_names_and_blocking():
    s = listener(7100)
    check("getsockname reports 0.0.0.0:7100", s.getsockname() == ("0.0.0.0", 7100), str(s.getsockname()))
    check("the kernel listens on 7100 too", kernel_listening(7100))
    # Blocking accept woken by a loopback client (kernel twin) ...
    p = client("lo", 7100, delay=0.5)
    t0 = time.monotonic()
    c, a = s.accept()
    dt = time.monotonic() - t0
    check("blocking accept woken by a loopback client", a[0] == "127.0.0.1" and 0.3 < dt < 5, f"{a} after {dt:.2f}s")
    check("the accepted loopback socket is blocking", c.getblocking())
    c.close()
    # ... and by a network client (Joyride).
    p = client("net", 7100, delay=0.5)
    c, a = s.accept()
    check("blocking accept woken by a network client", a[0] == "198.18.0.2", str(a))
    c.close()
    # SO_RCVTIMEO: EAGAIN at the timeout.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300_000))
    t0 = time.monotonic()
    try:
        s.accept()
        check("SO_RCVTIMEO ends a blocking accept with EAGAIN", False, "accepted")
    except OSError as e:
        dt = time.monotonic() - t0
        check("SO_RCVTIMEO ends a blocking accept with EAGAIN", e.errno == errno.EAGAIN and 0.25 < dt < 2, f"{e} after {dt:.2f}s")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, b"\0" * 16)
    # accept4 flags on a kernel-side connection.
    p = client("lo", 7100)
    connected(p)
    fd, a = s._accept()
    c = socket.socket(fileno=fd)
    c.close()
    s.close()
    check("close() of the listener closes the twin", not kernel_listening(7100))


def test_nonblocking_poll():
    s = listener(7101)
    s.setblocking(False)
    try:
        s.accept()
        check("non-blocking accept with nothing queued: EAGAIN", False)
    except BlockingIOError:
        check("non-blocking accept with nothing queued: EAGAIN", True)
    for side, want in (("lo", "127.0.0.1"), ("net", "198.18.0.2")):
        p = client(side, 7101, delay=0.3)
        pl = select.poll()
        pl.register(s, select.POLLIN)
        r = pl.poll(5000)
        check(f"poll: listener readable for a {side} client", r == [(s.fileno(), select.POLLIN)], str(r))
        peers = accept_all(s)
        check(f"accept after poll takes the {side} client", peers == [want], str(peers))
        check(f"poll: nothing ready once accepted ({side})", pl.poll(200) == [])
    p = client("lo", 7101, delay=0.3)
    r, _, _ = select.select([s], [], [], 5)
    check("select: listener readable for a lo client", r == [s])
    check("select: accept takes it", accept_all(s) == ["127.0.0.1"])
    # Both sides queued at once: one accept loop gets both.
    a, b = client("lo", 7101), client("net", 7101)
    connected(a), connected(b)
    time.sleep(0.2)
    check("both sides queued: accept loop takes both", sorted(accept_all(s)) == ["127.0.0.1", "198.18.0.2"])
    s.close()


def test_epoll_lt():
    s = listener(7102)
    s.setblocking(False)
    ep = select.epoll()
    ep.register(s.fileno(), select.EPOLLIN)
    a, b = client("lo", 7102), client("net", 7102)
    connected(a), connected(b)
    time.sleep(0.2)
    r = ep.poll(2)
    check("epoll LT: one entry for the listener with both sides ready", r == [(s.fileno(), select.EPOLLIN)], str(r))
    c, peer = s.accept()
    c.close()
    r = ep.poll(2)
    check("epoll LT: reported again while one is still queued", r == [(s.fileno(), select.EPOLLIN)], str(r))
    c, peer2 = s.accept()
    c.close()
    check("epoll LT: one connection from each side", sorted([peer[0], peer2[0]]) == ["127.0.0.1", "198.18.0.2"])
    check("epoll LT: quiet once both accepted", ep.poll(0.3) == [])
    # MOD and DEL carry over to the twin.
    ep.modify(s.fileno(), 0)
    a = client("lo", 7102)
    connected(a)
    check("epoll MOD to no events: a loopback client is not reported", ep.poll(0.3) == [])
    ep.modify(s.fileno(), select.EPOLLIN)
    check("epoll MOD back to EPOLLIN: reported", ep.poll(2) == [(s.fileno(), select.EPOLLIN)])
    ep.unregister(s.fileno())
    check("epoll DEL: not reported", ep.poll(0.3) == [])
    accept_all(s)
    ep.close()
    s.close()


def test_epoll_et():
    s = listener(7103)
    s.setblocking(False)
    ep = select.epoll()
    ep.register(s.fileno(), select.EPOLLIN | select.EPOLLET)
    # Nothing accepted in between: each new connection is one edge, on either side
    # (the kernel's sk_data_ready per child; on the Joyride side the service bumps
    # the listener's SocketShared::arrivals for each).
    for i, side in enumerate(("lo", "net", "lo", "lo")):
        p = client(side, 7103)
        connected(p)
        r = ep.poll(2)
        check(f"epoll ET: connection {i + 1} ({side}) reported once", r == [(s.fileno(), select.EPOLLIN)], str(r))
        r = ep.poll(0.3)
        check(f"epoll ET: not again without a new connection ({side})", r == [], str(r))
    p = client("net", 7103)
    connected(p)
    r = ep.poll(2)
    check("epoll ET: a 2nd Joyride connection while the 1st is queued is an edge",
          r == [(s.fileno(), select.EPOLLIN)], str(r))
    peers = accept_all(s)
    check("epoll ET: all five accepted", sorted(peers) == ["127.0.0.1"] * 3 + ["198.18.0.2"] * 2, str(peers))
    # Accepted to empty on both sides: the next connection on either is an edge again.
    for side in ("net", "lo"):
        p = client(side, 7103)
        connected(p)
        r = ep.poll(2)
        check(f"epoll ET: after draining, a {side} connection is an edge", r == [(s.fileno(), select.EPOLLIN)], str(r))
        accept_all(s)
    # EPOLLONESHOT disarms both sides.
    ep.modify(s.fileno(), select.EPOLLIN | select.EPOLLONESHOT)
    p = client("net", 7103)
    connected(p)
    check("EPOLLONESHOT: first connection reported", ep.poll(2) == [(s.fileno(), select.EPOLLIN)])
    p = client("lo", 7103)
    connected(p)
    check("EPOLLONESHOT: disarmed for the other side too", ep.poll(0.3) == [])
    ep.modify(s.fileno(), select.EPOLLIN | select.EPOLLONESHOT)
    check("EPOLLONESHOT: MOD re-arms", ep.poll(2) == [(s.fileno(), select.EPOLLIN)])
    accept_all(s)
    ep.close()
    s.close()


def test_epoll_before_listen():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 7104))
    ep = select.epoll()
    ep.register(s.fileno(), select.EPOLLIN)
    s.listen(4)
    s.setblocking(False)
    p = client("lo", 7104)
    connected(p)
    check("epoll set joined before listen() sees the twin", ep.poll(2) == [(s.fileno(), select.EPOLLIN)])
    accept_all(s)
    ep.close()
    s.close()


def test_variants():
    # listen without bind: the port Joyride picked, in the kernel too.
    s = listener(0, bind=False)
    port = s.getsockname()[1]
    check("listen without bind: the kernel listens on Joyride's port", port != 0 and kernel_listening(port), str(port))
    s.close()
    # A specific Joyride address: no twin.
    s = listener(7105, addr=JOYRIDE_IP)
    check("a listener on 198.18.0.1 gets no kernel twin", not kernel_listening(7105))
    s.close()
    # listen() again applies to both; listen(fd, 0) keeps both listening (memcached).
    s = listener(7106)
    s.listen(0)
    s.listen(32)
    s.settimeout(5)
    p = client("lo", 7106)
    c, a = s.accept()
    check("listen(0) then listen(32): loopback still accepted", a[0] == "127.0.0.1")
    c.close()
    # The twin is hidden: close()/dup2 onto it are refused.
    twin = None
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 100 and os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
            try:
                if socket.socket(fileno=os.dup(fd)).getsockname() == ("0.0.0.0", 7106):
                    twin = fd
            except OSError:
                pass
    check("a high kernel fd listens on 0.0.0.0:7106 (the twin)", twin is not None, str(twin))
    if twin is not None:
        try:
            os.close(twin)
            check("close() of the twin is refused", False)
        except OSError as e:
            check("close() of the twin is refused", e.errno == errno.EBADF)
        try:
            os.dup2(0, twin)
            check("dup2 onto the twin is refused", False)
        except OSError as e:
            check("dup2 onto the twin is refused", e.errno == errno.EBADF)
    # shutdown(SHUT_RD) of the listener stops the twin.
    s.shutdown(socket.SHUT_RD)
    check("shutdown(SHUT_RD) of the listener stops the twin", not kernel_listening(7106))
    s.close()


def test_close_wakes_blocked_accept():
    s = listener(7107)
    result = []

    def blocked():
        try:
            s.accept()
            result.append("accepted")
        except OSError as e:
            result.append(e.errno)

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.5)
    os.close(s.detach())
    t.join(5)
    check("close() from another thread ends a blocked accept", not t.is_alive() and result == [errno.EBADF], str(result))
    check("... and the twin is gone", not kernel_listening(7107))


def test_signal_interrupts_accept():
    import signal

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted()

    s = listener(7108)
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    t0 = time.monotonic()
    try:
        s.accept()
        check("a signal ends a blocking accept with a twin (EINTR)", False, "accepted")
    except Interrupted:
        dt = time.monotonic() - t0
        check("a signal ends a blocking accept with a twin (EINTR)", 0.2 < dt < 2, f"after {dt:.2f}s")
    signal.signal(signal.SIGALRM, old)
    p = client("lo", 7108, delay=0.2)
    s.settimeout(5)
    c, a = s.accept()
    check("... and the listener still accepts afterwards", a[0] == "127.0.0.1")
    c.close()
    s.close()


def main():
    tests = [test_names_and_blocking, test_nonblocking_poll, test_epoll_lt, test_epoll_et, test_epoll_before_listen,
             test_variants, test_close_wakes_blocked_accept, test_signal_interrupts_accept]
    for t in tests:
        print(f"-- {t.__name__}", flush=True)
        try:
            t()
        except Exception as e:
            check(t.__name__, False, repr(e))
    for p in clients:
        p.kill()
        p.wait()
    print(f"{len(failures)} failed: {failures}" if failures else "all passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
