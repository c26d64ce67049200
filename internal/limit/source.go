package limit

import (
	"net"
	"net/netip"
)

// Source returns the key a client is limited under: its IPv4 address, or
// the /64 prefix of its IPv6 address, since one subscriber is commonly
// handed a whole /64 and could otherwise use a fresh address per request.
// addr is host:port (net.Conn.RemoteAddr, http.Request.RemoteAddr) or a
// bare host; anything unparsable is its own key.
func Source(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	prefix, _ := ip.WithZone("").Prefix(64)
	return prefix.String()
}
