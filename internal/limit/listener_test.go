package limit

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// serveEcho accepts from ln and echoes each connection until it closes.
func serveEcho(t *testing.T, ln net.Listener) {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// dialFrom connects to addr from the loopback address local (Linux routes
// all of 127.0.0.0/8 to lo, so each stands for another client).
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoes reports whether the connection is served: a byte sent comes back
// within wait.
func echoes(c net.Conn, wait time.Duration) bool {
	c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte{'x'}); err != nil {
		return false
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err == nil
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestListenerPerSourceCap(t *testing.T) {
	t.Parallel()
	ln := Listener(listen(t), 0, 2)
	serveEcho(t, ln)
	addr := ln.Addr().String()
	first, second := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	if !echoes(first, time.Second) || !echoes(second, time.Second) {
		t.Fatal("the first two connections of a source are not served")
	}
	// The third is reset as soon as it is accepted, which may be before
	// the dial returns.
	if third, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		defer third.Close()
		third.SetReadDeadline(time.Now().Add(2 * time.Second))
		var b [1]byte
		if _, err := third.Read(b[:]); err == nil || isTimeout(err) {
			t.Fatalf("third connection of one source: got read error %v, want it closed at once", err)
		}
	}
	if other := dialFrom(t, "127.0.0.2", addr); !echoes(other, time.Second) {
		t.Fatal("another source is refused because of the first one")
	}
	first.Close()
	// The slot is given back once the server side closes too.
	deadline := time.Now().Add(2 * time.Second)
	for {
		again, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			served := echoes(again, 200*time.Millisecond)
			again.Close()
			if served {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's slot was not given back")
		}
	}
}

func TestListenerTotalCapQueues(t *testing.T) {
	t.Parallel()
	ln := Listener(listen(t), 2, 0)
	serveEcho(t, ln)
	addr := ln.Addr().String()
	a, b := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.2", addr)
	if !echoes(a, time.Second) || !echoes(b, time.Second) {
		t.Fatal("connections under the cap are not served")
	}
	queued := dialFrom(t, "127.0.0.3", addr)
	if echoes(queued, 300*time.Millisecond) {
		t.Fatal("a connection beyond the total cap was served")
	}
	a.Close()
	if !echoes(queued, 2*time.Second) {
		t.Fatal("the queued connection was not served once a slot freed")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
