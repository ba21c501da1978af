"""`joyride stat` as data, for the interop tests: counters by "section.name"
("tcp.drop_malformed", "port.tx_packets", "builtin.discard_tcp_active"), the TCP socket
table as rows, and extra one-line records ("discard_last ...") as dicts."""
import os
import subprocess

CLI = os.environ.get("JOYRIDE_CLI", "build/release/tools/joyride/joyride")


def run(*args, check=True):
    r = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"joyride {' '.join(args)}: exit {r.returncode}: {r.stdout}{r.stderr}")
    return r


class Stat:
    def __init__(self, text):
        self.text = text
        self.counters = {}
        self.tcp = []      # dicts with state, local, peer, ...
        self.records = {}  # first word -> {key: value} for "word k=v k=v" lines
        section = None
        columns = None
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped:
                continue
            indent = len(line) - len(line.lstrip())
            words = stripped.split()
            if indent == 0:
                section = stripped
                columns = None
                if "=" in stripped and len(words) > 1:
                    self.records[words[0]] = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                continue
            if section == "TCP sockets":
                if words[0] == "State":
                    columns = [w.lower() for w in words if w != "ms"]  # "rtt ms", "rto ms"
                elif columns:
                    self.tcp.append(dict(zip(columns, words)))
                continue
            if indent == 2 and len(words) == 1:
                section = words[0]  # a protocol under "Protocols"
                continue
            if len(words) == 2 and words[1].isdigit():
                name = words[0]
                if "." not in name:
                    prefix = "builtin" if section.startswith("Built-in") else section
                    name = f"{prefix}.{name}"
                self.counters[name] = int(words[1])
            elif "=" in stripped and len(words) > 1:
                self.records[words[0]] = dict(w.split("=", 1) for w in words[1:] if "=" in w)

    def __getitem__(self, name):
        return self.counters[name]

    def open_connections(self, port):
        """TCP connections of a local port that still hold resources for a peer: not
        listening, not closed, and not in TIME-WAIT (which only remembers the tuple)."""
        return [r for r in self.tcp if r.get("local", "").endswith(f":{port}")
                and r["state"] not in ("LISTEN", "TIME-WAIT", "CLOSED")]


def stat():
    return Stat(run("stat").stdout)


def deltas(before, after, prefix_filter=None):
    """Counters that changed, as {name: after - before}."""
    out = {}
    for k, v in after.counters.items():
        if prefix_filter and not prefix_filter(k):
            continue
        d = v - before.counters.get(k, 0)
        if d:
            out[k] = d
    return out
