package httpx

import (
	"net"
	"syscall"
)

// peerClosed reports whether the client at the other end of conn has
// hung up, without reading anything and without waiting: a peek at the
// socket that finds its end (a read of 0 bytes). A parked stream's
// client normally sends nothing after its request, so this notices a
// hang-up at the next heartbeat; a write would only fail at the one
// after, once the client's reset has come back. Data the client sent
// counts as alive.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true // closed already
	}
	var closed bool
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && rerr == nil ||
			rerr != nil && rerr != syscall.EAGAIN && rerr != syscall.EINTR
		return true // never wait for the socket to become readable
	})
	return closed || err != nil
}
