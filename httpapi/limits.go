package httpapi

import (
	"net/http"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/internal/limit"
)

// RateLimits are the token buckets in front of the API. They are kept in
// each server's memory, so each replica limits on its own (docs/security.md
// says why). A zero limit.Rate limits nothing.
type RateLimits struct {
	// PerKey is spent by every authenticated request of an access key
	// or bearer token, once its signature is verified: a client that
	// only knows a key's id cannot spend its owner's requests.
	PerKey limit.Rate
	// PerSource is spent by every API request from a source address
	// (limit.Source), authenticated or not, before anything else.
	PerSource limit.Rate
	// AuthFailures is spent by every 401 answered to a source. While it
	// is empty, every request from the source is answered 429 at once,
	// without a look at its credentials or its body.
	AuthFailures limit.Rate
}

// DefaultRateLimits are generous: a Terraform apply or an SDK script
// stays far below them, while one client cannot take a replica's whole
// capacity (docs/performance.md measures it at about 2,500 purchases per
// second) or try secrets at speed.
var DefaultRateLimits = RateLimits{
	PerKey:       limit.Rate{PerSecond: 100, Burst: 200},
	PerSource:    limit.Rate{PerSecond: 200, Burst: 400},
	AuthFailures: limit.Rate{PerSecond: 1, Burst: 30},
}

// limiters are a server's buckets; nil buckets limit nothing.
type limiters struct {
	perKey, perSource, authFailures *limit.Buckets
}

func newLimiters(r RateLimits) limiters {
	return limiters{
		perKey:       limit.NewBuckets(r.PerKey, 0),
		perSource:    limit.NewBuckets(r.PerSource, 0),
		authFailures: limit.NewBuckets(r.AuthFailures, 0),
	}
}

// admitSource refuses a request from a source that failed to authenticate
// too often, or that sends too many requests.
func (l limiters) admitSource(source string) error {
	if l.authFailures.Empty(source) {
		return metalplane.Errorf("REQUEST_LIMIT_EXCEEDED", "Too many failed authentications from your address; retry later.")
	}
	if !l.perSource.Allow(source) {
		return metalplane.Errorf("REQUEST_LIMIT_EXCEEDED", "Too many requests from your address; retry later.")
	}
	return nil
}

// admitCaller refuses a request of a caller over its rate.
func (l limiters) admitCaller(key string) error {
	if !l.perKey.Allow(key) {
		return metalplane.Errorf("REQUEST_LIMIT_EXCEEDED", "Too many requests with this access key; retry later.")
	}
	return nil
}

// headerBytes is the size of the request line and headers as the client
// sent them, give or take the spacing: what http.Server.MaxHeaderBytes
// counts.
func headerBytes(hr *http.Request) int {
	n := len(hr.Method) + len(hr.RequestURI) + len(hr.Proto) + 4
	n += len("Host: ") + len(hr.Host) + 2
	for name, values := range hr.Header {
		for _, v := range values {
			n += len(name) + len(": ") + len(v) + 2
		}
	}
	return n + 2
}
