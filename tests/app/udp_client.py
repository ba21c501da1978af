#!/usr/bin/env python3
"""A UDP client's view of the socket API, printed one line per check so the output
under `joyride run` can be compared with Linux's own (tests/app/run_apps.sh).

usage: udp_client.py PEER ECHO_PORT CLOSED_PORT
PEER:ECHO_PORT echoes datagrams (udp_echo.py); nothing listens on CLOSED_PORT, so
the peer answers ICMP port unreachable there."""
import array
import errno
import fcntl
import socket
import sys
import termios
import time

peer, echo_port, closed_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
echo = (peer, echo_port)


def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def check(name, f):
    try:
        print(f"{name}: {f()}")
    except OSError as e:
        print(f"{name}: {err(e)}")


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
check("SO_TYPE", lambda: s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM)
check("unbound name", lambda: s.getsockname())
check("send unconnected", lambda: s.send(b"x"))


def round_trip():
    s.sendto(b"ping", echo)
    data, addr = s.recvfrom(2048)
    return f"{data!r} from the echo port: {addr == echo}"


check("sendto/recvfrom", round_trip)
check("bound port is ephemeral", lambda: s.getsockname()[1] >= 32768)


def truncated():
    s.sendto(b"x" * 100, echo)
    data, _, flags, _ = s.recvmsg(10)
    return f"{len(data)} bytes, MSG_TRUNC={bool(flags & socket.MSG_TRUNC)}"


check("recvmsg short buffer", truncated)


def truncated_rest_dropped():
    s.sendto(b"a" * 50, echo)
    s.sendto(b"b" * 5, echo)
    first = s.recv(10)
    second = s.recv(100)
    return f"{first!r} then {second!r}"


check("rest of a truncated datagram dropped", truncated_rest_dropped)


def peek_and_fionread():
    s.sendto(b"z" * 77, echo)
    time.sleep(0.3)
    n = array.array("i", [0])
    fcntl.ioctl(s, termios.FIONREAD, n)
    peeked = s.recv(100, socket.MSG_PEEK)
    got = s.recv(100)
    return f"FIONREAD {n[0]}, peek {len(peeked)}, then recv {len(got)}"


check("MSG_PEEK and FIONREAD", peek_and_fionread)


def empty_datagram():
    s.sendto(b"", echo)
    data, addr = s.recvfrom(10)
    return repr(data)


check("empty datagram", empty_datagram)
check("EMSGSIZE", lambda: s.sendto(b"a" * 65508, echo))
check("largest datagram", lambda: s.sendto(b"a" * 1400, echo))
check("its echo", lambda: len(s.recv(65535)))


def nonblocking_empty():
    s.setblocking(False)
    try:
        return s.recv(10)
    finally:
        s.settimeout(3)


check("non-blocking recv, nothing queued", nonblocking_empty)
s.close()

c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(3)
c.connect((peer, closed_port))
check("getpeername", lambda: c.getpeername() == (peer, closed_port))
check("send to a closed port", lambda: c.send(b"anyone?"))
time.sleep(0.5)
check("SO_ERROR after port unreachable", lambda: errno.errorcode.get(c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0))
check("SO_ERROR again", lambda: c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
check("send again", lambda: c.send(b"again"))
time.sleep(0.5)
check("recv after the second unreachable", lambda: c.recv(100))
check("send once more", lambda: c.send(b"third"))
time.sleep(0.5)
check("send after the third unreachable", lambda: c.send(b"fourth"))
c.connect(echo)
check("reconnected to the echo port", lambda: (c.send(b"conn"), c.recv(100))[1])
c.close()
