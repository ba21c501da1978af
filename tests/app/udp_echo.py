#!/usr/bin/env python3
"""A UDP echo server for udp_client.py: every datagram back to its sender.
usage: udp_echo.py ADDR PORT"""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(data, addr)
