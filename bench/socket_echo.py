"""Lower bound: echo whatever arrives on fd 3 (a socketpair from Node) straight back.

No framing, no decoding, no work: the cost of one round trip between the two
processes on this machine, which no transport over a socket can beat.
"""

import socket


def main() -> None:
    sock = socket.socket(fileno=3)
    while True:
        data = sock.recv(65536)
        if not data:
            return
        sock.sendall(data)


if __name__ == "__main__":
    main()
