package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/metalplane/metalplane/internal/metrics"
)

// metricsServer serves /metrics on a listener of its own: scrapers are
// trusted peers on a private network, not API clients, so it has none of
// the API's edge limits and need not be reachable where the API is.
type metricsServer struct {
	listener net.Listener
	http     *http.Server
	served   chan error
}

func startMetrics(listen string, m *metrics.Metrics, logger *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	s := &metricsServer{listener: ln, served: make(chan error, 1), http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
	go func() { s.served <- s.http.Serve(ln) }()
	return s, nil
}

func (s *metricsServer) close(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// MetricsURL returns the URL of /metrics, "" when metrics are off.
func (a *App) MetricsURL() string {
	if a.metricsServer == nil {
		return ""
	}
	return "http://" + a.metricsServer.listener.Addr().String() + "/metrics"
}
