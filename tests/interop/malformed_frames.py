"""The malformed-frame burst of the interop tests: frames a broken or hostile peer
could put on the wire, each paired with the joyride stat drop counter that must count
it. Built with scapy (python3-scapy) and sent raw from the Linux side with sendp, so the
kernel's stack never sees or fixes them. Every frame is addressed to joyrided (its MAC
and IPv4 address), so each one reaches the layer whose check it fails."""
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, raw, sendp


def _ip(dst, src, **kw):
    return IP(src=src, dst=dst, **kw)


def frames(dst_mac, src_mac, dst_ip, src_ip):
    """[(name, frame bytes, counter)]: each frame must raise `counter` by one."""
    eth = Ether(dst=dst_mac, src=src_mac)
    eth_ip = Ether(dst=dst_mac, src=src_mac, type=0x0800)
    ip = lambda **kw: _ip(dst_ip, src_ip, **kw)  # noqa: E731
    tcp_syn = lambda **kw: TCP(sport=40000, dport=7, flags="S", seq=1000, **kw)  # noqa: E731
    good_ip_bytes = raw(ip(proto=17) / UDP(sport=40000, dport=7) / b"x")
    out = [
        # Ethernet/IPv4
        ("ipv4 header truncated to 10 bytes", raw(eth_ip) + good_ip_bytes[:10], "ipv4.drop_malformed"),
        ("ipv4 ihl 4", raw(eth / ip(ihl=4) / UDP(sport=40000, dport=7)), "ipv4.drop_malformed"),
        ("ipv4 total length beyond the frame", raw(eth / ip(len=1000) / UDP(sport=40000, dport=7) / b"x"),
         "ipv4.drop_malformed"),
        ("ipv4 total length below the header", raw(eth / ip(len=12) / UDP(sport=40000, dport=7)),
         "ipv4.drop_malformed"),
        ("ipv4 version 6 in an IPv4 frame", raw(eth / ip(version=6) / UDP(sport=40000, dport=7)),
         "ipv4.drop_malformed"),
        ("ipv4 bad header checksum", raw(eth / ip(chksum=0x1234) / UDP(sport=40000, dport=7) / b"x"),
         "ipv4.drop_bad_checksum"),
        # TCP
        ("tcp header truncated to 12 bytes", raw(eth / ip(proto=6) / Raw(raw(tcp_syn())[:12])), "tcp.drop_malformed"),
        ("tcp bad checksum", raw(eth / ip() / tcp_syn(chksum=0xdead)), "tcp.drop_bad_checksum"),
        ("tcp data offset 4", raw(eth / ip() / tcp_syn(dataofs=4)), "tcp.drop_malformed"),
        ("tcp data offset beyond the segment", raw(eth / ip() / tcp_syn(dataofs=15)), "tcp.drop_malformed"),
        ("tcp source port 0", raw(eth / ip() / TCP(sport=0, dport=7, flags="S", seq=1000)), "tcp.drop_malformed"),
        # UDP
        ("udp length beyond the datagram", raw(eth / ip() / UDP(sport=40000, dport=7, len=500) / b"abc"),
         "udp.drop_malformed"),
        ("udp length below its header", raw(eth / ip() / UDP(sport=40000, dport=7, len=4) / b"abc"),
         "udp.drop_malformed"),
        ("udp bad checksum", raw(eth / ip() / UDP(sport=40000, dport=7, chksum=0x4321) / b"abc"),
         "udp.drop_bad_checksum"),
        # ICMP
        ("icmp truncated to 3 bytes", raw(eth / ip(proto=1) / Raw(b"\x08\x00\x00")), "icmp.drop_malformed"),
        ("icmp echo with a bad checksum", raw(eth / ip() / ICMP(type=8, chksum=0x1111) / b"ping"),
         "icmp.drop_bad_checksum"),
        # ARP
        ("arp truncated to 20 bytes", raw(Ether(dst=dst_mac, src=src_mac, type=0x0806)) +
         raw(ARP(op=1, hwsrc=src_mac, psrc=src_ip, pdst=dst_ip))[:20], "arp.drop_malformed"),
    ]
    # Option bytes scapy would "fix" are written by hand as a SYN's whole option space.
    out += [
        ("tcp option length 0", _syn_with_options(eth, ip, b"\x02\x00\x00\x00"), "tcp.drop_malformed"),
        ("tcp option running past the header", _syn_with_options(eth, ip, b"\x01\x01\x08\x0a"), "tcp.drop_malformed"),
        ("tcp mss option of length 3", _syn_with_options(eth, ip, b"\x02\x03\x05\x00"), "tcp.drop_malformed"),
        ("tcp sack block of 7 bytes", _syn_with_options(eth, ip, b"\x05\x07" + b"\x00" * 10),
         "tcp.drop_malformed"),
    ]
    return out


def _syn_with_options(eth, ip, options):
    """A SYN to the echo port whose option space is exactly `options` (a multiple of 4
    bytes), with a correct checksum so the option parser is what rejects it."""
    assert len(options) % 4 == 0
    seg = TCP(sport=40001, dport=7, flags="S", seq=1000, dataofs=5 + len(options) // 4) / Raw(options)
    return raw(eth / ip() / seg)


def send(frame_list, iface, copies):
    for _name, frame, _counter in frame_list:
        sendp(frame, iface=iface, count=copies, verbose=False)
