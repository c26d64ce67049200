package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// BMCCaller is what the drivers of baseboard controllers (ipmi, redfish)
// share around each call: calls to one controller run one at a time
// (controllers have few session slots, and a power-off must not interleave
// with a boot-device change), each under a timeout, each failure naming
// the operation, host and controller, each call logged at debug level.
type BMCCaller struct {
	driver  string
	address fmt.Stringer // must print no password
	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{}
}

// NewBMCCaller returns the caller of the controller at address for the
// named driver; address's String must not show a password.
func NewBMCCaller(driver string, address fmt.Stringer, timeout time.Duration, logger *slog.Logger) *BMCCaller {
	if logger == nil {
		logger = slog.Default()
	}
	return &BMCCaller{driver: driver, address: address, timeout: timeout,
		log: logger.With("driver", driver, "bmc", address.String()), sem: make(chan struct{}, 1)}
}

// Do runs fn, once the previous call has ended, under the timeout (an
// earlier deadline of ctx wins).
func (b *BMCCaller) Do(ctx context.Context, h Host, op string, fn func(context.Context) error) (err error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s %s of host %s at %s: %w", b.driver, op, h.ID, b.address, err)
		}
		b.log.DebugContext(ctx, b.driver+" call", "op", op, "host", h.ID, "took", time.Since(start), "err", err)
	}()
	select {
	case b.sem <- struct{}{}:
		defer func() { <-b.sem }()
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBMCBusy, ctx.Err())
	}
	return fn(ctx)
}

// ErrBMCBusy is the error of a call that gave up waiting for the previous
// call to the same BMC: it says nothing of the BMC itself.
var ErrBMCBusy = errors.New("still waiting for the previous call to this BMC")

// BMCURL is a BMC address taken apart, for the drivers' own address
// parsers: the URL without its user, the user and password apart, and the
// query's parameters, each given once.
type BMCURL struct {
	URL      *url.URL
	User     string
	Password string
	Params   map[string]string
}

// ParseBMCURL parses raw. Its errors never quote raw, which may hold a
// password (url.Parse's errors do).
func ParseBMCURL(raw string) (BMCURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return BMCURL{}, errors.New("not a URL")
	}
	b := BMCURL{URL: u, Params: map[string]string{}}
	if u.User != nil {
		b.User = u.User.Username()
		b.Password, _ = u.User.Password()
		u.User = nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return BMCURL{}, errors.New("bad query")
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return BMCURL{}, fmt.Errorf("%s given %d times", key, len(vals))
		}
		b.Params[key] = vals[0]
	}
	return b, nil
}
