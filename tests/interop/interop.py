"""Interop checks against joyrided from the Linux kernel's own stack, run inside the
jr-linux namespace of scripts/testbed. Each check is bounded by socket timeouts and
prints one line; the script exits non-zero on the first failure."""
import hashlib
import os
import socket
import subprocess
import sys

JOYRIDE = "198.18.0.1"
TIMEOUT = 20


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ping(size):
    r = subprocess.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", str(size), JOYRIDE],
                       capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0 or " 0% packet loss" not in r.stdout:
        fail(f"ping -s {size}: {r.stdout.strip().splitlines()[-2:] if r.stdout else r.stderr}")
    print(f"ok   ping {size} bytes (3/3)")


def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for size in (1, 512, 1472, 8000, 30000):
        data = os.urandom(size)
        s.sendto(data, (JOYRIDE, 7))
        got, peer = s.recvfrom(65535)
        if got != data or peer != (JOYRIDE, 7):
            fail(f"udp echo of {size} bytes")
    print("ok   udp echo 1..30000 bytes")


def tcp_echo(n):
    s = socket.create_connection((JOYRIDE, 7), timeout=TIMEOUT)
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


def discard(n):
    s = socket.create_connection((JOYRIDE, 9), timeout=TIMEOUT)
    block = b"j" * 65536
    sent = 0
    while sent < n:
        sent += s.send(block[: min(len(block), n - sent)])
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        fail("discard answered with data")
    s.close()
    print(f"ok   discard {n} bytes (closed by the service after our FIN)")


def refused():
    try:
        socket.create_connection((JOYRIDE, 4242), timeout=5)
    except ConnectionRefusedError:
        print("ok   closed port answers RST (connection refused)")
        return
    fail("connect to a closed port did not fail with ECONNREFUSED")


def main():
    ping(56)
    ping(60000)  # fragments both ways
    udp_echo()
    tcp_echo(1_000_000)
    print("ok   tcp echo 1 MB, every byte checked")
    for _ in range(50):
        tcp_echo(10_000)
    print("ok   tcp echo 50 sequential connections")
    discard(100_000_000)
    refused()


if __name__ == "__main__":
    main()
