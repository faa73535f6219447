#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Minimal QMP client for the e2e tests (no stdin, bounded waits).

  qmp.py SOCKET COMMAND [JSON-ARGUMENTS]   print the command's "return"
                                          as JSON; exit 1 on an error reply
  qmp.py SOCKET --wait-migration SECONDS  poll query-migrate until the
                                          status is final; print it
"""
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.recv()                       # greeting
        self.cmd("qmp_capabilities")

    def recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.recv()
            if "return" in reply or "error" in reply:
                return reply


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    q = Qmp(sys.argv[1])
    if sys.argv[2] == "--wait-migration":
        deadline = time.time() + float(sys.argv[3])
        while time.time() < deadline:
            st = q.cmd("query-migrate")["return"].get("status", "none")
            if st in ("completed", "failed", "cancelled"):
                print(st)
                return 0
            time.sleep(0.2)
        print("timeout")
        return 1
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    reply = q.cmd(sys.argv[2], args)
    if "error" in reply:
        print(json.dumps(reply["error"]), file=sys.stderr)
        return 1
    print(json.dumps(reply["return"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
