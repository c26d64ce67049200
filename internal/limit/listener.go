package limit

import (
	"net"
	"sync"

	"golang.org/x/net/netutil"
)

// Listener limits the connections accepted from ln. At most total are open
// at once: beyond that Accept waits for one to close, so further clients
// wait in the kernel's accept queue (netutil.LimitListener). At most
// perSource are open from one source (Source): a further connection from
// that source is closed as soon as it is accepted, before anything is read
// from it, so one client cannot take the whole of total. Zero means no
// limit.
func Listener(ln net.Listener, total, perSource int) net.Listener {
	if perSource > 0 {
		ln = &sourceListener{Listener: ln, perSource: perSource, open: map[string]int{}}
	}
	if total > 0 {
		ln = netutil.LimitListener(ln, total)
	}
	return ln
}

// sourceListener counts open connections per source. Its map holds only
// sources with a connection open, so it is no larger than the connections
// themselves.
type sourceListener struct {
	net.Listener
	perSource int

	mu   sync.Mutex
	open map[string]int
}

func (l *sourceListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := Source(c.RemoteAddr().String())
		if !l.take(src) {
			refuse(c)
			continue
		}
		return &sourceConn{Conn: c, release: func() { l.release(src) }}, nil
	}
}

func (l *sourceListener) take(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[src] >= l.perSource {
		return false
	}
	l.open[src]++
	return true
}

func (l *sourceListener) release(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[src] <= 1 {
		delete(l.open, src)
		return
	}
	l.open[src]--
}

// refuse closes a connection over its source's limit with a reset rather
// than a FIN: the client learns at once, and the server keeps no socket in
// TIME_WAIT for a client that may be opening thousands.
func refuse(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// sourceConn gives its source's slot back when it closes, once.
type sourceConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *sourceConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
